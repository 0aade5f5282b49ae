/**
 * Retention: drop spans older than maxAge, then drop the oldest spans until
 * the database file is under maxSizeBytes.
 *
 * Deletes run in bounded batches, each its own short transaction, so the
 * write lock is never held long (readers in other processes, like the CLI,
 * and the ingest's next batch get in between). One call does at most
 * `maxBatches` batches and says whether it finished; the caller runs it again
 * soon when it did not.
 *
 * The size cap counts pages in use, not free ones: SQLite puts the next
 * inserts into freed pages, so a store at its cap keeps a steady file size
 * without giving pages back. Only pages beyond the cap are returned to the
 * file system (`PRAGMA incremental_vacuum(N)`; the store is created with
 * auto_vacuum=INCREMENTAL), because vacuuming moves pages from the end of the
 * file into the holes: vacuuming every freed page after every batch rewrote
 * the newest data again and again (the 10-minute soak wrote ~35x what
 * retention freed and stalled the agent for seconds, docs/BENCHMARKS.md).
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

interface PageCounts {
  pageSize: number;
  pages: number;
  free: number;
}

function pageCounts(db: Database.Database): PageCounts {
  return {
    pageSize: db.pragma('page_size', { simple: true }) as number,
    pages: db.pragma('page_count', { simple: true }) as number,
    free: db.pragma('freelist_count', { simple: true }) as number,
  };
}

/** Bytes of pages holding data: the file minus its free list. */
function usedBytes(db: Database.Database): number {
  const c = pageCounts(db);
  return (c.pages - c.free) * c.pageSize;
}

/**
 * Once over the size cap, delete down to at most this fraction of it, so
 * deletes come in runs of a few MB rather than one small batch after every
 * insert batch...
 */
const SIZE_TRIM_TO = 0.95;
/**
 * ...and lower by what the store grew since the last pass (at most half the
 * cap), so the next interval's inserts land in freed pages instead of
 * growing the file past the cap and having to be vacuumed back.
 */
const MAX_GROWTH_SHARE_RESERVED = 0.5;
/** Without a size cap, free pages are kept for reuse up to this share of the file... */
const FREE_SHARE_KEPT = 0.25;
/** ...and when it is exceeded, vacuumed down to this share (bounded work per pass). */
const FREE_SHARE_AFTER_VACUUM = 0.1;

/** What a delete hands back so the derived tables (catalog.ts) can be adjusted in the same transaction. */
const RETURNING = 'RETURNING service, name, kind, start_us, duration_ns, peer_service, peer_local, status, request_bytes, response_bytes';

export class RetentionRunner {
  private readonly deleteOlderThan: Database.Statement<[number, number], CatalogRow>;
  private readonly deleteOldest: Database.Statement<[number], CatalogRow>;
  private readonly catalog: CatalogStatements;
  private readonly countSpans: Database.Statement<[], number>;
  private readonly pruneOperations: Database.Statement<[]>;
  private readonly pruneEdgeProtocols: Database.Statement<[]>;
  /** Over the size cap and not yet down to SIZE_TRIM_TO of it (may span several passes). */
  private trimming = false;
  /** Where the current trim stops: fixed when it starts, so chained passes agree. */
  private trimTarget = 0;
  /** usedBytes at the end of the last pass that had a size cap. */
  private usedAfterLastPass: number | undefined;
  /** What the store grew between the last two complete passes: the free space worth keeping for the next interval. */
  private growthBytes = 0;

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

    const cap = policy.maxSizeBytes;
    if (complete && cap !== undefined) {
      const used = usedBytes(this.db);
      if (!this.trimming && this.usedAfterLastPass !== undefined) this.growthBytes = Math.max(0, used - this.usedAfterLastPass);
      if (used > cap && !this.trimming) {
        this.trimming = true;
        this.trimTarget = Math.floor(Math.min(cap * SIZE_TRIM_TO, cap - Math.min(this.growthBytes, cap * MAX_GROWTH_SHARE_RESERVED)));
      }
      const target = this.trimTarget;
      while (this.trimming) {
        const spans = this.countSpans.get() ?? 0;
        // Nothing more to delete when what is left is schema and indexes.
        if (spans === 0 || usedBytes(this.db) <= target) {
          this.trimming = false;
          break;
        }
        if (batchesLeft === 0) {
          complete = false;
          break;
        }
        batchesLeft -= 1;
        const n = this.rowsToFree(target, spans, batchSize);
        deleted += this.deleteBatch(() => this.deleteOldest.all(n));
      }
    }

    if (deleted > 0) {
      this.pruneOperations.run();
      this.pruneEdgeProtocols.run();
    }
    // Under a cap, free pages beyond the next interval's growth are given back too (a store that age
    // retention emptied must not keep its file at the cap).
    const shrunk = cap !== undefined && this.shrinkTo(cap);
    const released = this.releaseSurplusFreePages(cap !== undefined ? this.growthBytes : 0) || shrunk;
    if (cap !== undefined && complete) this.usedAfterLastPass = usedBytes(this.db);
    if (deleted > 0 || released) {
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
  private rowsToFree(targetBytes: number, spans: number, batchSize: number): number {
    const used = Math.max(1, usedBytes(this.db));
    const bytesPerRow = used / spans;
    const excess = used - targetBytes;
    return Math.min(batchSize, Math.max(1, Math.ceil(excess / bytesPerRow)));
  }

  /** Returns the pages beyond the cap to the file system; true when it vacuumed. */
  private shrinkTo(capBytes: number): boolean {
    const c = pageCounts(this.db);
    const excessPages = Math.min(c.free, c.pages - Math.floor(capBytes / c.pageSize));
    return this.vacuumPages(excessPages);
  }

  /**
   * Keeps free pages for reuse unless they are a large share of the file and
   * more than `reserveBytes` (the space the next interval's inserts will take).
   */
  private releaseSurplusFreePages(reserveBytes: number): boolean {
    const c = pageCounts(this.db);
    const reserve = Math.ceil(reserveBytes / c.pageSize);
    if (c.free <= Math.max(c.pages * FREE_SHARE_KEPT, 2 * reserve)) return false;
    // Vacuuming x pages leaves free - x of pages - x: solve for a FREE_SHARE_AFTER_VACUUM share...
    const toShare = Math.ceil((c.free - c.pages * FREE_SHARE_AFTER_VACUUM) / (1 - FREE_SHARE_AFTER_VACUUM));
    // ...but keep the reserve.
    return this.vacuumPages(Math.min(toShare, c.free - reserve));
  }

  private vacuumPages(pages: number): boolean {
    if (pages <= 0) return false;
    this.db.pragma(`incremental_vacuum(${Math.floor(pages)})`);
    return true;
  }
}
