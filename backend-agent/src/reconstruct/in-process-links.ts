/**
 * In-process causality: an outbound (client) request made while an inbound
 * (server) request is being served in the same process is its child.
 *
 * - Thread-per-request processes (no thread ever holds two inbound requests
 *   at once): the containing server span on the client's own thread is the
 *   parent (`thread`).
 * - Event-loop processes (one thread with overlapping inbound requests:
 *   Node.js, nginx, asyncio), where thread ids say nothing: a correlation id
 *   (`x-request-id`, ...) seen on both requests decides (`correlation-id`);
 *   otherwise every containing server span is scored (`timing`) and the best
 *   is kept, with a confidence from the scores and the count of alternatives.
 *
 * Timing choices are made jointly. The starting assignment follows how an
 * event loop works through a backlog: in arrival order, so a call to a given
 * peer goes to the oldest containing request that has not called that peer
 * yet (a request seldom calls the same peer twice). It is then refined: an
 * event loop sends a request right after something happened to the request
 * it serves (it arrived, or an earlier call of it answered) and answers right
 * after its last call returned, so each call is rescored against the others'
 * current parents (a second call to the same peer costs), until the
 * assignment stops changing (bounded rounds).
 *
 * Where both spans carry a trace id from headers, the ids must agree.
 */
import type { Span } from '../model/span.js';
import { normaliseRequestId } from '../context/correlation.js';
import type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';
import { baseUs, contains, intervalOf, overlapNs, TIME_TOLERANCE_NS, type Interval } from './span-time.js';
import { sharedCount, urlTarget, urlTokens } from './url-tokens.js';

const CONFIDENCE_THREAD = 0.95;
const CONFIDENCE_CORRELATION = 0.95;
/** Timing links never claim more than this: they are inferred from coincidence in time. */
const CONFIDENCE_TIMING_MAX = 0.9;
/** Scale of "right after", ns: event-loop callbacks run within about a millisecond. */
const TRIGGER_SCALE_NS = 2_000_000;
const TOKEN_WEIGHT = 2;
const MAX_TOKEN_SCORE = 4;
const SAME_TARGET_WEIGHT = 1;
const MAX_ROUNDS = 4;
const DUPLICATE_PEER_PENALTY = 1;
const CORRELATION_HEADERS = ['x-request-id', 'x-correlation-id', 'request-id'];

interface ProcessGroup {
  servers: number[];
  clients: number[];
}

function processKey(span: Span): string {
  return JSON.stringify([span.process.hostName, span.process.pid]);
}

function groupByProcess(ws: WorkingSet): Map<string, ProcessGroup> {
  const groups = new Map<string, ProcessGroup>();
  ws.spans.forEach((span, index) => {
    const key = processKey(span);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { servers: [], clients: [] }));
    if (span.kind === 'server') g.servers.push(index);
    else if (ws.parentOf(index) === undefined) g.clients.push(index);
  });
  return groups;
}

/** One thread holding two inbound requests at once means an event loop. */
export function isEventLoop(servers: readonly Span[], intervals: readonly Interval[]): boolean {
  const byThread = new Map<number, number[]>();
  servers.forEach((s, i) => {
    const list = byThread.get(s.threadId) ?? [];
    list.push(i);
    byThread.set(s.threadId, list);
  });
  for (const list of byThread.values()) {
    list.sort((a, b) => intervals[a]!.start - intervals[b]!.start);
    let maxEnd = -Infinity;
    for (const i of list) {
      if (intervals[i]!.start < maxEnd - TIME_TOLERANCE_NS) return true;
      maxEnd = Math.max(maxEnd, intervals[i]!.end);
    }
  }
  return false;
}

function correlationIds(span: Span): Set<string> {
  const ids = new Set<string>();
  for (const name of CORRELATION_HEADERS) {
    const v = span.attributes[`http.request.header.${name}`];
    if (typeof v === 'string' && v) ids.add(`${name}=${normaliseRequestId(v)}`);
  }
  return ids;
}

function headerTraceCompatible(server: Span, client: Span): boolean {
  if (server.traceIdSource === 'none' || client.traceIdSource === 'none') return true;
  return server.traceId === client.traceId;
}

interface Candidate {
  server: number;
  /** Evidence that does not depend on other assignments. */
  staticScore: number;
}

