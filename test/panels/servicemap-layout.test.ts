/**
 * The service map's layout at the sizes it must handle (200 services, 1,000
 * calls), on the synthetic graph the preview page also draws: deterministic,
 * no overlapping boxes, no edge passing behind a box, stable when a service
 * is added; layout times printed (a benchmark, not asserted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { readServiceGraph, type ServiceGraph } from '../../src/panels/servicemap/graph.js';
import { layoutGraph, NODE_H, NODE_W, sampleRoute, type Layout } from '../../src/panels/servicemap/layout.js';
import { fitView, layoutAspect } from '../../src/panels/servicemap/viewport.js';
import { syntheticGraphFrames } from '../../src/preview/synthetic.js';
import { placeLabels } from '../../src/panels/servicemap/labels.js';

function synthetic(nodes: number, edges: number): ServiceGraph {
  const r = readServiceGraph(syntheticGraphFrames(nodes, edges));
  assert.ok(r.ok, 'r.ok');
  return r.graph;
}

/** The random DAG of the first benchmark (servicemap.test.ts): long edges everywhere, a worst case for routing. */
function randomDag(): ServiceGraph {
  const name = (i: number) => `svc-${String(i).padStart(3, '0')}`;
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  while (pairs.length < 1000) {
    const a = Math.floor(rnd() * 200);
    const b = Math.floor(rnd() * 200);
    if (a === b || seen.has(`${a}>${b}`)) continue;
    seen.add(`${a}>${b}`);
    pairs.push(rnd() < 0.95 ? [name(Math.min(a, b)), name(Math.max(a, b))] : [name(Math.max(a, b)), name(Math.min(a, b))]);
  }
  const ids = [...new Set(pairs.flat())].sort();
  return {
    nodes: ids.map((id) => ({ id, title: id, external: false, details: [] })),
    edges: pairs.map(([source, target]) => ({ id: `${source}->${target}`, source, target, details: [] })),
  };
}

function assertNoOverlaps(layout: Layout): void {
  const boxes = [...layout.positions.values()];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const p = boxes[i]!;
      const q = boxes[j]!;
      assert.ok(Math.abs(p.x - q.x) >= NODE_W || Math.abs(p.y - q.y) >= NODE_H, `boxes overlap at ${p.x},${p.y}`);
    }
}

/** Samples every route and checks no sample lies inside a box other than the edge's own ends. Returns the samples checked. */
function assertEdgesAvoidBoxes(graph: ServiceGraph, layout: Layout): number {
  const byColumn = new Map<number, Array<{ id: string; y: number }>>();
  for (const [id, p] of layout.positions) (byColumn.get(p.x) ?? byColumn.set(p.x, []).get(p.x)!).push({ id, y: p.y });
  const columns = [...byColumn.keys()].sort((a, b) => a - b);
  let checked = 0;
  for (const e of graph.edges) {
    const route = layout.routes.get(e.id);
    assert.ok(route, `route of ${e.id}`);
    if (route.self) continue;
    for (const s of sampleRoute(route)) {
      checked++;
      // Strictly inside (1 px inset): touching the side of a box at a port is where an edge should end.
      const col = columns.find((x) => s.x > x + 1 && s.x < x + NODE_W - 1);
      if (col === undefined) continue;
      for (const b of byColumn.get(col)!) {
        if (b.id === e.source || b.id === e.target) continue;
        assert.ok(!(s.y > b.y + 1 && s.y < b.y + NODE_H - 1), `edge ${e.id} passes behind ${b.id} at (${s.x.toFixed(0)}, ${s.y.toFixed(0)})`);
      }
    }
  }
  return checked;
}

/** Pairs of edge segments that cross in the gaps between columns. */
function crossings(l: Layout): number {
  const gaps = new Map<number, Array<[number, number]>>();
  for (const r of l.routes.values()) {
    if (r.self || r.sameColumn) continue;
    for (let i = 0; i + 1 < r.points.length; i += 2) (gaps.get(r.points[i]!.x) ?? gaps.set(r.points[i]!.x, []).get(r.points[i]!.x)!).push([r.points[i]!.y, r.points[i + 1]!.y]);
  }
  let c = 0;
  for (const segs of gaps.values())
    for (let i = 0; i < segs.length; i++) for (let j = i + 1; j < segs.length; j++) if ((segs[i]![0] - segs[j]![0]) * (segs[i]![1] - segs[j]![1]) < 0) c++;
  return c;
}

