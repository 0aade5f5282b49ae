/**
 * The service map's frame reading and layout, on the frames the data source
 * itself builds (serviceGraphFrames), without a browser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { serviceGraphFrames } from '../../src/datasource/frames/service-graph-frames.js';
import { readServiceGraph, type ServiceGraph } from '../../src/panels/servicemap/graph.js';
import { callDepths, layoutGraph, NODE_H, NODE_W } from '../../src/panels/servicemap/layout.js';
import { edgeHref, edgeSeverity, nodeHref, DEFAULT_OPTIONS } from '../../src/panels/servicemap/types.js';
import type { DependencyStats } from '../../backend-agent/src/store/dependencies.js';

// @grafana/data's ESM build does not load in plain Node (see test/datasource/fixtures/grafana-data.ts): use its CommonJS build.
const { createDataFrame, FieldType } = createRequire(import.meta.url)('@grafana/data') as typeof import('@grafana/data');

const lat = (ms: number) => ({ count: 1, p50Ns: ms * 1e6, p95Ns: ms * 1e6, p99Ns: ms * 1e6 });
const dep = (parent: string, child: string, ms: number, calls = 10, errors = 0): DependencyStats => ({
  parent,
  child,
  callCount: calls,
  errorCount: errors,
  client: lat(ms),
  requestBytes: 0,
  responseBytes: 0,
});

test('readServiceGraph reads the data source frames: nodes, external peers, edge latency, rate and error ratio', () => {
  const frames = serviceGraphFrames([dep('web', 'api', 12, 60, 6), dep('api', 'db', 3, 120), dep('api', '10.0.0.9:5432', 7, 30)], { rangeSeconds: 60 });
  const r = readServiceGraph(frames);
  assert.ok(r.ok);
  assert.deepEqual(r.graph.nodes.map((n) => [n.id, n.external]), [['10.0.0.9:5432', true], ['api', false], ['db', false], ['web', false]]);
  const webApi = r.graph.edges.find((e) => e.source === 'web' && e.target === 'api')!;
  assert.equal(webApi.p95Ms, 12);
  assert.equal(webApi.ratePerSec, 1);
  assert.equal(webApi.errorRatio, 0.1);
  assert.ok(webApi.details.some(([k, v]) => k === 'Calls' && v === '60'));
  assert.equal(r.graph.edges.length, 3);
});

test('readServiceGraph explains frames that are not a service graph instead of drawing nothing', () => {
  const empty = readServiceGraph([]);
  assert.ok(!empty.ok);
  assert.match(empty.message, /No service graph data/);
  const table = createDataFrame({ name: 'traces', fields: [{ name: 'traceID', type: FieldType.string, values: ['abc'] }] });
  const other = readServiceGraph([table]);
  assert.ok(!other.ok);
  assert.match(other.message, /draws a service graph.*traces \(traceID\)/);
});

test('readServiceGraph accepts an edges frame alone (another source): nodes come from the edges', () => {
  const edges = createDataFrame({
    fields: [
      { name: 'id', type: FieldType.string, values: ['a->b'] },
      { name: 'source', type: FieldType.string, values: ['a'] },
      { name: 'target', type: FieldType.string, values: ['b'] },
    ],
  });
  const r = readServiceGraph([edges]);
  assert.ok(r.ok);
  assert.deepEqual(r.graph.nodes.map((n) => n.id), ['a', 'b']);
});

function graphOf(pairs: Array<[string, string]>): ServiceGraph {
  const ids = [...new Set(pairs.flat())].sort();
  return {
    nodes: ids.map((id) => ({ id, title: id, external: false, details: [] })),
    edges: pairs.map(([source, target]) => ({ id: `${source}->${target}`, source, target, details: [] })),
  };
}

test('call depth is the longest call chain; cycles do not loop and self-calls are ignored', () => {
  const d = callDepths(graphOf([['web', 'api'], ['api', 'db'], ['web', 'db'], ['db', 'db'], ['api', 'cache'], ['cache', 'api']]));
  assert.deepEqual(Object.fromEntries(d), { web: 0, api: 1, cache: 2, db: 2 });
  const ring = callDepths(graphOf([['a', 'b'], ['b', 'c'], ['c', 'a']]));
  assert.deepEqual(Object.fromEntries(ring), { a: 0, b: 1, c: 2 });
});

test('layout is deterministic (input order does not matter) and boxes never overlap', () => {
  const pairs: Array<[string, string]> = [['web', 'api'], ['web', 'auth'], ['api', 'db'], ['api', 'cache'], ['auth', 'db']];
  const a = layoutGraph(graphOf(pairs));
  const shuffled = graphOf([...pairs].reverse());
  shuffled.nodes.reverse();
  const b = layoutGraph(shuffled);
  assert.deepEqual([...a.positions].sort(), [...b.positions].sort());
  assert.equal(a.columns, 3);
  const boxes = [...a.positions.values()];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const p = boxes[i]!;
      const q = boxes[j]!;
      assert.ok(Math.abs(p.x - q.x) >= NODE_W || Math.abs(p.y - q.y) >= NODE_H, 'boxes overlap');
    }
});

test('edge severity takes the worse of latency and errors; edge and node links URL-encode what they carry', () => {
  assert.equal(edgeSeverity(10, 0, DEFAULT_OPTIONS), 'ok');
  assert.equal(edgeSeverity(150, 0, DEFAULT_OPTIONS), 'warn');
  assert.equal(edgeSeverity(10, 0.5, DEFAULT_OPTIONS), 'crit');
  assert.equal(edgeSeverity(undefined, undefined, DEFAULT_OPTIONS), 'unknown');
  assert.equal(edgeHref('/x?c=${client}&s=${server}', 'a b', '10.0.0.9:80'), '/x?c=a%20b&s=10.0.0.9%3A80');
  assert.equal(nodeHref(DEFAULT_OPTIONS.nodeLink, 'a&b'), '/explore?wiretrace-service=a%26b');
});

test('layout of 200 services and 1,000 edges (benchmark: time printed, not asserted)', (t) => {
  const pairs: Array<[string, string]> = [];
  const name = (i: number) => `svc-${String(i).padStart(3, '0')}`;
  // Deterministic pseudo-random DAG-ish wiring with a few back edges.
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const seen = new Set<string>();
  while (pairs.length < 1000) {
    const a = Math.floor(rnd() * 200);
    const b = Math.floor(rnd() * 200);
    if (a === b || seen.has(`${a}>${b}`)) continue;
    seen.add(`${a}>${b}`);
    pairs.push(rnd() < 0.95 ? [name(Math.min(a, b)), name(Math.max(a, b))] : [name(Math.max(a, b)), name(Math.min(a, b))]);
  }
  const graph = graphOf(pairs);
  const t0 = performance.now();
  const layout = layoutGraph(graph);
  const ms = performance.now() - t0;
  t.diagnostic(`layout 200 nodes / 1000 edges: ${ms.toFixed(1)} ms, ${layout.columns} columns`);
  assert.equal(layout.positions.size, 200);
  assert.deepEqual(layoutGraph(graph).positions, layout.positions);
});
