/**
 * The self-time estimator as it was before its windows kept compact
 * projections (backend-agent/src/export/self-time.ts at 6f7a72f): whole spans
 * in the windows. Kept only as the reference for the differential test.
 */
import type { Span } from '../../../backend-agent/src/model/span.js';
import type { LinkLayer, WorkingSet } from '../../../backend-agent/src/reconstruct/link-layer.js';
import { inProcessLinks } from '../../../backend-agent/src/reconstruct/in-process-links.js';

interface SelfTimeOptions {
  /** A server span is settled once a span ending this long after it was seen, µs. */
  settleUs: number;
  /** Most buffered spans per process before the oldest are evicted. */
  maxSpansPerProcess: number;
  /** How long an outbound call is kept for server spans not yet seen (requests still being served), µs. */
  retainUs: number;
  layer: LinkLayer;
}

const REFERENCE_DEFAULTS: SelfTimeOptions = {
  settleUs: 1_000_000,
  maxSpansPerProcess: 4_000,
  retainUs: 30_000_000,
  layer: inProcessLinks,
};

interface ProcessWindow {
  servers: Span[];
  clients: Span[];
}

export type ReferenceObserver = (server: Span, selfSeconds: number) => void;

const endUs = (s: Span): number => s.startTimeUs + s.durationNs / 1000;

export class ReferenceSelfTimeEstimator {
  private readonly windows = new Map<string, ProcessWindow>();
  private latestEndUs = -Infinity;
  /** Server spans observed without their children being looked for (window overflow). */
  evicted = 0;
  settled = 0;

  constructor(
    private readonly observe: ReferenceObserver,
    private readonly options: SelfTimeOptions = REFERENCE_DEFAULTS,
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
function coveredNs(server: Span, children: readonly Span[]): number {
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
