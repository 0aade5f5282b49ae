/**
 * A store as a running agent has it: already holding a few hundred thousand
 * spans with random ids (the default 1 GiB retention cap is ~700,000), so
 * the identity index is large and each insert lands on a random leaf page.
 * A new store file hides that cost (docs/BENCHMARKS.md, "Ingest, session 4").
 *
 * The stored spans are copies of spans the real pipeline made, under fresh
 * random trace and span ids and moved back in time (oldest copy first, as an
 * agent writes them), stored through the agent's SpanWriter and SpanStore.
 */
import Database from 'better-sqlite3';
import type { Span, SpanLink, TraceContext } from '../../backend-agent/src/model/span.js';
import { SpanWriter } from '../../backend-agent/src/spans/span-writer.js';
import type { SpanStore } from '../../backend-agent/src/store/index.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import { randomIds, type IdSource } from './random-ids.js';

/**
 * Copies of `source` under new ids: each trace id and span id is replaced
 * by a random one, consistently within the copy, so traces keep their shape
 * (client and server span of a traced request share a trace, parents point
 * at the right span).
 */
export function copyWithNewIds(source: readonly Span[], ids: IdSource, shiftUs: number): Span[] {
  const traces = new Map<string, string>();
  const spans = new Map<string, string>();
  const trace = (id: string): string => traces.get(id) ?? (traces.set(id, ids.traceId()), traces.get(id)!);
  const span = (id: string): string => spans.get(id) ?? (spans.set(id, ids.spanId()), spans.get(id)!);
  const context = (c: TraceContext): TraceContext => ({
    ...c,
    traceId: trace(c.traceId),
    ...(c.callerSpanId !== undefined ? { callerSpanId: span(c.callerSpanId) } : {}),
    ...(c.callerParentSpanId !== undefined ? { callerParentSpanId: span(c.callerParentSpanId) } : {}),
  });
  const link = (l: SpanLink): SpanLink => ({ ...l, traceId: trace(l.traceId), spanId: span(l.spanId) });
  return source.map((s) => ({
    ...s,
    traceId: trace(s.traceId),
    spanId: span(s.spanId),
    ...(s.parentSpanId !== undefined ? { parentSpanId: span(s.parentSpanId) } : {}),
    ...(s.parentLink !== undefined ? { parentLink: link(s.parentLink) } : {}),
    ...(s.traceContext !== undefined ? { traceContext: context(s.traceContext) } : {}),
    startTimeUs: s.startTimeUs - shiftUs,
  }));
}

/**
 * Stores `count` spans made from `source` into `store`, all of them older
 * than the earliest span of `source`. Spans reach the writer in groups of
 * about a pipeline emit, so its transactions have the agent's batch size.
 */
export function prefill(store: SpanStore, source: readonly Span[], count: number, seed: number): void {
  if (source.length === 0) throw new Error('prefill needs source spans');
  let first = Infinity;
  let last = -Infinity;
  for (const s of source) {
    first = Math.min(first, s.startTimeUs);
    last = Math.max(last, s.startTimeUs);
  }
  const strideUs = last - first + 1_000_000;
  const copies = Math.ceil(count / source.length);
  const writer = new SpanWriter(store, createLogger('error', () => {}));
  const ids = randomIds(seed);
  let left = count;
  for (let c = 0; c < copies; c++) {
    const copy = copyWithNewIds(left >= source.length ? source : source.slice(0, left), ids, (copies - c) * strideUs);
    for (let at = 0; at < copy.length; at += 100) writer.add(copy.slice(at, at + 100));
    left -= copy.length;
  }
  writer.flush();
  if (writer.written !== count || writer.writeError) throw new Error(`prefill stored ${writer.written} of ${count} spans: ${writer.writeError ?? 'no error'}`);
}

/**
 * Runs the WAL checkpoint the agent's store would run sooner or later (SQLite
 * checkpoints every 16 MiB of WAL as it commits), so a timed part can pay for
 * the pages it wrote. A second connection in this process does it, because
 * the store does not expose its own; a PASSIVE checkpoint leaves the store
 * connection's page cache valid (unlike RESTART or TRUNCATE), as the agent's
 * own automatic checkpoints do.
 */
export class WalCheckpointer {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
  }

  /** Copies every frame of the WAL into the database file; returns the frames copied. */
  checkpoint(): number {
    const [r] = this.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    // Someone reading or writing would leave frames behind: the timed part would then not have paid for them.
    if (!r || r.busy !== 0 || r.checkpointed !== r.log) throw new Error(`WAL checkpoint incomplete: ${JSON.stringify(r)}`);
    return r.checkpointed;
  }

  close(): void {
    this.db.close();
  }
}
