/**
 * The store's derived tables (schema v6): the span counter, the operations
 * catalog and the per-minute service-graph rollup (`edge_minutes`). The
 * writer changes them once per batch from what the batch did, inside the
 * batch's transaction, instead of a trigger per row: a batch of 1,000 spans
 * over a handful of operations and edges costs a handful of statements.
 *
 * Every path that adds, replaces or deletes spans must go through a
 * CatalogDelta (sqlite-store.ts for inserts and replacements, retention.ts
 * for deletes); the store is the only writer of its file.
 */
import type Database from 'better-sqlite3';
import { LatencyHistogram } from './latency-histogram.js';
import { countsCall } from './dependencies.js';

/** The columns of a span the derived tables depend on. */
export interface CatalogRow {
  service: string;
  name: string;
  kind: string;
  start_us: number;
  duration_ns: number;
  peer_service: string;
  peer_local: number;
  status: string;
  request_bytes: number;
  response_bytes: number;
}

const MINUTE_US = 60_000_000;

/**
 * A map keyed by three values, as maps of maps: collision-free whatever the
 * names contain, and the per-span lookup builds no key string (joining the
 * three cost more than the lookups).
 */
class Map3<A, B, C, V> {
  private readonly root = new Map<A, Map<B, Map<C, V>>>();

  get(a: A, b: B, c: C): V | undefined {
    return this.root.get(a)?.get(b)?.get(c);
  }

  set(a: A, b: B, c: C, value: V): void {
    let byB = this.root.get(a);
    if (!byB) this.root.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (!byC) byB.set(b, (byC = new Map()));
    byC.set(c, value);
  }

  *values(): IterableIterator<V> {
    for (const byB of this.root.values()) for (const byC of byB.values()) yield* byC.values();
  }
}

export function minuteOf(startUs: number): number {
  return Math.floor(startUs / MINUTE_US);
}

/** Whether a row counts its call on the service graph: the one rule, dependencies.ts's countsCall. */
function rowCountsCall(row: Pick<CatalogRow, 'kind' | 'peer_local'>): boolean {
  return countsCall({ kind: row.kind === 'client' ? 'client' : 'server', peerLocal: row.peer_local !== 0 });
}

interface EdgeDelta {
  minute: number;
  parent: string;
  child: string;
  spans: number;
  calls: number;
  errors: number;
  requestBytes: number;
  responseBytes: number;
  client: LatencyHistogram;
  server: LatencyHistogram;
}

interface EdgeMinuteRow {
  spans: number;
  calls: number;
  errors: number;
  request_bytes: number;
  response_bytes: number;
  client_hist: string;
  server_hist: string;
}

interface OperationSeen {
  service: string;
  name: string;
  kind: string;
  lastSeenUs: number;
}

export class CatalogStatements {
  readonly addSpans: Database.Statement<[number]>;
  readonly upsertOperation: Database.Statement<[string, string, string, number]>;
  readonly dropOperationIfUnused: Database.Statement<[string, string, string, string, string, string]>;
  readonly getEdge: Database.Statement<[number, string, string], EdgeMinuteRow>;
  readonly putEdge: Database.Statement<[number, string, string, number, number, number, number, number, string, string]>;
  readonly deleteEdge: Database.Statement<[number, string, string]>;
  private edgeProtocolStmt: Database.Statement<[string, string, string, number]> | undefined;

