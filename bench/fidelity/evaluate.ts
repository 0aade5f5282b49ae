/**
 * Scores reconstructed parent links against the demo's ground truth.
 *
 * A span is named by (call id, kind, service): the `x-demo-call` value the
 * agent recorded (evaluation only), its side, its service. Its true parent:
 * - a server span: the client span of the same call in the calling process
 *   (nginx for the frontend when proxied) -- an RPC hop, joined per socket;
 * - a client span: the server span, in the same process, of the inbound call
 *   it was made for (nginx: the same call id) -- an in-process hop, whose kind
 *   is the process's concurrency model: thread-per-request (the Python
 *   services), event-loop (the Node.js services) or proxy (nginx);
 * - a load generator span: none (a root).
 * Precision: of the parents reconstruction gave, the share that are right.
 * Recall: of the true parents whose spans were both captured, the share found.
 */
import type { GroundTruth } from './ground-truth.js';

export type HopKind = 'rpc' | 'thread-per-request' | 'event-loop' | 'proxy';
export const HOP_KINDS: readonly HopKind[] = ['rpc', 'thread-per-request', 'event-loop', 'proxy'];

/** What the evaluator needs of a span, from the store (captured) or the API (reconstructed). */
export interface ObservedSpan {
  call: string;
  kind: 'client' | 'server';
  service: string;
}

export interface ReconstructedTree {
  traceId: string;
  spans: Array<ObservedSpan & { parent: ObservedSpan | null }>;
}

export interface HopScore {
  kind: HopKind;
  /** True links whose two spans were captured. */
  expected: number;
  /** Links reconstruction made. */
  predicted: number;
  correct: number;
  precision: number;
  recall: number;
}

export interface FidelityResult {
  hops: HopScore[];
  /** Roots whose whole expected tree came back as one tree with every link right and nothing else. */
  wholeTraces: number;
  rootsCaptured: number;
  wholeShare: number;
  capturedSpans: number;
  /** Roots given a parent, which is always wrong. */
  spuriousRootParents: number;
}

const PROCESS_MODEL: Record<string, HopKind> = {
  orders: 'thread-per-request',
  payments: 'thread-per-request',
  catalog: 'thread-per-request',
  frontend: 'event-loop',
  inventory: 'event-loop',
  nginx: 'proxy',
};

export function spanKey(s: ObservedSpan): string {
  return `${s.call}|${s.kind}|${s.service}`;
}

/** The true parent of a span, or null for a root (undefined: unknown call). */
export function trueParent(truth: GroundTruth, s: ObservedSpan): ObservedSpan | null | undefined {
  const call = truth.calls.get(s.call);
  if (!call) return undefined;
  if (s.kind === 'server') {
    const caller = truth.proxy && s.service === 'frontend' && call.caller === 'loadgen' ? 'nginx' : call.caller;
    return { call: s.call, kind: 'client', service: caller };
  }
  if (s.service === 'nginx') return { call: s.call, kind: 'server', service: 'nginx' };
  if (call.parent === null) return null;
  return { call: call.parent, kind: 'server', service: s.service };
}

function hopKind(s: ObservedSpan): HopKind | undefined {
  if (s.kind === 'server') return 'rpc';
  return PROCESS_MODEL[s.service];
}

export function evaluate(truth: GroundTruth, captured: readonly ObservedSpan[], trees: readonly ReconstructedTree[]): FidelityResult {
  const capturedKeys = new Set(captured.map(spanKey));
  const predicted = new Map<string, string | null>();
  const treeOf = new Map<string, ReconstructedTree>();
  for (const tree of trees) {
    for (const s of tree.spans) {
      const key = spanKey(s);
      if (!predicted.has(key)) predicted.set(key, s.parent ? spanKey(s.parent) : null);
      if (!treeOf.has(key)) treeOf.set(key, tree);
    }
  }
  const scores = new Map<HopKind, { expected: number; predicted: number; correct: number }>(
    HOP_KINDS.map((k) => [k, { expected: 0, predicted: 0, correct: 0 }]),
  );
  const children = new Map<string, string[]>();
  const linkRight = new Map<string, boolean>();
  let spuriousRootParents = 0;
  for (const s of captured) {
    const key = spanKey(s);
    const parent = trueParent(truth, s);
    if (parent === undefined) continue;
    const got = predicted.get(key) ?? null;
    if (parent === null) {
      if (got !== null) spuriousRootParents++;
      continue;
    }
    const kind = hopKind(s);
    if (!kind) continue;
    const score = scores.get(kind)!;
    const want = spanKey(parent);
    if (capturedKeys.has(want)) score.expected++;
    if (got !== null) score.predicted++;
    const right = got === want;
    if (right) score.correct++;
    linkRight.set(key, right);
    const list = children.get(want) ?? [];
    list.push(key);
    children.set(want, list);
  }

  let wholeTraces = 0;
  let rootsCaptured = 0;
  for (const root of truth.roots) {
    const rootKey = spanKey({ call: root, kind: 'client', service: 'loadgen' });
    if (!capturedKeys.has(rootKey)) continue;
    rootsCaptured++;
    const descendants: string[] = [];
    const stack = [rootKey];
    while (stack.length > 0) {
      for (const c of children.get(stack.pop()!) ?? []) {
        descendants.push(c);
        stack.push(c);
      }
    }
    const tree = treeOf.get(rootKey);
    const allRight = descendants.every((d) => linkRight.get(d) === true);
    if (tree && allRight && tree.spans.length === descendants.length + 1) wholeTraces++;
  }

  const hops: HopScore[] = HOP_KINDS.map((kind) => {
    const s = scores.get(kind)!;
    return {
      kind,
      ...s,
      precision: s.predicted === 0 ? 1 : s.correct / s.predicted,
      recall: s.expected === 0 ? 1 : Math.min(1, s.correct / s.expected),
    };
  });
  return {
    hops,
    wholeTraces,
    rootsCaptured,
    wholeShare: rootsCaptured === 0 ? 0 : wholeTraces / rootsCaptured,
    capturedSpans: captured.length,
    spuriousRootParents,
  };
}
