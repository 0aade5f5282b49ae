/**
 * The decision window: spans wait here until the trace they belong to can be
 * decided as a whole, for sampling and for export with inferred parents.
 *
 * Header-less spans arrive with ids of their own (derived per connection);
 * only reconstruction (reconstruct/: socket joins, in-process links) says
 * which of them form one trace. So each pass assembles the buffered spans
 * with the same link layers the query path uses, splits them into trees
 * (traceComponents) and decides per tree:
 *
 * - a tree is ready when its spans have waited `windowMs` and it looks
 *   complete, or its first span waited `maxWaitMs`, or the buffer
 *   overflowed. Spans are emitted when their
 *   exchange ends, so a parent arrives after its children: a tree whose root
 *   is a client span of a process that serves requests (its inbound request
 *   is probably still running), or a server span called from this host whose
 *   client side has not arrived, waits for the rest (up to `maxWaitMs`), so
 *   a slow trace is decided once its slow root is there;
 * - decided spans stay for `contextMs` as context: a span arriving later (a
 *   parent that ended after its children, the client side of a long call)
 *   is assembled with them, and when its tree holds decided spans it
 *   inherits their decision and their output trace id, so a trace decided in
 *   parts is still kept or dropped as one and exported under one id; when a
 *   late part of a dropped trace must be kept (an error, a slow root), the
 *   dropped spans still in context are kept with it.
 *
 * The output trace id of a tree is the first header-propagated trace id in
 * it (other hosts' agents and instrumented services use that one), else the
 * id reconstruction names it by (its root's).
 */
import type { Span } from '../model/span.js';
import { assembleTrace, canonicalOrder, traceComponents, type LinkLayer } from '../reconstruct/index.js';

export interface TracePart {
  /** The trace id every span of the trace is output under. */
  traceId: string;
  /** The newly decided spans, as they arrived (for the store). */
  raw: Span[];
  /** The same spans assembled: inferred parents filled in, trace id = `traceId` (for export). */
  assembled: Span[];
  /** Where the trace starts on this host (may be a span decided earlier). */
  root: Span;
  /** Some spans of this trace were decided in an earlier pass... */
  inherited: boolean;
  /** ...and at least one of them was kept. */
  earlierKeep: boolean;
  /**
   * Spans of this trace decided earlier and dropped, still held as context:
   * when the part is kept (an error or a slow root showed up late), they are
   * kept after all, so the trace is whole again. Raw and assembled, as above.
   */
  revivable: { raw: Span[]; assembled: Span[] };
}

/** Returns whether the part is kept (remembered for spans that join its trace later). */
export type PartDecider = (part: TracePart) => boolean;

export interface TraceWindowOptions {
  windowMs: number;
  /** Longest a span waits for its trace to stop growing or complete (default max(10 s, 5 * windowMs)). */
  maxWaitMs?: number;
  /** How long decided spans stay as context for late arrivals (default max(30 s, 10 * windowMs)). */
  contextMs?: number;
  /** Buffered spans beyond which everything buffered is decided at once. */
  maxBuffered?: number;
  /** Most decided spans kept as context (oldest go first). */
  maxContext?: number;
  layers?: readonly LinkLayer[];
  now?: () => number;
}

interface Buffered {
  span: Span;
  arrivedMs: number;
}

interface Decided {
  span: Span;
  traceId: string;
  keep: boolean;
  decidedMs: number;
  endUs: number;
}

function endUs(s: Span): number {
  return s.startTimeUs + Math.ceil(s.durationNs / 1000);
}

const MAX_SERVING_PROCESSES = 100_000;

function processKey(s: Span): string {
  return `${s.process.hostName}|${s.process.pid}`;
}

/** Context spans this close to the buffer's time extent are assembled with it, µs. */
const CONTEXT_SLACK_US = 1000;

export class TraceWindow {
  private buffer: Buffered[] = [];
  private context: Decided[] = [];
  private readonly windowMs: number;
  private readonly maxWaitMs: number;
  private readonly contextMs: number;
  private readonly maxBuffered: number;
  private readonly maxContext: number;
  private readonly layers: readonly LinkLayer[] | undefined;
  private readonly now: () => number;
  forcedDecisions = 0;

  constructor(
    private readonly decide: PartDecider,
    o: TraceWindowOptions,
  ) {
    this.windowMs = o.windowMs;
    this.maxWaitMs = o.maxWaitMs ?? Math.max(10_000, 5 * o.windowMs);
    this.contextMs = o.contextMs ?? Math.max(30_000, 10 * o.windowMs);
    this.maxBuffered = o.maxBuffered ?? 100_000;
    this.maxContext = o.maxContext ?? 50_000;
    this.layers = o.layers;
    this.now = o.now ?? Date.now;
  }

  get bufferedCount(): number {
    return this.buffer.length;
  }

  add(spans: readonly Span[]): void {
    const arrivedMs = this.now();
    for (const span of spans) {
      this.buffer.push({ span, arrivedMs });
      if (span.kind === 'server' && this.servingProcesses.size < MAX_SERVING_PROCESSES) this.servingProcesses.add(processKey(span));
    }
  }

  /** Processes seen serving requests: a client span of one of them is normally inside an inbound request. */
  private readonly servingProcesses = new Set<string>();

