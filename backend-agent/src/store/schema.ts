/**
 * The span store's schema, as an ordered list of migrations (see
 * migrations.ts). Never edit a released migration: add a new one.
 *
 * Layout: one row per span. Everything a query filters or sorts on is a real,
 * indexed column; the full Span (attributes, process, network, trace context)
 * is kept verbatim in `span_json`, which is what readers return. Tables are
 * STRICT so a wrong type is an error at insert time instead of silent
 * affinity conversion.
 */
import type Database from 'better-sqlite3';
import type { Migration } from './migrations.js';
import { backfillEdgeMinutes } from './catalog.js';
import { spanKey, traceKey } from './row-keys.js';

const createSpans = `
CREATE TABLE spans (
  id               INTEGER PRIMARY KEY,   -- rowid: insertion order, used by retention batches
  trace_id         TEXT    NOT NULL,
  span_id          TEXT    NOT NULL,
  kind             TEXT    NOT NULL CHECK (kind IN ('client', 'server')),
  parent_span_id   TEXT,
  service          TEXT    NOT NULL,
  name             TEXT    NOT NULL,
  peer_service     TEXT    NOT NULL,
  peer_local       INTEGER NOT NULL,      -- 0/1
  start_us         INTEGER NOT NULL,      -- Unix microseconds
  duration_ns      INTEGER NOT NULL,
  status           TEXT    NOT NULL,      -- unset | ok | error
  http_method      TEXT,
  http_path        TEXT,
  http_status_code INTEGER,
  pid              INTEGER NOT NULL,
  tid              INTEGER NOT NULL,
  host             TEXT    NOT NULL,
  connection_id    TEXT    NOT NULL,
  exchange_index   INTEGER NOT NULL,
  trace_id_source  TEXT    NOT NULL,
  span_json        TEXT    NOT NULL       -- the whole Span as JSON
) STRICT;

-- Identity (idempotent re-inserts) and the trace-id lookup: getTrace reads a
-- prefix of this index.
CREATE UNIQUE INDEX spans_identity ON spans (trace_id, span_id, kind);
-- Time-range scans without a service; retention's "oldest first".
CREATE INDEX spans_start ON spans (start_us);
-- Search by service (+ operation) over a time range, newest first.
CREATE INDEX spans_service_start ON spans (service, start_us);
CREATE INDEX spans_service_name_start ON spans (service, name, start_us);
`;

/**
 * v2: catalogs that make services(), operations() and stats().spanCount O(1)
 * in the number of spans instead of a scan: a distinct (service, operation,
 * kind) table and a span counter, both kept up to date by triggers so every
 * writer (including a future one) keeps them right.
 */
const createCatalogs = `
CREATE TABLE operations (
  service      TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  kind         TEXT    NOT NULL,
  last_seen_us INTEGER NOT NULL,  -- newest start_us seen: retention prunes entries older than every span left
  PRIMARY KEY (service, name, kind)
) STRICT, WITHOUT ROWID;

INSERT INTO operations (service, name, kind, last_seen_us)
  SELECT service, name, kind, MAX(start_us) FROM spans GROUP BY service, name, kind;

CREATE TABLE counters (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO counters (name, value) VALUES ('spans', (SELECT COUNT(*) FROM spans));

CREATE TRIGGER spans_after_insert AFTER INSERT ON spans BEGIN
  UPDATE counters SET value = value + 1 WHERE name = 'spans';
  INSERT INTO operations (service, name, kind, last_seen_us)
    VALUES (new.service, new.name, new.kind, new.start_us)
    ON CONFLICT (service, name, kind) DO UPDATE SET last_seen_us = MAX(last_seen_us, excluded.last_seen_us);
END;

-- An upsert that replaces a span may change its service, name or start.
CREATE TRIGGER spans_after_update AFTER UPDATE OF service, name, start_us ON spans BEGIN
  INSERT INTO operations (service, name, kind, last_seen_us)
    VALUES (new.service, new.name, new.kind, new.start_us)
    ON CONFLICT (service, name, kind) DO UPDATE SET last_seen_us = MAX(last_seen_us, excluded.last_seen_us);
END;

-- ...and when it was renamed, the old operation may have no span left.
CREATE TRIGGER spans_after_rename AFTER UPDATE OF service, name ON spans
  WHEN old.service IS NOT new.service OR old.name IS NOT new.name
BEGIN
  DELETE FROM operations
   WHERE service = old.service AND name = old.name AND kind = old.kind
     AND NOT EXISTS (SELECT 1 FROM spans WHERE service = old.service AND name = old.name AND kind = old.kind);
END;

CREATE TRIGGER spans_after_delete AFTER DELETE ON spans BEGIN
  UPDATE counters SET value = value - 1 WHERE name = 'spans';
END;
`;

/**
 * v3: a span's identity includes the process that saw it. A proxy that
 * forwards a trace header unchanged (nginx by default) makes a client span
 * with the very same trace and span id as its caller's client span (a client
 * span takes its id from the header it sends); keyed on ids alone, one of the
 * two would replace the other. Reconstruction tells them apart at query time.
 * Same name, same leading trace_id column: getTrace's lookup is unchanged.
 */