interface PendingClient {
  client: number;
  candidates: Candidate[];
}

export interface InProcessOptions {
  /** Use id-like values shared by inbound and outbound URLs as evidence (default true). */
  urlTokens: boolean;
  /** Scale of "right after" for timing scores, ns (default TRIGGER_SCALE_NS). */
  triggerScaleNs?: number;
}

export const inProcessLinks: LinkLayer = createInProcessLinks({ urlTokens: true });

/** The layer with some evidence left out: for measuring what each signal is worth. */
export function createInProcessLinks(options: InProcessOptions): LinkLayer {
  return {
    name: options.urlTokens ? 'in-process' : 'in-process (no url tokens)',
    propose: (ws) => proposeInProcess(ws, options),
  };
}

function proposeInProcess(ws: WorkingSet, options: InProcessOptions): LinkProposal[] {
  {
    if (ws.spans.length === 0) return [];
    const base = baseUs(ws.spans);
    const intervals = ws.spans.map((s) => intervalOf(s, base));
    const proposals: LinkProposal[] = [];
    for (const group of groupByProcess(ws).values()) {
      if (group.clients.length === 0 || group.servers.length === 0) continue;
      linkProcess(ws, intervals, group, proposals, options);
    }
    return proposals;
  }
}

function linkProcess(ws: WorkingSet, intervals: readonly Interval[], group: ProcessGroup, out: LinkProposal[], options: InProcessOptions): void {
  const eventLoop = isEventLoop(
    group.servers.map((i) => ws.spans[i]!),
    group.servers.map((i) => intervals[i]!),
  );
  const pending: PendingClient[] = [];
  for (const clientIndex of group.clients) {
    const client = ws.spans[clientIndex]!;
    const containing = group.servers.filter(
      (s) => contains(intervals[s]!, intervals[clientIndex]!) && headerTraceCompatible(ws.spans[s]!, client) && ws.spans[s]!.spanId !== client.spanId,
    );
    if (containing.length === 0) continue;

    if (!eventLoop) {
      const sameThread = containing.filter((s) => ws.spans[s]!.threadId === client.threadId);
      if (sameThread.length > 0) {
        // Tightest first (the innermost request), then canonical order.
        sameThread.sort((a, b) => ws.spans[a]!.durationNs - ws.spans[b]!.durationNs || a - b);
        out.push({
          child: clientIndex,
          parentSpanId: ws.spans[sameThread[0]!]!.spanId,
          parentIndex: sameThread[0]!,
          method: 'thread',
          // Other requests in flight in the process (other threads) leave a little doubt; two on this thread more.
          confidence: CONFIDENCE_THREAD - (sameThread.length > 1 ? 0.2 : containing.length > 1 ? 0.1 : 0),
          alternatives: containing.length - 1,
        });
        continue;
      }
    }

    const ids = correlationIds(client);
    if (ids.size > 0) {
      const sharing = containing.filter((s) => sharedCount(ids, correlationIds(ws.spans[s]!)) > 0);
      if (sharing.length > 0) {
        sharing.sort((a, b) => ws.spans[a]!.durationNs - ws.spans[b]!.durationNs || a - b);
        out.push({
          child: clientIndex,
          parentSpanId: ws.spans[sharing[0]!]!.spanId,
          parentIndex: sharing[0]!,
          method: 'correlation-id',
          confidence: CONFIDENCE_CORRELATION / sharing.length,
          alternatives: containing.length - 1,
        });
        continue;
      }
    }

    const tokens = urlTokens(client);
    const target = urlTarget(client);
    pending.push({
      client: clientIndex,
      candidates: containing.map((s) => {
        const server = ws.spans[s]!;
        if (!options.urlTokens) return { server: s, staticScore: 0 };
        const tokenScore = Math.min(MAX_TOKEN_SCORE, TOKEN_WEIGHT * sharedCount(tokens, urlTokens(server)));
        return { server: s, staticScore: tokenScore + (urlTarget(server) === target ? SAME_TARGET_WEIGHT : 0) };
      }),
    });
  }
  if (pending.length > 0) chooseJointly(ws, intervals, pending, out, options.triggerScaleNs ?? TRIGGER_SCALE_NS);
}

