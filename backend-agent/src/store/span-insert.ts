/**
 * The write path of a batch: insert each span, replace the ones already
 * stored (same identity), and update the derived tables once for the batch
 * (catalog.ts). Runs inside the caller's transaction.
 *
 * New spans are the norm and replacements rare (a replayed stream), so the
 * common case is one `INSERT ... ON CONFLICT DO NOTHING` per span; only when
 * it inserts nothing is the stored row read (for the catalog's bookkeeping)
 * and updated in place, which keeps its rowid (retention's insertion order).
 */
import type Database from 'better-sqlite3';
import { CatalogDelta, CatalogStatements, type CatalogRow } from './catalog.js';
import { SPAN_COLUMNS, type SpanRow } from './span-row.js';

/** Must match the columns of the spans_identity index (schema.ts, v5). */
const IDENTITY: readonly (keyof SpanRow)[] = ['trace_id', 'span_id', 'kind', 'host', 'pid', 'connection_id', 'exchange_index'];
const UPDATED: readonly (keyof SpanRow)[] = SPAN_COLUMNS.filter((c) => !IDENTITY.includes(c));

type Value = string | number | null;

interface StoredRow extends CatalogRow {
  id: number;
}

export class WriteStatements {
  // One array argument: better-sqlite3 binds its elements as the anonymous parameters.
  readonly insert: Database.Statement<[Value[]]>;
  readonly find: Database.Statement<[Value[]], StoredRow>;
  readonly update: Database.Statement<[Value[]]>;
  readonly catalog: CatalogStatements;

  constructor(db: Database.Database) {
    this.insert = db.prepare<[Value[]]>(
      `INSERT INTO spans (${SPAN_COLUMNS.join(', ')}) VALUES (${SPAN_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (${IDENTITY.join(', ')}) DO NOTHING`,
    );
    this.find = db.prepare<[Value[]], StoredRow>(
      `SELECT id, service, name, kind, start_us, duration_ns, peer_service, peer_local, status, request_bytes, response_bytes
         FROM spans WHERE ${IDENTITY.map((c) => `${c} = ?`).join(' AND ')}`,
    );
    this.update = db.prepare<[Value[]]>(`UPDATE spans SET ${UPDATED.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`);
    this.catalog = new CatalogStatements(db);
  }
}

/** Positional parameters in SPAN_COLUMNS order: cheaper to bind than named ones. */
function values(row: SpanRow): Value[] {
  return [
    row.trace_id, row.span_id, row.kind, row.parent_span_id, row.service, row.name, row.peer_service, row.peer_local,
    row.start_us, row.duration_ns, row.status, row.http_method, row.http_path, row.http_status_code, row.pid, row.tid,
    row.host, row.connection_id, row.exchange_index, row.trace_id_source, row.request_bytes, row.response_bytes, row.span_json,
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
    const stored = st.find.get(IDENTITY.map((c) => row[c]));
    if (!stored) throw new Error('span store: insert ignored but no stored row has its identity');
    st.update.run([...UPDATED.map((c) => row[c]), stored.id]);
    delta.replaced(stored, row, protocols[i]);
  }
  delta.apply(st.catalog);
}
