/**
 * The span store: SQLite through better-sqlite3.
 *
 * Why better-sqlite3: it is synchronous, which suits a single-writer agent
 * (no callback/promise overhead per statement, no interleaving between a
 * batch's statements), and it is the fastest Node SQLite binding for ingest
 * when inserts are batched in one transaction with prepared statements, which
 * is exactly what insertSpans does.
 *
 * Write path (schema v6, identity keys v8): span-insert.ts inserts a batch and keeps the
 * derived tables (counter, operations, per-minute service-graph rollup) per
 * batch (catalog.ts); spans are stored compactly (span-codec.ts).
 *
 * Settings: WAL (readers, e.g. the CLI, never block the writer and vice
 * versa), synchronous=NORMAL (durable at checkpoints, fast commits; losing the
 * last few batches on power loss is acceptable for traces), a busy timeout for
 * the rare writer-writer contention, and auto_vacuum=INCREMENTAL so retention
 * can give space back to the file system.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DependencyEdge, Span, SpanKind, SpanStatus } from '../model/span.js';
import type { StoreHealth } from '../model/health.js';
import { StoreOpenError, StoreWriteError, isUnwritableError, oneLine, sqliteCode } from './errors.js';
import { assertNotNewer, latestVersion, runMigrations, schemaVersion, type Migration } from './migrations.js';
import { SCHEMA_MIGRATIONS } from './schema.js';
import { prepareSpan, rowToSpan, type PreparedSpan } from './span-row.js';
import { WriteStatements, writeBatch } from './span-insert.js';
import { traceKey } from './row-keys.js';
import { EdgeRollup } from './edge-rollup.js';
import { matchingSpansSql, type SpanQuery, type TraceQuery } from './span-filter.js';
import { aggregateDependencies, type DependencyStats } from './dependencies.js';
import { bucketEdges, type EdgeSeries, type TimedDependencySample } from './edge-timeseries.js';
import { TraceReads, type WindowReader } from './trace-reads.js';
import { RetentionRunner, databaseSizeBytes, type RetentionOptions, type RetentionPolicy, type RetentionResult } from './retention.js';

export interface StoreOptions {
  /** Database file; its directory is created when missing (read-write opens only). */
  path: string;
  retention: RetentionPolicy;
  /** Open for queries only (CLI, a second agent): no migrations, writes throw StoreWriteError. */
  readonly?: boolean;
  /** How long a write waits for another writer's lock, ms (default 5000). */
  busyTimeoutMs?: number;
  /** Told before each schema migration runs (read-write opens): a big store's may take minutes. */
  onMigration?: (migration: Migration) => void;
}

export interface StoreStats {
  spanCount: number;
  /** Main database file size in bytes (page_count * page_size; the WAL comes on top). */
  sizeBytes: number;
  oldestStartTimeUs?: number;
  newestStartTimeUs?: number;
}

export interface OperationInfo {
  name: string;
  spanKind: SpanKind;
}