test('200 services / 1,000 calls (tiered, with cycles and external peers): layout time printed, no overlaps, no edge behind a box', (t) => {
  const graph = synthetic(200, 1000);
  assert.equal(graph.nodes.length, 200);
  assert.equal(graph.edges.length, 1000);
  const t0 = performance.now();
  const layout = layoutGraph(graph);
  const ms = performance.now() - t0;
  t.diagnostic(`layout 200 nodes / 1000 edges (tiered): ${ms.toFixed(1)} ms, ${layout.columns} columns, ${layout.width.toFixed(0)} x ${layout.height.toFixed(0)} px`);
  assert.equal(layout.positions.size, 200);
  assertNoOverlaps(layout);
  const samples = assertEdgesAvoidBoxes(graph, layout);
  t.diagnostic(`checked ${samples} route samples against every box`);
  assert.ok(samples > 1000 * 16, 'samples > 1000 * 16');
  assert.ok([...layout.routes.values()].some((r) => r.reversed), 'calls back up a tier are routed (reversed), not dropped');
  t.diagnostic(`edge crossings between columns: ${crossings(layout)}`);
});

test('the random-DAG worst case (long edges across many columns) also keeps every edge out of every box', (t) => {
  const graph = randomDag();
  const t0 = performance.now();
  const layout = layoutGraph(graph);
  const ms = performance.now() - t0;
  t.diagnostic(`layout 200 nodes / 1000 edges (random DAG): ${ms.toFixed(1)} ms, ${layout.columns} columns, ${layout.width.toFixed(0)} x ${layout.height.toFixed(0)} px`);
  assertNoOverlaps(layout);
  assertEdgesAvoidBoxes(graph, layout);
});

test('the same graph in any input order gets the same positions and routes', () => {
  const graph = synthetic(200, 1000);
  const a = layoutGraph(graph);
  const shuffled: ServiceGraph = { nodes: [...graph.nodes].reverse(), edges: [...graph.edges].reverse() };
  const b = layoutGraph(shuffled);
  assert.deepEqual(b.positions, a.positions);
  assert.deepEqual(b.routes, a.routes);
});

/** `graph` plus a new leaf service called by one mid-tier service. */
function withNewLeaf(graph: ServiceGraph): ServiceGraph {
  const caller = graph.nodes.find((n) => n.id.startsWith('t2-'))!.id;
  return {
    nodes: [...graph.nodes, { id: 't3-svc-new', title: 't3-svc-new', external: false, details: [] }],
    edges: [...graph.edges, { id: `${caller}->t3-svc-new`, source: caller, target: 't3-svc-new', details: [] }],
  };
}

/** How far each service of `before` moved up or down in `after`, ascending; none may change column. */
function verticalMoves(before: Layout, after: Layout): number[] {
  const moves: number[] = [];
  for (const [id, p] of before.positions) {
    const q = after.positions.get(id)!;
    assert.equal(q.x, p.x, `${id} changed column`);
    moves.push(Math.abs(q.y - p.y));
  }
  return moves.sort((x, y) => x - y);
}

test('adding one service moves the others little (printed), and none changes column', (t) => {
  const graph = synthetic(200, 1000);
  const before = layoutGraph(graph);
  const after = layoutGraph(withNewLeaf(graph));
  const moves = verticalMoves(before, after);
  const median = moves[Math.floor(moves.length / 2)]!;
  const p90 = moves[Math.floor(moves.length * 0.9)]!;
  const unmoved = moves.filter((m) => m < 1).length;
  t.diagnostic(`after adding one service: median move ${median.toFixed(1)} px, p90 ${p90.toFixed(1)} px, ${unmoved}/200 did not move, map height ${before.height.toFixed(0)} px`);
  // Less than one box height for the typical service, and most keep their rank in their column: the map does not reshuffle.
  assert.ok(median < NODE_H, `median move ${median}`);
  const rank = (l: Layout) => {
    const byX = new Map<number, Array<[string, number]>>();
    for (const [id, p] of l.positions) (byX.get(p.x) ?? byX.set(p.x, []).get(p.x)!).push([id, p.y]);
    const m = new Map<string, number>();
    for (const list of byX.values()) list.sort((a, b) => a[1] - b[1]).forEach(([id], i) => m.set(id, i));
    return m;
  };
  const ra = rank(before);
  const rb = rank(after);
  const reranked = [...ra].filter(([id, k]) => rb.get(id) !== k).length;
  t.diagnostic(`${reranked}/200 services changed rank within their column`);
  assert.ok(reranked <= 40, `${reranked} services changed rank`);
});

/** The map panel of the browser tests: 1248 x 612 with a 28 px toolbar. */
const PANEL = { w: 1248, h: 612 - 28 };