/**
 * How well the client's timing fits a server given the server's other
 * children: a call starts right after a trigger (request received, or an
 * earlier child answered) and/or is followed right away by the next event
 * (a later child starts, or the response goes out).
 */
function timingScore(c: Interval, s: Interval, siblings: readonly Interval[], scaleNs: number): number {
  let trigger = s.requestEnd;
  let next = s.end;
  for (const k of siblings) {
    if (k.end <= c.start + TIME_TOLERANCE_NS) trigger = Math.max(trigger, k.end);
    if (k.start + TIME_TOLERANCE_NS >= c.end) next = Math.min(next, k.start);
  }
  const before = Math.max(0, c.start - Math.min(trigger, c.start));
  const after = Math.max(0, next - c.end);
  return Math.exp(-before / scaleNs) + Math.exp(-after / scaleNs);
}

/** The downstream a call goes to: its peer's name and port. */
function peerKey(span: Span): string {
  return `${span.peerService}|${span.network.remote.port}`;
}

function chooseJointly(ws: WorkingSet, intervals: readonly Interval[], pending: readonly PendingClient[], out: LinkProposal[], scaleNs: number): void {
  // Start first-come-first-served per downstream peer: an event loop works
  // through its backlog in arrival order, so among the requests not yet
  // holding a call to this peer, the oldest gets it (static evidence first).
  const choice = new Map<number, number>();
  const peersUsed = new Map<number, Set<string>>();
  for (const p of pending) {
    const peer = peerKey(ws.spans[p.client]!);
    const free = (s: number) => !(peersUsed.get(s)?.has(peer) ?? false);
    const best = [...p.candidates].sort(
      (a, b) =>
        b.staticScore - a.staticScore ||
        Number(free(b.server)) - Number(free(a.server)) ||
        intervals[a.server]!.start - intervals[b.server]!.start ||
        a.server - b.server,
    )[0]!;
    choice.set(p.client, best.server);
    let used = peersUsed.get(best.server);
    if (!used) peersUsed.set(best.server, (used = new Set()));
    used.add(peer);
  }
  let scored = new Map<number, number[]>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const childrenOf = new Map<number, number[]>();
    for (const [client, server] of choice) {
      const list = childrenOf.get(server) ?? [];
      list.push(client);
      childrenOf.set(server, list);
    }
    const next = new Map<number, number>();
    scored = new Map();
    for (const p of pending) {
      const c = intervals[p.client]!;
      const scores = p.candidates.map((cand) => {
        const siblings = (childrenOf.get(cand.server) ?? [])
          .filter((k) => k !== p.client && overlapNs(intervals[k]!, c) <= TIME_TOLERANCE_NS)
          .map((k) => intervals[k]!);
        // A request seldom calls the same peer twice: a second call to it costs.
        const peer = peerKey(ws.spans[p.client]!);
        const duplicate = (childrenOf.get(cand.server) ?? []).some((k) => k !== p.client && peerKey(ws.spans[k]!) === peer);
        return cand.staticScore + timingScore(c, intervals[cand.server]!, siblings, scaleNs) - (duplicate ? DUPLICATE_PEER_PENALTY : 0);
      });
      scored.set(p.client, scores);
      let bestAt = 0;
      scores.forEach((s, i) => {
        if (s > scores[bestAt]! + 1e-9) bestAt = i;
      });
      next.set(p.client, p.candidates[bestAt]!.server);
    }
    const stable = [...next].every(([client, server]) => choice.get(client) === server);
    for (const [client, server] of next) choice.set(client, server);
    if (stable) break;
  }
  for (const p of pending) {
    const server = choice.get(p.client)!;
    const scores = scored.get(p.client)!;
    const chosenAt = p.candidates.findIndex((c) => c.server === server);
    // Softmax share of the chosen candidate: 1 when alone, lower when others score close.
    const weights = scores.map((s) => Math.exp(s));
    const share = weights[chosenAt]! / weights.reduce((a, b) => a + b, 0);
    out.push({
      child: p.client,
      parentSpanId: ws.spans[server]!.spanId,
      parentIndex: server,
      method: 'timing',
      confidence: Math.round(CONFIDENCE_TIMING_MAX * share * 1000) / 1000,
      alternatives: p.candidates.length - 1,
    });
  }
}
