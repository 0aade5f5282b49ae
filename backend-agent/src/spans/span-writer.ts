/**
 * Batches spans into store transactions: one transaction per batch is what
 * makes SQLite ingest fast. When the store cannot be written (disk full,
 * read-only), spans wait in a bounded buffer and the write is retried on the
 * next flush; past the bound the oldest are dropped and counted, never
 * silently, so a stuck disk cannot exhaust memory.
 */
import type { Span } from '../model/span.js';
import type { Logger } from '../util/log.js';

export interface SpanSink {
  insertSpans(spans: Span[]): void;
}

/**
 * A sink that takes spans already converted to its own row form (the SQLite
 * store). The writer converts each span as it arrives, so what waits for the
 * batch is one row and its strings rather than the span's ~40 objects: the
 * young-generation GC copies every object still alive, and a batch of spans
 * waiting for its commit was most of that.
 */
export interface PreparingSpanSink<Row> extends SpanSink {
  prepareSpan(span: Span): Row;
  insertPrepared(rows: Row[]): void;
}

function isPreparing(sink: SpanSink): sink is PreparingSpanSink<unknown> {
  const s = sink as Partial<PreparingSpanSink<unknown>>;
  return typeof s.prepareSpan === 'function' && typeof s.insertPrepared === 'function';
}

/**
 * Spans per transaction. Each commit writes every page the batch dirtied to
 * the WAL, and the identity index takes random inserts, so a commit costs
 * about as much as the inserts themselves; at 2,000 rather than 1,000 spans
 * more inserts share a page (with the store's 16 MiB checkpoint interval,
 * SQLite's cost per row fell from ~14.5 to ~11.8 µs: docs/BENCHMARKS.md,
 * "Ingest, session 3").
 */
const BATCH = 2000;
const MAX_PENDING = 50_000;
/**
 * While the store refuses writes, flushThrottled() retries at most this often: every
 * attempt re-sends the whole buffer (up to MAX_PENDING spans), so retrying on every replay
 * chunk made ingest quadratic on a full disk (a 4,000-call replay crawled for over 30 s).
 */
const RETRY_MS = 500;

export class SpanWriter {
  /** Spans, or the sink's rows for them when it prepares (PreparingSpanSink). */
  private pending: unknown[] = [];
  private readonly prepare: ((span: Span) => unknown) | undefined;
  private readonly insert: (batch: unknown[]) => void;
  written = 0;
  dropped = 0;
  writeError: string | undefined;
  private lastFailureMs = 0;

  constructor(
    store: SpanSink,
    private readonly log: Logger,
  ) {
    if (isPreparing(store)) {
      this.prepare = (span) => store.prepareSpan(span);
      this.insert = (batch) => store.insertPrepared(batch);
    } else {
      this.prepare = undefined;
      this.insert = (batch) => store.insertSpans(batch as Span[]);
    }
  }

  add(spans: Span[]): void {
    const prepare = this.prepare;
    if (!prepare) for (const s of spans) this.pending.push(s);
    else {
      for (const s of spans) {
        try {
          this.pending.push(prepare(s));
        } catch (err) {
          // A span the store cannot encode must not stop the ones after it.
          this.dropped++;
          this.log.warn('span not stored: cannot encode it', { error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    if (this.pending.length > MAX_PENDING) {
      const excess = this.pending.length - MAX_PENDING;
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
    if (this.pending.length >= BATCH && !this.writeError) this.flush();
  }

  /**
   * flush() for hot paths (once per replayed chunk): while the store refuses writes it
   * retries at most every RETRY_MS instead of on every call.
   */
  flushThrottled(): void {
    if (this.writeError !== undefined && Date.now() - this.lastFailureMs < RETRY_MS) return;
    this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    try {
      this.insert(batch);
      this.pending = [];
      this.written += batch.length;
      if (this.writeError) this.log.info('store writable again; ingest resumed', { flushed: batch.length });
      this.writeError = undefined;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.writeError) this.log.error('cannot write spans; ingest paused, queries still served', { error: message });
      this.writeError = message;
      this.lastFailureMs = Date.now();
    }
  }

  get pendingCount(): number {
    return this.pending.length;
  }
}
