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
 * Bounded: the window keeps at most `maxSpansPerProcess` spans per process
 * (as columns of projections, span-columns.ts);
 * spans evicted unsettled are counted, and their server spans observed with
 * their whole duration (an over-estimate, never a silent loss).
 */
import type { Span } from '../model/span.js';
import type { LinkLayer, WorkingSet } from '../reconstruct/link-layer.js';
import { inProcessLinks } from '../reconstruct/in-process-links.js';
import { layerSpan, windowProcess, type SelfTimeSpan } from './self-time-span.js';
import { SpanColumns } from './span-columns.js';

export type { SelfTimeSpan } from './self-time-span.js';

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
  readonly process: Span['process'];
  // Columns of projections, not spans: what a window holds lives long enough to be promoted (span-columns.ts).
  readonly servers: SpanColumns;
  readonly clients: SpanColumns;
}

export type SelfTimeObserver = (server: SelfTimeSpan, selfSeconds: number) => void;

/** The span fields the self-time arithmetic reads. */
export type TimedSpan = Pick<Span, 'startTimeUs' | 'durationNs'>;

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
      if (!w) this.windows.set(key, (w = { process: windowProcess(span.process.hostName, span.process.pid), servers: new SpanColumns('server'), clients: new SpanColumns('client') }));
      (span.kind === 'server' ? w.servers : w.clients).push(span);
      this.latestEndUs = Math.max(this.latestEndUs, span.startTimeUs + span.durationNs / 1000);
      if (w.servers.length + w.clients.length > this.options.maxSpansPerProcess) this.evictOldest(w);
    }
    this.settle(this.latestEndUs - this.options.settleUs);
  }

  /** Settles every server span that ended before `untilUs` (a scrape passes the wall clock). */
  settle(untilUs: number): void {
    for (const [key, w] of this.windows) {
      const servers = w.servers;
      const clients = w.clients;
      let due: SelfTimeSpan[] | undefined;
      for (let i = 0; i < servers.length; i++) if (servers.endUs(i) <= untilUs) (due ??= []).push(servers.at(i));
      if (due) {
        this.observeDue(w, due);
        servers.removeWhere((i) => servers.endUs(i) <= untilUs);
      }
      // Outbound calls stay for a while: a server span arrives only once its
      // response is sent, so a long request's children are older than it.
      const keepAfterUs = untilUs - this.options.retainUs;
      clients.removeWhere((i) => !(clients.endUs(i) >= keepAfterUs));
      if (w.servers.length === 0 && w.clients.length === 0) this.windows.delete(key);
    }
  }

  private observeDue(w: ProcessWindow, due: readonly SelfTimeSpan[]): void {
    let fromUs = Infinity;
    let toUs = -Infinity;
    for (const s of due) {
      fromUs = Math.min(fromUs, s.startTimeUs);
      toUs = Math.max(toUs, s.endUs);
    }
    // Competing requests still in flight take part, so timing is weighed
    // against every request the process was serving, not only the settled ones.
    const window: SelfTimeSpan[] = [];
    const { servers, clients } = w;
    for (let i = 0; i < servers.length; i++) if (servers.startTimeUs(i) <= toUs && servers.endUs(i) >= fromUs) window.push(servers.at(i));
    for (let i = 0; i < clients.length; i++) if (clients.endUs(i) >= fromUs && clients.startTimeUs(i) <= toUs) window.push(clients.at(i));
    const spans = window.map((p) => layerSpan(p, w.process));
    const indexById = new Map<string, number>();
    window.forEach((s, i) => {
      if (s.kind === 'server' && !indexById.has(s.spanId)) indexById.set(s.spanId, i);
    });
    const ws: WorkingSet = {
      spans,
      // Every outbound call is open to linking here: the header layer's links
      // name spans of the caller's own tracer, which this window does not hold.
      parentOf: () => undefined,
      indexOfSpanId: (id) => indexById.get(id),
    };
    const children = new Map<string, SelfTimeSpan[]>();
    for (const p of this.options.layer.propose(ws)) {
      const child = window[p.child];
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
    const { servers, clients } = w;
    if (servers.length > 0 && (clients.length === 0 || servers.startTimeUs(0) <= clients.startTimeUs(0))) {
      const oldestServer = servers.at(0);
      servers.shift();
      this.evicted += 1;
      this.observe(oldestServer, oldestServer.durationNs / 1e9);
    } else {
      clients.shift();
    }
  }
}

/** Nanoseconds of the server's interval covered by at least one child call (overlapping calls count once). */
export function coveredNs(server: TimedSpan, children: readonly TimedSpan[]): number {
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