const identityWithProcess = `
DROP INDEX spans_identity;
CREATE UNIQUE INDEX spans_identity ON spans (trace_id, span_id, kind, host, pid);
`;

/**
 * v4: request and response sizes as columns, so the service graph can sum
 * bytes per edge without parsing every span's JSON. Existing rows are filled
 * from their JSON once, here.
 */
const byteColumns = `
ALTER TABLE spans ADD COLUMN request_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE spans ADD COLUMN response_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE spans SET
  request_bytes = COALESCE(json_extract(span_json, '$.network.requestBytes'), 0),
  response_bytes = COALESCE(json_extract(span_json, '$.network.responseBytes'), 0);
`;

/**
 * v5: a span's identity includes the exchange it was made from. A process that
 * forwards its inbound trace header unchanged on several outbound calls (some
 * meshes and proxies do) gives each of those client spans the same ids; keyed
 * without the exchange, each would overwrite the one before.
 */
const identityWithExchange = `
DROP INDEX spans_identity;
CREATE UNIQUE INDEX spans_identity ON spans (trace_id, span_id, kind, host, pid, connection_id, exchange_index);
`;

/**
 * v6: catalogs maintained per batch by the writer (catalog.ts) instead of per
 * row by triggers, and a per-minute service-graph rollup. The triggers ran an
 * UPDATE and an upsert for every span (a third of the write cost); the store
 * is the only writer, so it now adds one counter update and one upsert per
 * distinct operation and per (minute, edge) each batch. `edge_minutes` holds
 * per edge and minute the counted calls (dependencies.ts: client spans, and
 * server spans whose caller was not seen), errors, bytes and both sides'
 * latency histograms, so the service graph over an hour reads ~60 rows per
 * edge instead of every span of the hour. It is filled from existing spans
 * here (in JS: the histograms need a log).
 * `spans_service_name_start` goes: search by service and operation walks
 * `spans_service_start` (newest first, filtering on name), which costs a
 * little for rare operations and saves an index write on every span.
 */
const batchCatalogs = `
DROP TRIGGER spans_after_insert;
DROP TRIGGER spans_after_update;
DROP TRIGGER spans_after_rename;
DROP TRIGGER spans_after_delete;
DROP INDEX spans_service_name_start;

CREATE TABLE edge_minutes (
  minute         INTEGER NOT NULL,  -- floor(start_us / 60e6)
  parent         TEXT    NOT NULL,
  child          TEXT    NOT NULL,
  spans          INTEGER NOT NULL,  -- client and server spans of the edge (the row goes at 0)
  calls          INTEGER NOT NULL,  -- counted calls (dependencies.ts: countsCall)
  errors         INTEGER NOT NULL,
  request_bytes  INTEGER NOT NULL,
  response_bytes INTEGER NOT NULL,
  client_hist    TEXT    NOT NULL,  -- latency-histogram.ts, client spans
  server_hist    TEXT    NOT NULL,  -- latency-histogram.ts, server spans
  PRIMARY KEY (minute, parent, child)
) STRICT, WITHOUT ROWID;

UPDATE counters SET value = (SELECT COUNT(*) FROM spans) WHERE name = 'spans';
`;

/**
 * v7: which application protocols (HTTP/1.1, HTTP/2, gRPC, PostgreSQL...)
 * each client -> server edge carried, and when last: the service map labels
 * edges with it. A handful of rows per edge, kept per batch like the
 * operations catalog and pruned with it. Spans stored before v7 did not
 * record it (the span row has no such column): their edges get it from new
 * traffic.
 */
const edgeProtocols = `
CREATE TABLE edge_protocols (
  parent       TEXT    NOT NULL,
  child        TEXT    NOT NULL,
  protocol     TEXT    NOT NULL,
  last_seen_us INTEGER NOT NULL,
  PRIMARY KEY (parent, child, protocol)
) STRICT, WITHOUT ROWID;
`;

/**
 * v8: the identity index on two integer keys (row-keys.ts) instead of the
 * seven identity columns. Real trace ids are random, so each span's insert
 * into the identity index lands on a random leaf; with ~100-byte text entries
 * a store of a few hundred thousand spans spent more on that index than on
 * everything else. The identity columns stay (the writer compares them before
 * replacing a row, search filters use them); trace lookups read the new index
 * by trace_key and check trace_id. Existing rows get their keys before the
 * migration's transaction, in committed batches of IDENTITY_KEY_PAGE rows (the
 * rewrite touches every table page: in one transaction its write-ahead log
 * grew as large as the store, and a disk without that much free space could
 * neither finish it nor open the store); a crash part way leaves rows with
 * and without keys, and the next start fills the rest. The transaction then
 * swaps the indexes: the unique index is built with one sort.
 * The key columns are nullable only so they can be added to a filled table;
 * every writer sets them.
 */
const IDENTITY_KEY_PAGE = 20_000;

