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

const BATCH = 1000;
const MAX_PENDING = 50_000;
/**
 * While the store refuses writes, flushThrottled() retries at most this often: every
 * attempt re-sends the whole buffer (up to MAX_PENDING spans), so retrying on every replay
 * chunk made ingest quadratic on a full disk (a 4,000-call replay crawled for over 30 s).
 */
const RETRY_MS = 500;

export class SpanWriter {
  private pending: Span[] = [];
  written = 0;
  dropped = 0;
  writeError: string | undefined;
  private lastFailureMs = 0;

  constructor(
    private readonly store: SpanSink,
    private readonly log: Logger,
  ) {}

  add(spans: Span[]): void {
    for (const s of spans) this.pending.push(s);
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
      this.store.insertSpans(batch);
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
