/**
 * The fidelity benchmark's scoring, on hand-made ground truth: it must
 * credit right links, and catch wrong, missing and spurious ones per hop kind
 * (otherwise a 100% from the benchmark would mean nothing).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, trueParent, type ObservedSpan, type ReconstructedTree } from '../../bench/fidelity/evaluate.js';
import type { GroundTruth } from '../../bench/fidelity/ground-truth.js';

// loadgen L1 -> nginx -> frontend; frontend makes F1 (catalog) and F2 (orders); orders makes O1 (payments).
const truth: GroundTruth = {
  proxy: true,
  roots: ['L1'],
  calls: new Map([
    ['L1', { caller: 'loadgen', parent: null, target: 'nginx' }],
    ['F1', { caller: 'frontend', parent: 'L1', target: 'catalog' }],
    ['F2', { caller: 'frontend', parent: 'L1', target: 'orders' }],
    ['O1', { caller: 'orders', parent: 'F2', target: 'payments' }],
  ]),
};
const s = (call: string, kind: 'client' | 'server', service: string): ObservedSpan => ({ call, kind, service });
const captured: ObservedSpan[] = [
  s('L1', 'client', 'loadgen'), s('L1', 'server', 'nginx'), s('L1', 'client', 'nginx'), s('L1', 'server', 'frontend'),
  s('F1', 'client', 'frontend'), s('F1', 'server', 'catalog'), s('F2', 'client', 'frontend'), s('F2', 'server', 'orders'),
  s('O1', 'client', 'orders'), s('O1', 'server', 'payments'),
];

function perfectTree(): ReconstructedTree {
  return { traceId: 't', spans: captured.map((x) => ({ ...x, parent: trueParent(truth, x) ?? null })) };
}

describe('fidelity scoring', () => {
  test('true parents: proxy hops keep the call id, the frontend\'s caller is nginx', () => {
    assert.deepEqual(trueParent(truth, s('L1', 'server', 'frontend')), s('L1', 'client', 'nginx'));
    assert.deepEqual(trueParent(truth, s('L1', 'client', 'nginx')), s('L1', 'server', 'nginx'));
    assert.deepEqual(trueParent(truth, s('L1', 'server', 'nginx')), s('L1', 'client', 'loadgen'));
    assert.deepEqual(trueParent(truth, s('O1', 'client', 'orders')), s('F2', 'server', 'orders'));
    assert.equal(trueParent(truth, s('L1', 'client', 'loadgen')), null);
  });

  test('a perfect reconstruction scores 100% everywhere and one whole trace', () => {
    const r = evaluate(truth, captured, [perfectTree()]);
    for (const h of r.hops) assert.deepEqual([h.precision, h.recall], [1, 1], h.kind);
    assert.deepEqual(r.hops.map((h) => [h.kind, h.expected]), [['rpc', 5], ['thread-per-request', 1], ['event-loop', 2], ['proxy', 1]]);
    assert.equal(r.wholeTraces, 1);
    assert.equal(r.wholeShare, 1);
  });

  test('a wrong parent lowers precision and recall of its hop kind and breaks the whole trace', () => {
    const tree = perfectTree();
    const f2 = tree.spans.find((x) => x.call === 'F2' && x.kind === 'client')!;
    f2.parent = s('F1', 'server', 'catalog');
    const r = evaluate(truth, captured, [tree]);
    const loop = r.hops.find((h) => h.kind === 'event-loop')!;
    assert.deepEqual([loop.correct, loop.predicted, loop.expected], [1, 2, 2]);
    assert.equal(loop.precision, 0.5);
    assert.equal(r.wholeTraces, 0);
  });

  test('a missing link lowers recall only; a parent given to a root is counted', () => {
    const tree = perfectTree();
    tree.spans.find((x) => x.call === 'O1' && x.kind === 'client')!.parent = null;
    tree.spans.find((x) => x.service === 'loadgen')!.parent = s('F1', 'server', 'catalog');
    const r = evaluate(truth, captured, [tree]);
    const threads = r.hops.find((h) => h.kind === 'thread-per-request')!;
    assert.deepEqual([threads.precision, threads.recall], [1, 0]);
    assert.equal(r.spuriousRootParents, 1);
  });
});