test('laid out for a wide panel: the fitted map fills its width, is 2x+ larger than one-column-per-tier, and keeps every guarantee (times printed)', (t) => {
  const graph = synthetic(200, 1000);
  const aspect = layoutAspect(PANEL.w, PANEL.h);
  const tiers = layoutGraph(graph);
  const t0 = performance.now();
  const wide = layoutGraph(graph, { aspect });
  const ms = performance.now() - t0;
  const fitOf = (l: Layout) => fitView(l.width, l.height + NODE_H, PANEL.w, PANEL.h);
  const [a, b] = [fitOf(tiers), fitOf(wide)];
  const share = (l: Layout, k: number) => `${((100 * l.width * k) / PANEL.w).toFixed(0)}% x ${((100 * (l.height + NODE_H) * k) / PANEL.h).toFixed(0)}%`;
  t.diagnostic(
    `aspect ${aspect.toFixed(2)}: layout ${ms.toFixed(1)} ms, ${wide.columns} columns, ${wide.width.toFixed(0)} x ${wide.height.toFixed(0)} (was ${tiers.width.toFixed(0)} x ${tiers.height.toFixed(0)}); ` +
      `fitted zoom ${(b.k * 100).toFixed(1)}% (was ${(a.k * 100).toFixed(1)}%), fills ${share(wide, b.k)} of the panel (was ${share(tiers, a.k)})`,
  );
  assert.equal(wide.columns, tiers.columns, 'columns stay the call tiers');
  assert.ok(b.k >= 2 * a.k, `fitted zoom ${b.k} vs ${a.k}`);
  assert.ok(wide.width * b.k >= 0.9 * (PANEL.w - 16), 'the fitted map uses at least 90% of the panel width');
  assertNoOverlaps(wide);
  assertEdgesAvoidBoxes(graph, wide);
  t.diagnostic(`edge crossings between columns: ${crossings(wide)} (was ${crossings(tiers)})`);
  // Deterministic, whatever the input order.
  const again = layoutGraph({ nodes: [...graph.nodes].reverse(), edges: [...graph.edges].reverse() }, { aspect });
  assert.deepEqual(again.positions, wide.positions);
  assert.deepEqual(again.routes, wide.routes);
  // A square or tall panel gets a taller map (never taller than one column per tier wants, up to the bound).
  const square = layoutGraph(graph, { aspect: 1 });
  assert.ok(square.height > wide.height);
  assertNoOverlaps(square);
});

test('laid out for a wide panel: rates do not move anything, adding a service changes no column and moves the others little (printed)', (t) => {
  const graph = synthetic(200, 1000);
  const aspect = layoutAspect(PANEL.w, PANEL.h);
  const before = layoutGraph(graph, { aspect });
  const rerated: ServiceGraph = {
    nodes: graph.nodes.map((n) => ({ ...n, ratePerSec: (n.ratePerSec ?? 1) * 1.07 })),
    edges: graph.edges.map((e) => ({ ...e, ratePerSec: (e.ratePerSec ?? 1) * 0.93, p95Ms: (e.p95Ms ?? 1) * 1.1 })),
  };
  assert.deepEqual(layoutGraph(rerated, { aspect }).positions, before.positions);
  const after = layoutGraph(withNewLeaf(graph), { aspect });
  const moves = verticalMoves(before, after);
  const median = moves[Math.floor(moves.length / 2)]!;
  t.diagnostic(`after adding one service: median move ${median.toFixed(1)} px, p90 ${moves[Math.floor(moves.length * 0.9)]!.toFixed(1)} px`);
  assert.ok(median < NODE_H, `median move ${median}`);
});

test('label decluttering: placed labels never overlap, the busiest edge wins, separate labels all stay', () => {
  const box = (id: string, x: number, y: number, priority: number) => ({ id, x, y, w: 60, h: 28, priority });
  assert.deepEqual([...placeLabels([box('a', 0, 0, 1), box('b', 200, 0, 1), box('c', 0, 100, 1)])].sort(), ['a', 'b', 'c']);
  assert.deepEqual([...placeLabels([box('quiet', 0, 0, 1), box('busy', 20, 10, 9)])], ['busy']);
  const graph = synthetic(200, 1000);
  const layout = layoutGraph(graph);
  const many = graph.edges.map((e, i) => ({ id: e.id, x: (i % 37) * 45, y: Math.floor(i / 37) * 20, w: 90, h: 28, priority: e.ratePerSec ?? 0 }));
  const placed = many.filter((b) => placeLabels(many).has(b.id));
  for (let i = 0; i < placed.length; i++)
    for (let j = i + 1; j < placed.length; j++) {
      const [a, b] = [placed[i]!, placed[j]!];
      assert.ok(!(Math.abs(a.x - b.x) * 2 < a.w + b.w && a.y < b.y + b.h && b.y < a.y + a.h), `${a.id} overlaps ${b.id}`);
    }
  assert.ok(placed.length > 0 && placed.length < many.length, `${placed.length} placed`);
  assert.ok(layout.routes.size === 1000, 'routes for every edge');
});