function addIdentityKeyColumns(db: Database.Database): void {
  const columns = new Set(db.prepare<[], string>("SELECT name FROM pragma_table_info('spans')").pluck().all());
  db.transaction(() => {
    if (!columns.has('trace_key')) db.exec('ALTER TABLE spans ADD COLUMN trace_key INTEGER');
    if (!columns.has('span_key')) db.exec('ALTER TABLE spans ADD COLUMN span_key INTEGER');
  })();
}

/** Keys for every row still without them; each page of rows commits on its own when called outside a transaction. */
function fillIdentityKeys(db: Database.Database): void {
  const page = db.prepare<[number, number], IdentityRow>(
    `SELECT id, trace_id, span_id, kind, host, pid, connection_id, exchange_index
       FROM spans WHERE id > ? AND trace_key IS NULL ORDER BY id LIMIT ?`,
  );
  const set = db.prepare<[number, number, number]>('UPDATE spans SET trace_key = ?, span_key = ? WHERE id = ?');
  const fill = db.transaction((rows: IdentityRow[]) => {
    for (const r of rows) {
      set.run(traceKey(r.trace_id), spanKey(r.span_id, r.kind, r.host, r.pid, r.connection_id, r.exchange_index), r.id);
    }
  });
  for (let after = 0; ; ) {
    const rows = page.all(after, IDENTITY_KEY_PAGE);
    if (rows.length === 0) break;
    fill(rows);
    after = rows[rows.length - 1]!.id;
  }
}

function prepareIdentityKeys(db: Database.Database): void {
  addIdentityKeyColumns(db);
  fillIdentityKeys(db);
}

function identityKeys(db: Database.Database): void {
  db.exec('DROP INDEX spans_identity');
  separateCollidingKeys(db);
  db.exec('CREATE UNIQUE INDEX spans_identity ON spans (trace_key, span_key)');
  // before() filled every row and nothing wrote since; a row without keys would be invisible to trace reads.
  const missing = db.prepare<[], number>('SELECT count(*) FROM spans INDEXED BY spans_identity WHERE trace_key IS NULL').pluck().get()!;
  if (missing > 0) throw new Error(`schema v8: ${missing} spans have no identity keys; the migration is rolled back and retried at the next start`);
}

interface IdentityRow {
  id: number;
  trace_id: string;
  span_id: string;
  kind: string;
  host: string;
  pid: number;
  connection_id: string;
  exchange_index: number;
}

/**
 * Two stored spans whose keys collide (distinct identities: v5's index kept
 * them unique) take the next free span_key, as the writer's probe would
 * (span-insert.ts). Practically never runs: it needs a 2^-53 coincidence
 * within one trace.
 */
function separateCollidingKeys(db: Database.Database): void {
  const groups = db
    .prepare<[], { trace_key: number; span_key: number }>(
      'SELECT trace_key, span_key FROM spans GROUP BY trace_key, span_key HAVING count(*) > 1',
    )
    .all();
  const members = db.prepare<[number, number], number>('SELECT id FROM spans WHERE trace_key = ? AND span_key = ? ORDER BY id').pluck();
  const taken = db.prepare<[number, number], number>('SELECT count(*) FROM spans WHERE trace_key = ? AND span_key = ?').pluck();
  const move = db.prepare<[number, number]>('UPDATE spans SET span_key = ? WHERE id = ?');
  for (const g of groups) {
    const ids = members.all(g.trace_key, g.span_key);
    let next = g.span_key;
    for (const id of ids.slice(1)) {
      do next += 1;
      while (taken.get(g.trace_key, next)! > 0);
      move.run(next, id);
    }
  }
}

export const SCHEMA_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'spans table and its query indexes',
    up: (db: Database.Database) => void db.exec(createSpans),
  },
  {
    version: 2,
    description: 'operations catalog and span counter, maintained by triggers',
    up: (db: Database.Database) => void db.exec(createCatalogs),
  },
  {
    version: 3,
    description: 'span identity includes host and pid (proxies forwarding a trace header unchanged)',
    up: (db: Database.Database) => void db.exec(identityWithProcess),
  },
  {
    version: 4,
    description: 'request and response sizes as columns (service-graph bytes)',
    up: (db: Database.Database) => void db.exec(byteColumns),
  },
  {
    version: 5,
    description: 'span identity includes the exchange (a trace header forwarded unchanged on several calls)',
    up: (db: Database.Database) => void db.exec(identityWithExchange),
  },
  {
    version: 6,
    description: 'catalogs kept per batch by the writer (no triggers), per-minute service-graph rollup, one index fewer',
    up: (db: Database.Database) => {
      db.exec(batchCatalogs);
      backfillEdgeMinutes(db);
    },
  },
  {
    version: 7,
    description: 'application protocols seen per service-graph edge',
    up: (db: Database.Database) => void db.exec(edgeProtocols),
  },
  {
    version: 8,
    description: 'span identity index on two integer keys (trace_key, span_key) instead of seven text columns',
    before: prepareIdentityKeys,
    up: identityKeys,
  },
];
