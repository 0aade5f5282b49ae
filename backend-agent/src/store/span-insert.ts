/**
 * The write path of a batch: insert each span, replace the ones already
 * stored (same identity), and update the derived tables once for the batch
 * (catalog.ts). Runs inside the caller's transaction.
 *
 * New spans are the norm and replacements rare (a replayed stream), so the
 * common case is one `INSERT ... ON CONFLICT DO NOTHING` per span; only when
 * it inserts nothing is the stored row read (for the catalog's bookkeeping)
 * and updated in place, which keeps its rowid (retention's insertion order).
 *
 * The conflict is on the identity index's integer keys (schema v8,
 * row-keys.ts), so the stored row replaced is the one whose identity columns
 * all equal the span's. Keys of distinct identities may collide: the span then
 * takes the next free span_key, and a later copy of it finds its row by
 * looking through the next PROBE keys. (Should retention delete the span
 * holding the original keys first, a later copy of the moved span would be
 * stored again: that needs a 2^-52 collision within one trace first.)
 */
import type Database from 'better-sqlite3';
import { CatalogDelta, CatalogStatements, type CatalogRow } from './catalog.js';
import { SPAN_COLUMNS, type SpanRow } from './span-row.js';

/** A span's identity (schema v5); the spans_identity index holds keys derived from it (v8). */
const IDENTITY: readonly (keyof SpanRow)[] = ['trace_id', 'span_id', 'kind', 'host', 'pid', 'connection_id', 'exchange_index'];
/** Everything but the identity and its keys, which a replacement leaves as they are. */
const UPDATED: readonly (keyof SpanRow)[] = SPAN_COLUMNS.filter((c) => !IDENTITY.includes(c) && c !== 'trace_key' && c !== 'span_key');
/** span_keys a colliding identity may have moved to: far more than two 52-bit keys of one trace will ever need. */
const PROBE = 16;

type Value = string | number | null;

interface StoredRow extends CatalogRow {
  id: number;
}

export class WriteStatements {
  // One array argument: better-sqlite3 binds its elements as the anonymous parameters.
  readonly insert: Database.Statement<[Value[]]>;
  readonly find: Database.Statement<[Value[]], StoredRow>;
  readonly probeTaken: Database.Statement<[number, number, number], number>;
  readonly update: Database.Statement<[Value[]]>;
  readonly catalog: CatalogStatements;

  constructor(db: Database.Database) {
    this.insert = db.prepare<[Value[]]>(
      `INSERT INTO spans (${SPAN_COLUMNS.join(', ')}) VALUES (${SPAN_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (trace_key, span_key) DO NOTHING`,
    );
    this.find = db.prepare<[Value[]], StoredRow>(
      `SELECT id, service, name, kind, start_us, duration_ns, peer_service, peer_local, status, request_bytes, response_bytes
         FROM spans INDEXED BY spans_identity
        WHERE trace_key = ? AND span_key >= ? AND span_key < ? AND ${IDENTITY.map((c) => `${c} = ?`).join(' AND ')}`,
    );
    this.probeTaken = db
      .prepare<[number, number, number], number>('SELECT span_key FROM spans WHERE trace_key = ? AND span_key >= ? AND span_key < ? ORDER BY span_key')
      .pluck();
    this.update = db.prepare<[Value[]]>(`UPDATE spans SET ${UPDATED.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`);
    this.catalog = new CatalogStatements(db);
  }
}

/** Positional parameters in SPAN_COLUMNS order: cheaper to bind than named ones. */
function values(row: SpanRow): Value[] {
  return [
    row.trace_id, row.span_id, row.kind, row.parent_span_id, row.service, row.name, row.peer_service, row.peer_local,
    row.start_us, row.duration_ns, row.status, row.http_method, row.http_path, row.http_status_code, row.pid, row.tid,
    row.host, row.connection_id, row.exchange_index, row.trace_id_source, row.request_bytes, row.response_bytes, row.trace_key,
    row.span_key, row.span_json,
  ];
}

/** `protocols[i]` is rows[i]'s application protocol (span-protocol.ts), when known. */
export function writeBatch(st: WriteStatements, rows: readonly SpanRow[], protocols: ReadonlyArray<string | undefined> = []): void {
  const delta = new CatalogDelta();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (st.insert.run(values(row)).changes === 1) {
      delta.added(row, protocols[i]);
      continue;
    }
    const stored = st.find.get([row.trace_key, row.span_key, row.span_key + PROBE, ...IDENTITY.map((c) => row[c])]);
    if (stored) {
      st.update.run([...UPDATED.map((c) => row[c]), stored.id]);
      delta.replaced(stored, row, protocols[i]);
    } else {
      insertAtFreeKey(st, row);
      delta.added(row, protocols[i]);
    }
  }
  delta.apply(st.catalog);
}

/** Another identity holds the span's keys: the span takes the first span_key after them that is free. */
function insertAtFreeKey(st: WriteStatements, row: SpanRow): void {
  const taken = new Set(st.probeTaken.all(row.trace_key, row.span_key, row.span_key + PROBE));
  for (let k = row.span_key + 1; k < row.span_key + PROBE; k++) {
    if (taken.has(k)) continue;
    const moved = values({ ...row, span_key: k });
    if (st.insert.run(moved).changes !== 1) throw new Error('span store: a free identity key was taken');
    return;
  }
  throw new Error(`span store: no free identity key for span ${row.span_id} of trace ${row.trace_id}`);
}