export interface SpanStore {
  readonly path: string;
  readonly readonly: boolean;
  /**
   * Stores a batch in one transaction. Idempotent per (traceId, spanId, kind):
   * storing the same span again replaces it. Throws StoreWriteError when the
   * database cannot be written (read-only, disk full, I/O error); the batch is
   * then not stored at all. (Identity also includes host and pid: see schema v3.)
   */
  insertSpans(spans: readonly Span[]): void;
  /**
   * insertSpans in two steps: a span's row is built when it arrives
   * (SpanWriter, PreparingSpanSink), so what waits for the batch is the row.
   */
  prepareSpan(span: Span): PreparedSpan;
  insertPrepared(rows: readonly PreparedSpan[]): void;
  /** All stored spans of one trace (32 lowercase hex), ordered by start. Empty when unknown. */
  getTrace(traceId: string): Span[];
  /** Several traces at once (one query); traces with no spans are absent from the map. */
  getTraces(traceIds: readonly string[]): Map<string, Span[]>;
  /**
   * Spans starting in [startUs, endUs], oldest first, at most `limit`: the
   * candidates trace reconstruction links a trace's spans with (an index range
   * scan on start time, never the whole store).
   */
  spansStartingBetween(startUs: number, endUs: number, limit: number): Span[];
  /** Spans of these traces starting outside [startUs, endUs]: the rest of them after a window read (trace-reads.ts). */
  spansOfTracesOutside(traceIds: readonly string[], startUs: number, endUs: number): Span[];
  /** spansStartingBetween for one trace build: windows overlapping earlier ones read only what is new (trace-reads.ts). */
  windowReader(): WindowReader;
  /** Trace ids with a span matching every filter, most recent matching span first. */
  findTraces(q: TraceQuery): string[];
  /** Raw spans matching every filter, newest first. */
  searchSpans(q: SpanQuery): Span[];
  services(): string[];
  operations(service: string, kind?: SpanKind): OperationInfo[];
  /** Service graph for spans starting in [startUs, endUs]; each call counted once. */
  dependencies(startUs: number, endUs: number): DependencyEdge[];
  /**
   * dependencies() plus client- and server-side latency percentiles per edge:
   * exact up to EXACT_MAX_SPANS spans in the range, within 1% above (edge-rollup.ts).
   */
  dependencyStats(startUs: number, endUs: number): DependencyStats[];
  /**
   * dependencyStats() per time bucket of stepUs from startUs, per edge (edge-timeseries.ts);
   * over large ranges with a step of whole minutes, buckets are aligned to minutes (edge-rollup.ts).
   */
  edgeTimeseries(startUs: number, endUs: number, stepUs: number): EdgeSeries[];
  stats(): StoreStats;
  /** StoreHealth for /api/health: stats plus the last write error, if writes are failing. */
  health(): StoreHealth;
  /** The last write failure's one-line message, cleared by the next successful write. */
  writeError(): string | undefined;
  /** Applies the retention policy given at open. See retention.ts for batching. */
  applyRetention(nowUs: number, options?: RetentionOptions): RetentionResult;
  close(): void;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** Upper bound for the WAL file after checkpoints, so a burst does not leave a huge -wal behind. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * WAL size before an automatic checkpoint (SQLite's default is 1,000 pages, 4 MiB at 4 KiB pages).
 * A checkpoint copies every page in the WAL into the database file; between
 * checkpoints an index page dirtied by many batches (the identity index takes
 * random inserts) is copied once, not once per 4 MiB of WAL. 16 MiB stays
 * well under JOURNAL_SIZE_LIMIT_BYTES.
 */
const WAL_AUTOCHECKPOINT_BYTES = 16 * 1024 * 1024;
/**
 * Page size of a new store (SQLite's default is 4 KiB). A span row is ~1.1 KB,
 * so a 4 KiB page holds three: every few rows the table takes a new page, and
 * each commit and checkpoint writes page by page. 8 KiB pages saved ~0.3 µs
 * per span at insert and a third of the checkpoint's cost (docs/BENCHMARKS.md,
 * "Ingest, session 4"); 16 KiB gained no more and makes each random index
 * insert dirty more bytes. An existing store keeps its page size (changing
 * it needs a VACUUM outside WAL mode: a full rewrite).
 */
const NEW_STORE_PAGE_SIZE = 8192;
/**
 * Page cache per connection, KiB. Enough for the inner pages of every index
 * of a 10M-span store (~1 MB each), so a lookup or insert reads only leaves
 * (from the OS page cache); more bought little and counts in the agent's
 * memory budget (bench/memory.ts: 32 MiB cost ~30 MiB of RSS).
 */
const CACHE_KIB = 8 * 1024;
/** Bound parameters per IN (...) list, well under SQLite's limit. */
const MAX_IN_PARAMS = 500;
/** Distinct dynamic query shapes kept prepared (filters present, tag count, IN-list size). */
const MAX_CACHED_STATEMENTS = 128;

function describeOpenFailure(filePath: string, err: unknown): StoreOpenError {
  const code = sqliteCode(err);
  let reason = oneLine(err);
  if (code === 'SQLITE_NOTADB') reason = 'file is not a SQLite database (corrupt, or another kind of file)';
  else if (code === 'SQLITE_CORRUPT') reason = 'database file is corrupt';
  else if (code === 'SQLITE_CANTOPEN') reason = 'cannot open the file (missing, or no permission)';
  return new StoreOpenError(`cannot open span store ${filePath}: ${reason}${code ? ` (${code})` : ''}`, code);
}

function openDatabase(options: StoreOptions): Database.Database {
  const readonly = options.readonly === true;
  try {
    if (!readonly) fs.mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
    const db = new Database(options.path, {
      readonly,
      fileMustExist: readonly,
      timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    });
    try {
      // Opening is lazy: reading the schema is what detects a non-SQLite file.
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  } catch (err) {
    if (err instanceof StoreOpenError) throw err;
    throw describeOpenFailure(options.path, err);
  }
}

function userTableCount(db: Database.Database): number {
  return db
    .prepare<[], number>("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .get()!;
}

/** Settings and schema for a read-write open. */
function prepareWritable(db: Database.Database, filePath: string, onMigration?: (migration: Migration) => void): void {
  if (schemaVersion(db) === 0) {
    if (userTableCount(db) > 0) {
      throw new StoreOpenError(`cannot open span store ${filePath}: it is a SQLite database but not a wiretrace span store`);
    }
    // Both must be set before the first table exists to take effect without a VACUUM.
    db.pragma(`page_size = ${NEW_STORE_PAGE_SIZE}`);
    db.pragma('auto_vacuum = INCREMENTAL');
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.max(1000, Math.round(WAL_AUTOCHECKPOINT_BYTES / pageSize))}`);
  // Big stores: the indexes' inner pages stay cached (SQLite's default is 2 MB).
  db.pragma(`cache_size = -${CACHE_KIB}`);
  runMigrations(db, SCHEMA_MIGRATIONS, filePath, onMigration);
}

/** A read-only open cannot migrate: the schema must already be current. */
function checkReadable(db: Database.Database, filePath: string): void {
  db.pragma(`cache_size = -${CACHE_KIB}`);
  const version = assertNotNewer(db, SCHEMA_MIGRATIONS, filePath);
  const latest = latestVersion(SCHEMA_MIGRATIONS);
  if (version < latest) {
    throw new StoreOpenError(
      `cannot open span store ${filePath} read-only: schema version ${version} is older than ${latest}; open it read-write once (start the agent) to migrate`,
    );
  }
}

export function openStore(options: StoreOptions): SpanStore {
  const db = openDatabase(options);
  try {
    if (options.readonly) checkReadable(db, options.path);
    else prepareWritable(db, options.path, options.onMigration);
    return new SqliteSpanStore(db, options);
  } catch (err) {
    db.close();
    if (err instanceof StoreOpenError) throw err;
    throw describeOpenFailure(options.path, err);
  }
}

interface DependencyRow {
  start_us: number;
  kind: SpanKind;
  service: string;
  peer_service: string;
  peer_local: number;
  status: SpanStatus;
  duration_ns: number;
  request_bytes: number;
  response_bytes: number;
}

class SqliteSpanStore implements SpanStore {
  readonly path: string;
  readonly readonly: boolean;
  private lastWriteError: string | undefined;
  private readonly dynamicStatements = new Map<string, Database.Statement<unknown[], unknown>>();
  private readonly retentionPolicy: RetentionPolicy;
  private readonly retention: RetentionRunner | undefined;
  private readonly statements;
  private readonly write: WriteStatements | undefined;
  private readonly edgeRollup: EdgeRollup;
  private readonly traceReads: TraceReads;
  private readonly edgeProtocolsStmt: Database.Statement<[string, string, number], string>;

  constructor(
    private readonly db: Database.Database,
    options: StoreOptions,
  ) {
    this.path = options.path;
    this.readonly = options.readonly === true;
    this.retentionPolicy = options.retention;
    this.retention = this.readonly ? undefined : new RetentionRunner(db);
    this.write = this.readonly ? undefined : new WriteStatements(db);
    this.traceReads = new TraceReads(db);
    this.edgeRollup = new EdgeRollup(db, (startUs, endUs) => this.dependencySamples(startUs, endUs));
    this.edgeProtocolsStmt = db
      .prepare<[string, string, number], string>('SELECT protocol FROM edge_protocols WHERE parent = ? AND child = ? AND last_seen_us >= ? ORDER BY protocol')
      .pluck();
    this.statements = {
      trace: db
        .prepare<[number, string], string>(
          'SELECT span_json FROM spans WHERE trace_key = ? AND trace_id = ? ORDER BY start_us, span_id, kind',
        )
        .pluck(),
      startingBetween: db
        .prepare<[number, number, number], string>(
          'SELECT span_json FROM spans WHERE start_us >= ? AND start_us <= ? ORDER BY start_us, span_id, kind LIMIT ?',
        )
        .pluck(),
      services: db.prepare<[], string>('SELECT DISTINCT service FROM operations ORDER BY service').pluck(),
      operations: db.prepare<[string], { name: string; kind: SpanKind }>(
        'SELECT name, kind FROM operations WHERE service = ? ORDER BY name, kind',
      ),
      operationsOfKind: db.prepare<[string, string], { name: string; kind: SpanKind }>(
        'SELECT name, kind FROM operations WHERE service = ? AND kind = ? ORDER BY name',
      ),
      dependencySamples: db.prepare<[number, number], DependencyRow>(
        `SELECT start_us, kind, service, peer_service, peer_local, status, duration_ns, request_bytes, response_bytes
           FROM spans WHERE start_us >= ? AND start_us <= ?`,
      ),
      spanCount: db.prepare<[], number>("SELECT value FROM counters WHERE name = 'spans'").pluck(),
      // Two statements on purpose: SQLite answers a lone MIN() or MAX() from
      // one end of the index, but MIN and MAX together scan all of it.
      oldest: db.prepare<[], number | null>('SELECT MIN(start_us) FROM spans').pluck(),
      newest: db.prepare<[], number | null>('SELECT MAX(start_us) FROM spans').pluck(),
    };
  }

  insertSpans(spans: readonly Span[]): void {
    this.insertPrepared(spans.map(prepareSpan));
  }

  prepareSpan(span: Span): PreparedSpan {
    return prepareSpan(span);
  }

  insertPrepared(prepared: readonly PreparedSpan[]): void {
    if (prepared.length === 0) return;
    const write = this.write;
    if (!write) {
      throw this.recordWriteFailure(new StoreWriteError(`span store ${this.path} is open read-only: spans not stored`));
    }
    const rows = prepared.map((p) => p.row);
    const protocols = prepared.map((p) => p.protocol);
    try {
      this.db.transaction(() => writeBatch(write, rows, protocols))();
      this.lastWriteError = undefined;
    } catch (err) {
      if (!isUnwritableError(err)) throw err;
      const code = sqliteCode(err);
      throw this.recordWriteFailure(
        new StoreWriteError(`cannot write to span store ${this.path}: ${oneLine(err)}${code ? ` (${code})` : ''}`, code),
      );
    }
  }

  /**
   * Prepared statement for SQL built at query time. The SQL text depends only
   * on which filters are present, never on their values, so there are few
   * shapes and preparing each once is worth it.
   */
  private dynamic<Row>(sql: string): Database.Statement<unknown[], Row> {
    let stmt = this.dynamicStatements.get(sql);
    if (!stmt) {
      if (this.dynamicStatements.size >= MAX_CACHED_STATEMENTS) this.dynamicStatements.clear();
      stmt = this.db.prepare<unknown[], unknown>(sql);
      this.dynamicStatements.set(sql, stmt);
    }
    return stmt as Database.Statement<unknown[], Row>;
  }

  private recordWriteFailure(err: StoreWriteError): StoreWriteError {
    this.lastWriteError = err.message;
    return err;
  }

  getTrace(traceId: string): Span[] {
    return this.statements.trace.all(traceKey(traceId), traceId).map(rowToSpan);
  }

  getTraces(traceIds: readonly string[]): Map<string, Span[]> {
    const result = new Map<string, Span[]>();
    const unique = [...new Set(traceIds)];
    for (let i = 0; i < unique.length; i += MAX_IN_PARAMS) {
      const chunk = unique.slice(i, i + MAX_IN_PARAMS);
      // Only the number of placeholders varies; the ids themselves are bound.
      const placeholders = chunk.map(() => '?').join(', ');
      // The keys find the rows (spans_identity); the ids drop another trace's rows whose key collides.
      const rows = this.dynamic<{ trace_id: string; span_json: string }>(
        `SELECT trace_id, span_json FROM spans WHERE trace_key IN (${placeholders}) AND trace_id IN (${placeholders})
          ORDER BY trace_id, start_us, span_id, kind`,
      ).all(...chunk.map(traceKey), ...chunk);
      for (const row of rows) {
        let spans = result.get(row.trace_id);
        if (!spans) result.set(row.trace_id, (spans = []));
        spans.push(rowToSpan(row.span_json));
      }
    }
    return result;
  }

  spansStartingBetween(startUs: number, endUs: number, limit: number): Span[] {
    const n = Math.max(0, Math.floor(limit));
    if (n === 0) return [];
    return this.statements.startingBetween.all(Math.floor(startUs), Math.ceil(endUs), n).map(rowToSpan);
  }

  spansOfTracesOutside(traceIds: readonly string[], startUs: number, endUs: number): Span[] {
    return this.traceReads.spansOfTracesOutside(traceIds, startUs, endUs);
  }

  windowReader(): WindowReader {
    return this.traceReads.windowReader();
  }

  findTraces(q: TraceQuery): string[] {
    const limit = Math.max(0, Math.floor(q.limit));
    if (limit === 0) return [];
    const { sql, params } = matchingSpansSql(q, 'trace_id');
    // Walk matching spans newest first and stop once `limit` distinct traces
    // are found: reads only as much of the index as the answer needs.
    const found = new Set<string>();
    for (const traceId of this.dynamic<string>(sql).pluck().iterate(...params)) {
      found.add(traceId);
      if (found.size >= limit) break;
    }
    return [...found];
  }

  searchSpans(q: SpanQuery): Span[] {
    const limit = Math.max(0, Math.floor(q.limit));
    if (limit === 0) return [];
    const { sql, params } = matchingSpansSql(q, 'span_json');
    return this.dynamic<string>(`${sql} LIMIT ?`)
      .pluck()
      .all(...params, limit)
      .map(rowToSpan);
  }

  services(): string[] {
    return this.statements.services.all();
  }

  operations(service: string, kind?: SpanKind): OperationInfo[] {
    const rows =
      kind === undefined ? this.statements.operations.all(service) : this.statements.operationsOfKind.all(service, kind);
    return rows.map((r) => ({ name: r.name, spanKind: r.kind }));
  }

  dependencies(startUs: number, endUs: number): DependencyEdge[] {
    return this.edgeRollup.dependencies(Math.floor(startUs), Math.ceil(endUs));
  }

  dependencyStats(startUs: number, endUs: number): DependencyStats[] {
    const [a, b] = [Math.floor(startUs), Math.ceil(endUs)];
    const stats = this.edgeRollup.dependencyStats(a, b) ?? aggregateDependencies(this.dependencySamples(a, b));
    return this.withProtocols(stats, a);
  }

  /** Labels each edge with the protocols it was last seen using since the range began (a few rows per edge). */
  private withProtocols(stats: DependencyStats[], sinceUs: number): DependencyStats[] {
    for (const s of stats) {
      const protocols = this.edgeProtocolsStmt.all(s.parent, s.child, sinceUs);
      if (protocols.length > 0) s.protocol = protocols.join(', ');
    }
    return stats;
  }

  edgeTimeseries(startUs: number, endUs: number, stepUs: number): EdgeSeries[] {
    const [a, b] = [Math.floor(startUs), Math.ceil(endUs)];
    return this.edgeRollup.edgeTimeseries(a, b, stepUs) ?? bucketEdges(this.dependencySamples(a, b), startUs, endUs, stepUs);
  }

  /** Streams the columns the service graph needs, without materialising the range. */
  private *dependencySamples(startUs: number, endUs: number): Generator<TimedDependencySample> {
    for (const r of this.statements.dependencySamples.iterate(Math.floor(startUs), Math.ceil(endUs))) {
      yield {
        startUs: r.start_us,
        kind: r.kind,
        service: r.service,
        peerService: r.peer_service,
        peerLocal: r.peer_local === 1,
        status: r.status,
        durationNs: r.duration_ns,
        requestBytes: r.request_bytes,
        responseBytes: r.response_bytes,
      };
    }
  }

  stats(): StoreStats {
    const stats: StoreStats = {
      spanCount: this.statements.spanCount.get() ?? 0,
      sizeBytes: databaseSizeBytes(this.db),
    };
    const oldest = this.statements.oldest.get();
    const newest = this.statements.newest.get();
    if (oldest != null) stats.oldestStartTimeUs = oldest;
    if (newest != null) stats.newestStartTimeUs = newest;
    return stats;
  }

  health(): StoreHealth {
    const health: StoreHealth = { path: this.path, ...this.stats() };
    if (this.lastWriteError !== undefined) health.writeError = this.lastWriteError;
    return health;
  }

  writeError(): string | undefined {
    return this.lastWriteError;
  }

  applyRetention(nowUs: number, options?: RetentionOptions): RetentionResult {
    if (!this.retention) {
      throw this.recordWriteFailure(new StoreWriteError(`span store ${this.path} is open read-only: retention not applied`));
    }
    try {
      return this.retention.run(this.retentionPolicy, nowUs, options);
    } catch (err) {
      if (!isUnwritableError(err)) throw err;
      const code = sqliteCode(err);
      throw this.recordWriteFailure(
        new StoreWriteError(`cannot apply retention to span store ${this.path}: ${oneLine(err)}${code ? ` (${code})` : ''}`, code),
      );
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
