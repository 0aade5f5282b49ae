/**
 * Self time of server spans, for metrics: how long a service took to answer
 * a call minus the time it spent waiting on its own outbound calls.
 *
 * Why: in a synchronous call chain every caller waits for its callees, so
 * when one service slows down the end-to-end latency of every edge above it
 * rises too, and a latency alert on call duration fires for the whole chain.
 * The latency a server *added* rises only on the edges into the service that
 * got slow, which is what an on-call engineer needs to find.
 *
 * Which outbound calls belong to which inbound request is the reconstruction's
 * in-process layer (reconstruct/in-process-links.ts: thread, correlation id,
 * header trace id, timing), run here over a short window of each process's
 * recent spans instead of at query time. A server span is settled once spans
 * ending a little after it have been seen: its children ended before it did,
 * so they are in the window by then.
 *
 * Bounded: the window keeps at most `maxSpansPerProcess` spans per process;
 * spans evicted unsettled are counted, and their server spans observed with
 * their whole duration (an over-estimate, never a silent loss).
 */
import type { Span } from '../model/span.js';
import type { LinkLayer, WorkingSet } from '../reconstruct/link-layer.js';
import { inProcessLinks } from '../reconstruct/in-process-links.js';

export interface SelfTimeOptions {
  /** A server span is settled once a span ending this long after it was seen, µs. */
  settleUs: number;
  /** Most buffered spans per process before the oldest are evicted. */
  maxSpansPerProcess: number;
  /** How long an outbound call is kept for server spans not yet seen (requests still being served), µs. */
  retainUs: number;
  layer: LinkLayer;
}

export const DEFAULT_SELF_TIME_OPTIONS: SelfTimeOptions = {
  settleUs: 1_000_000,
  maxSpansPerProcess: 4_000,
  retainUs: 30_000_000,
  layer: inProcessLinks,
};

interface ProcessWindow {
  servers: Span[];
  clients: Span[];
}

export type SelfTimeObserver = (server: Span, selfSeconds: number) => void;

const endUs = (s: Span): number => s.startTimeUs + s.durationNs / 1000;

export class SelfTimeEstimator {
  private readonly windows = new Map<string, ProcessWindow>();
  private latestEndUs = -Infinity;
  /** Server spans observed without their children being looked for (window overflow). */
  evicted = 0;
  settled = 0;

  constructor(
    private readonly observe: SelfTimeObserver,
    private readonly options: SelfTimeOptions = DEFAULT_SELF_TIME_OPTIONS,
  ) {}

  add(spans: readonly Span[]): void {
    for (const span of spans) {
      const key = `${span.process.hostName}|${span.process.pid}`;
      let w = this.windows.get(key);
      if (!w) this.windows.set(key, (w = { servers: [], clients: [] }));
      (span.kind === 'server' ? w.servers : w.clients).push(span);
      this.latestEndUs = Math.max(this.latestEndUs, endUs(span));
      if (w.servers.length + w.clients.length > this.options.maxSpansPerProcess) this.evictOldest(w);
    }
    this.settle(this.latestEndUs - this.options.settleUs);
  }

  /** Settles every server span that ended before `untilUs` (a scrape passes the wall clock). */
  settle(untilUs: number): void {
    for (const [key, w] of this.windows) {
      const due = w.servers.filter((s) => endUs(s) <= untilUs);
      if (due.length > 0) {
        this.observeDue(w, due);
        const dueSet = new Set(due);
        w.servers = w.servers.filter((s) => !dueSet.has(s));
      }
      // Outbound calls stay for a while: a server span arrives only once its
      // response is sent, so a long request's children are older than it.
      const keepAfterUs = untilUs - this.options.retainUs;
      w.clients = w.clients.filter((c) => endUs(c) >= keepAfterUs);
      if (w.servers.length === 0 && w.clients.length === 0) this.windows.delete(key);
    }
  }

  private observeDue(w: ProcessWindow, due: readonly Span[]): void {
    const fromUs = due.reduce((min, s) => Math.min(min, s.startTimeUs), Infinity);
    const toUs = due.reduce((max, s) => Math.max(max, endUs(s)), -Infinity);
    // Competing requests still in flight take part, so timing is weighed
    // against every request the process was serving, not only the settled ones.
    const servers = w.servers.filter((s) => s.startTimeUs <= toUs && endUs(s) >= fromUs);
    const clients = w.clients.filter((c) => endUs(c) >= fromUs && c.startTimeUs <= toUs);
    const spans = [...servers, ...clients];
    const indexById = new Map<string, number>();
    spans.forEach((s, i) => {
      if (s.kind === 'server' && !indexById.has(s.spanId)) indexById.set(s.spanId, i);
    });
    const ws: WorkingSet = {
      spans,
      // Every outbound call is open to linking here: the header layer's links
      // name spans of the caller's own tracer, which this window does not hold.
      parentOf: () => undefined,
      indexOfSpanId: (id) => indexById.get(id),
    };
    const children = new Map<string, Span[]>();
    for (const p of this.options.layer.propose(ws)) {
      const child = spans[p.child];
      if (!child) continue;
      const list = children.get(p.parentSpanId) ?? [];
      list.push(child);
      children.set(p.parentSpanId, list);
    }
    for (const server of due) {
      this.settled += 1;
      const waitedNs = coveredNs(server, children.get(server.spanId) ?? []);
      this.observe(server, Math.max(0, server.durationNs - waitedNs) / 1e9);
    }
  }

  private evictOldest(w: ProcessWindow): void {
    const oldestServer = w.servers[0];
    const oldestClient = w.clients[0];
    if (oldestServer && (!oldestClient || oldestServer.startTimeUs <= oldestClient.startTimeUs)) {
      w.servers.shift();
      this.evicted += 1;
      this.observe(oldestServer, oldestServer.durationNs / 1e9);
    } else {
      w.clients.shift();
    }
  }
}

/** Nanoseconds of the server's interval covered by at least one child call (overlapping calls count once). */
export function coveredNs(server: Span, children: readonly Span[]): number {
  // Relative to the server's start: Unix µs * 1000 is past 2^53 and would round.
  const end = server.durationNs;
  const intervals = children
    .map((c) => {
      const childStart = (c.startTimeUs - server.startTimeUs) * 1000;
      return [Math.max(0, childStart), Math.min(end, childStart + c.durationNs)] as const;
    })
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let cursorEnd = -Infinity;
  for (const [a, b] of intervals) {
    if (a >= cursorEnd) {
      covered += b - a;
      cursorEnd = b;
    } else if (b > cursorEnd) {
      covered += b - cursorEnd;
      cursorEnd = b;
    }
  }
  return covered;
}