  constructor(private readonly db: Database.Database) {
    this.addSpans = db.prepare("UPDATE counters SET value = value + ? WHERE name = 'spans'");
    this.upsertOperation = db.prepare(
      `INSERT INTO operations (service, name, kind, last_seen_us) VALUES (?, ?, ?, ?)
       ON CONFLICT (service, name, kind) DO UPDATE SET last_seen_us = MAX(last_seen_us, excluded.last_seen_us)`,
    );
    // Rare (a replaced span that changed service or name): a scan of the
    // service's spans in the (service, start_us) index is acceptable.
    this.dropOperationIfUnused = db.prepare(
      `DELETE FROM operations WHERE service = ? AND name = ? AND kind = ?
         AND NOT EXISTS (SELECT 1 FROM spans WHERE service = ? AND name = ? AND kind = ?)`,
    );
    this.getEdge = db.prepare<[number, string, string], EdgeMinuteRow>(
      `SELECT spans, calls, errors, request_bytes, response_bytes, client_hist, server_hist
         FROM edge_minutes WHERE minute = ? AND parent = ? AND child = ?`,
    );
    this.putEdge = db.prepare(
      `INSERT OR REPLACE INTO edge_minutes
         (minute, parent, child, spans, calls, errors, request_bytes, response_bytes, client_hist, server_hist)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteEdge = db.prepare('DELETE FROM edge_minutes WHERE minute = ? AND parent = ? AND child = ?');
  }

  /** Prepared on first use: the v6 migration's backfill uses these statements before v7 made the table. */
  get upsertEdgeProtocol(): Database.Statement<[string, string, string, number]> {
    this.edgeProtocolStmt ??= this.db.prepare(
      `INSERT INTO edge_protocols (parent, child, protocol, last_seen_us) VALUES (?, ?, ?, ?)
       ON CONFLICT (parent, child, protocol) DO UPDATE SET last_seen_us = MAX(last_seen_us, excluded.last_seen_us)`,
    );
    return this.edgeProtocolStmt;
  }
}

/** What one batch (or one retention pass) changes in the derived tables. */
export class CatalogDelta {
  private spans = 0;
  private readonly operations = new Map3<string, string, string, OperationSeen>();
  private readonly renamedAway = new Map3<string, string, string, { service: string; name: string; kind: string }>();
  private readonly edges = new Map3<number, string, string, EdgeDelta>();
  private readonly protocols = new Map3<string, string, string, { parent: string; child: string; protocol: string; lastSeenUs: number }>();

  /** A new span. */
  added(row: CatalogRow, protocol?: string): void {
    this.spans += 1;
    this.seen(row);
    this.edge(row, 1);
    if (protocol) this.protocolSeen(row, protocol);
  }

  /** A span replaced in place (same identity): `before` is what the row held. */
  replaced(before: CatalogRow, after: CatalogRow, protocol?: string): void {
    this.edge(before, -1);
    this.edge(after, 1);
    this.seen(after);
    if (protocol) this.protocolSeen(after, protocol);
    if (before.service !== after.service || before.name !== after.name) {
      this.renamedAway.set(before.service, before.name, before.kind, {
        service: before.service,
        name: before.name,
        kind: before.kind,
      });
    }
  }

  /**
   * A deleted span. Operations are pruned by the caller (retention removes
   * the oldest spans first, so an operation last seen before the oldest span
   * left has none).
   */
  removed(row: CatalogRow): void {
    this.spans -= 1;
    this.edge(row, -1);
  }

  get spanDelta(): number {
    return this.spans;
  }

  /** Writes the delta; call inside the transaction that changed the spans. */
  apply(st: CatalogStatements): void {
    if (this.spans !== 0) st.addSpans.run(this.spans);
    for (const op of this.operations.values()) st.upsertOperation.run(op.service, op.name, op.kind, op.lastSeenUs);
    for (const e of this.edges.values()) applyEdge(st, e);
    for (const p of this.protocols.values()) st.upsertEdgeProtocol.run(p.parent, p.child, p.protocol, p.lastSeenUs);
    for (const op of this.renamedAway.values()) {
      if (this.operations.get(op.service, op.name, op.kind)) continue;
      st.dropOperationIfUnused.run(op.service, op.name, op.kind, op.service, op.name, op.kind);
    }
  }

  /** The application protocol of a span's edge (span-protocol.ts): not a span column, so the writer passes it. */
  private protocolSeen(row: CatalogRow, protocol: string): void {
    const parent = row.kind === 'client' ? row.service : row.peer_service;
    const child = row.kind === 'client' ? row.peer_service : row.service;
    const p = this.protocols.get(parent, child, protocol);
    if (!p) this.protocols.set(parent, child, protocol, { parent, child, protocol, lastSeenUs: row.start_us });
    else if (row.start_us > p.lastSeenUs) p.lastSeenUs = row.start_us;
  }

  private seen(row: CatalogRow): void {
    const op = this.operations.get(row.service, row.name, row.kind);
    if (!op) this.operations.set(row.service, row.name, row.kind, { service: row.service, name: row.name, kind: row.kind, lastSeenUs: row.start_us });
    else if (row.start_us > op.lastSeenUs) op.lastSeenUs = row.start_us;
  }

  /**
   * Every span belongs to its edge's row (for the latency of its side);
   * only the spans that count the call add to calls, errors and bytes.
   */
  edge(row: CatalogRow, sign: 1 | -1): void {
    const parent = row.kind === 'client' ? row.service : row.peer_service;
    const child = row.kind === 'client' ? row.peer_service : row.service;
    const minute = minuteOf(row.start_us);
    let e = this.edges.get(minute, parent, child);
    if (!e) {
      e = { minute, parent, child, spans: 0, calls: 0, errors: 0, requestBytes: 0, responseBytes: 0, client: new LatencyHistogram(), server: new LatencyHistogram() };
      this.edges.set(minute, parent, child, e);
    }
    e.spans += sign;
    (row.kind === 'client' ? e.client : e.server).add(row.duration_ns, sign);
    if (!rowCountsCall(row)) return;
    e.calls += sign;
    if (row.status === 'error') e.errors += sign;
    e.requestBytes += sign * row.request_bytes;
    e.responseBytes += sign * row.response_bytes;
  }
}

/** Read-modify-write of one (minute, edge) row: a few per batch, not one per span. */
function applyEdge(st: CatalogStatements, e: EdgeDelta): void {
  if (e.spans === 0 && e.client.empty && e.server.empty && e.calls === 0 && e.errors === 0 && e.requestBytes === 0 && e.responseBytes === 0) return;
  const row = st.getEdge.get(e.minute, e.parent, e.child);
  const spans = (row?.spans ?? 0) + e.spans;
  if (spans <= 0) {
    if (row) st.deleteEdge.run(e.minute, e.parent, e.child);
    return;
  }
  const client = LatencyHistogram.decode(row?.client_hist);
  client.merge(e.client);
  const server = LatencyHistogram.decode(row?.server_hist);
  server.merge(e.server);
  st.putEdge.run(
    e.minute, e.parent, e.child, spans,
    (row?.calls ?? 0) + e.calls, (row?.errors ?? 0) + e.errors,
    (row?.request_bytes ?? 0) + e.requestBytes, (row?.response_bytes ?? 0) + e.responseBytes,
    client.encode(), server.encode(),
  );
}

/** Schema v6: fills `edge_minutes` from the spans already stored, in bounded chunks. */
export function backfillEdgeMinutes(db: Database.Database): void {
  const st = new CatalogStatements(db);
  const page = db.prepare<[number, number], CatalogRow & { id: number }>(
    `SELECT id, service, name, kind, start_us, duration_ns, peer_service, peer_local, status, request_bytes, response_bytes
       FROM spans WHERE id > ? ORDER BY id LIMIT ?`,
  );
  for (let after = 0; ; ) {
    const rows = page.all(after, 50_000);
    if (rows.length === 0) return;
    const delta = new CatalogDelta();
    for (const row of rows) delta.edge(row, 1);
    delta.apply(st);
    after = rows[rows.length - 1]!.id;
  }
}