  /** False when the tree's root says more of it is still to come (see the header comment). */
  private looksComplete(root: Span): boolean {
    if (root.kind === 'server') return !root.peerLocal;
    return !this.servingProcesses.has(processKey(root));
  }

  /** Decides every tree that is ready (`force`: every buffered tree). */
  pass(force = false): void {
    const now = this.now();
    this.trimContext(now);
    if (this.buffer.length === 0) return;
    if (this.buffer.length > this.maxBuffered) {
      this.forcedDecisions++;
      force = true;
    }
    // Only spans that have waited the window are assembled (the buffer is in
    // arrival order): a span that arrives later and belongs to a tree decided
    // now joins it through the context, so each span is assembled about once
    // as a newcomer instead of on every pass while it waits.
    let oldCount = 0;
    while (oldCount < this.buffer.length && (force || now - this.buffer[oldCount]!.arrivedMs >= this.windowMs)) oldCount++;
    if (oldCount === 0) return;
    const candidates = this.buffer.slice(0, oldCount);
    const recent = this.buffer.slice(oldCount);

    let minStart = Infinity;
    let maxEnd = -Infinity;
    const arrival = new Map<Span, number>();
    const headerTraces = new Set<string>();
    for (const b of candidates) {
      arrival.set(b.span, b.arrivedMs);
      minStart = Math.min(minStart, b.span.startTimeUs);
      maxEnd = Math.max(maxEnd, endUs(b.span));
      if (b.span.traceIdSource !== 'none') headerTraces.add(b.span.traceId);
    }
    // A parent encloses its children and the two sides of a call overlap, so
    // only decided spans overlapping the candidates in time can link to them;
    // spans sharing a propagated trace id belong together whenever they ran.
    const decided = new Map<Span, Decided>();
    for (const c of this.context) {
      const overlaps = c.endUs >= minStart - CONTEXT_SLACK_US && c.span.startTimeUs <= maxEnd + CONTEXT_SLACK_US;
      if (overlaps || (c.span.traceIdSource !== 'none' && headerTraces.has(c.span.traceId))) decided.set(c.span, c);
    }

    // assembleTrace orders canonically and keeps positions: assembled[i] is ordered[i].
    const ordered = canonicalOrder([...decided.keys(), ...arrival.keys()]);
    const assembled = assembleTrace(ordered, this.layers);
    const waiting = new Set<Span>();
    for (const tree of traceComponents(assembled)) {
      const fresh = tree.members.filter((i) => arrival.has(ordered[i]!));
      if (fresh.length === 0) continue;
      const earlier = tree.members.map((i) => decided.get(ordered[i]!)).filter((d): d is Decided => d !== undefined);
      const inTree = new Set(tree.members.map((i) => assembled[i]!.spanId));
      const rootIndex = tree.members.find((i) => !assembled[i]!.parentSpanId || !inTree.has(assembled[i]!.parentSpanId!)) ?? tree.members[0]!;
      let traceId: string;
      if (earlier.length > 0) {
        traceId = (earlier.find((d) => d.keep) ?? earlier[0]!).traceId;
      } else {
        const ready = force || this.looksComplete(assembled[rootIndex]!) || fresh.some((i) => now - arrival.get(ordered[i]!)! >= this.maxWaitMs);
        if (!ready) {
          for (const i of fresh) waiting.add(ordered[i]!);
          continue;
        }
        const header = tree.members.find((i) => ordered[i]!.traceIdSource !== 'none');
        traceId = header !== undefined ? ordered[header]!.traceId : tree.traceId;
      }
      const part: TracePart = {
        traceId,
        raw: fresh.map((i) => ordered[i]!),
        assembled: fresh.map((i) => withTraceId(assembled[i]!, traceId)),
        root: withTraceId(assembled[rootIndex]!, traceId),
        inherited: earlier.length > 0,
        earlierKeep: earlier.some((d) => d.keep),
        revivable: { raw: [], assembled: [] },
      };
      const revive: Decided[] = [];
      for (const i of tree.members) {
        const d = decided.get(ordered[i]!);
        if (!d || d.keep) continue;
        revive.push(d);
        part.revivable.raw.push(d.span);
        part.revivable.assembled.push(withTraceId(assembled[i]!, traceId));
      }
      const keep = this.decide(part);
      if (keep) {
        for (const d of revive) {
          d.keep = true;
          d.traceId = traceId;
        }
      }
      for (const span of part.raw) this.context.push({ span, traceId, keep, decidedMs: now, endUs: endUs(span) });
    }
    this.buffer = [...candidates.filter((b) => waiting.has(b.span)), ...recent];
    this.trimContext(now);
  }

  private trimContext(now: number): void {
    let drop = 0;
    while (drop < this.context.length && now - this.context[drop]!.decidedMs > this.contextMs) drop++;
    drop = Math.max(drop, this.context.length - this.maxContext);
    if (drop > 0) this.context.splice(0, drop);
  }
}

function withTraceId(s: Span, traceId: string): Span {
  if (s.traceId === traceId && (!s.parentLink || s.parentLink.traceId === traceId)) return s;
  const out: Span = { ...s, traceId };
  if (s.parentLink) out.parentLink = { ...s.parentLink, traceId };
  return out;
}
