/**
 * Retention: drop spans older than maxAge, then drop the oldest spans until
 * the database file is under maxSizeBytes.
 *
 * Deletes run in bounded batches, each its own short transaction, so the
 * write lock is never held long (readers in other processes, like the CLI,
 * and the ingest's next batch get in between). One call does at most
 * `maxBatches` batches and says whether it finished; the caller runs it again
 * soon when it did not. Freed pages are returned to the file system with
 * `PRAGMA incremental_vacuum` (the store is created with
 * auto_vacuum=INCREMENTAL) and a passive WAL checkpoint, so the file on disk
 * really shrinks.
 */
import type Database from 'better-sqlite3';
import { CatalogDelta, CatalogStatements, type CatalogRow } from './catalog.js';

export interface RetentionPolicy {
  /** Spans whose start is older than now - maxAgeMs are deleted. */
  maxAgeMs?: number;
  /** Main database file size cap (page_count * page_size, WAL excluded). */
  maxSizeBytes?: number;
}

export interface RetentionOptions {
  /** Rows per delete transaction. */
  batchSize?: number;
  /** Batches per call before giving control back. */
  maxBatches?: number;
}

export interface RetentionResult {
  deleted: number;
  /** False when the batch budget ran out before the policy was met: call again. */
  complete: boolean;
}

export const DEFAULT_RETENTION_BATCH_SIZE = 2_000;
/**
 * Batches per pass. A pass runs on the agent's one thread, so it is kept
 * short (a few batches, each with an incremental vacuum): the agent chains
 * passes with a yield between them while retention is behind, and queries
 * and ingest run in between. 50 froze the agent for 2-10 s once a store hit
 * its size limit (soak run, docs/BENCHMARKS.md).
 */
export const DEFAULT_RETENTION_MAX_BATCHES = 4;

/** page_count * page_size: the size of the main database file once checkpointed. */
export function databaseSizeBytes(db: Database.Database): number {
  const pageCount = db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  return pageCount * pageSize;
}

function freePageBytes(db: Database.Database): number {
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  return free * pageSize;
}

/** What a delete hands back so the derived tables (catalog.ts) can be adjusted in the same transaction. */
const RETURNING = 'RETURNING service, name, kind, start_us, duration_ns, peer_service, peer_local, status, request_bytes, response_bytes';

export class RetentionRunner {
  private readonly deleteOlderThan: Database.Statement<[number, number], CatalogRow>;
  private readonly deleteOldest: Database.Statement<[number], CatalogRow>;
  private readonly catalog: CatalogStatements;
  private readonly countSpans: Database.Statement<[], number>;
  private readonly pruneOperations: Database.Statement<[]>;
  private readonly pruneEdgeProtocols: Database.Statement<[]>;

  constructor(private readonly db: Database.Database) {
    this.deleteOlderThan = db.prepare(
      `DELETE FROM spans WHERE id IN (SELECT id FROM spans WHERE start_us < ? ORDER BY start_us LIMIT ?) ${RETURNING}`,
    );
    this.deleteOldest = db.prepare(`DELETE FROM spans WHERE id IN (SELECT id FROM spans ORDER BY start_us LIMIT ?) ${RETURNING}`);
    this.catalog = new CatalogStatements(db);
    this.countSpans = db.prepare<[], number>("SELECT value FROM counters WHERE name = 'spans'").pluck();
    // An operation whose newest span is older than every remaining span has
    // no span left (retention always removes the oldest first).
    this.pruneOperations = db.prepare(
      'DELETE FROM operations WHERE last_seen_us < COALESCE((SELECT MIN(start_us) FROM spans), 9223372036854775807)',
    );
    this.pruneEdgeProtocols = db.prepare(
      'DELETE FROM edge_protocols WHERE last_seen_us < COALESCE((SELECT MIN(start_us) FROM spans), 9223372036854775807)',
    );
  }

  run(policy: RetentionPolicy, nowUs: number, options: RetentionOptions = {}): RetentionResult {
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_RETENTION_BATCH_SIZE));
    let batchesLeft = Math.max(1, Math.floor(options.maxBatches ?? DEFAULT_RETENTION_MAX_BATCHES));
    let deleted = 0;
    let complete = true;

    if (policy.maxAgeMs !== undefined) {
      const cutoffUs = Math.floor(nowUs - policy.maxAgeMs * 1000);
      for (;;) {
        if (batchesLeft === 0) {
          complete = false;
          break;
        }
        batchesLeft -= 1;
        const changes = this.deleteBatch(() => this.deleteOlderThan.all(cutoffUs, batchSize));
        deleted += changes;
        if (changes < batchSize) break;
      }
    }

    if (complete && policy.maxSizeBytes !== undefined) {
      this.vacuum();
      while (databaseSizeBytes(this.db) > policy.maxSizeBytes) {
        const spans = this.countSpans.get() ?? 0;
        if (spans === 0) break; // what is left is schema and indexes: nothing more to delete
        if (batchesLeft === 0) {
          complete = false;
          break;
        }
        batchesLeft -= 1;
        const n = this.rowsToFree(policy.maxSizeBytes, spans, batchSize);
        const changes = this.deleteBatch(() => this.deleteOldest.all(n));
        deleted += changes;
        this.vacuum();
      }
    }

    if (deleted > 0) {
      this.pruneOperations.run();
      this.pruneEdgeProtocols.run();
      this.vacuum();
      // Copy the WAL into the database file (which truncates the file to its
      // new page count) without waiting for readers: PASSIVE never blocks.
      this.db.pragma('wal_checkpoint(PASSIVE)');
    }
    return { deleted, complete };
  }

  /** One delete batch and its catalog adjustment, in one transaction. */
  private deleteBatch(remove: () => CatalogRow[]): number {
    return this.db.transaction(() => {
      const rows = remove();
      const delta = new CatalogDelta();
      for (const row of rows) delta.removed(row);
      delta.apply(this.catalog);
      return rows.length;
    })();
  }

  /**
   * How many of the oldest rows to delete next: the excess divided by the
   * average bytes per row, at least 1 and at most one batch. Deleting rows
   * frees whole pages only once they are empty, so this is an estimate and the
   * loop re-measures after each batch.
   */
  private rowsToFree(maxSizeBytes: number, spans: number, batchSize: number): number {
    const size = databaseSizeBytes(this.db);
    const usedBytes = Math.max(1, size - freePageBytes(this.db));
    const bytesPerRow = usedBytes / spans;
    const excess = size - maxSizeBytes;
    return Math.min(batchSize, Math.max(1, Math.ceil(excess / bytesPerRow)));
  }

  private vacuum(): void {
    this.db.pragma('incremental_vacuum');
  }
}
