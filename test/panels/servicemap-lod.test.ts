/**
 * The service map's pure level-of-detail and keyboard helpers: label
 * placement by importance without overlaps at constant screen size, more
 * labels as the zoom grows, stability, and the directional nearest service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { readServiceGraph } from '../../src/panels/servicemap/graph.js';
import { COL_GAP, labelPoint, layoutGraph, NODE_H, NODE_W } from '../../src/panels/servicemap/layout.js';
import { estimateWidth, fitText, importance, levelOfDetail, placeLabels, withLabelWidths, type LodInput } from '../../src/panels/servicemap/labels.js';
import { firstSpot, nearestInDirection, type Spot } from '../../src/panels/servicemap/keyboard.js';
import { edgeAria, edgeLabel, nodeAria } from '../../src/panels/servicemap/describe.js';
import { fitView, interimTransform, layoutAspect, renderedView, REPLACE_FACTOR, settleLabels, wheelZoomAt, zoomAt, type View } from '../../src/panels/servicemap/viewport.js';
import { syntheticGraphFrames } from '../../src/preview/synthetic.js';

let cached: { graph: import('../../src/panels/servicemap/graph.js').ServiceGraph; layout: ReturnType<typeof layoutGraph> } | undefined;
function bigMap() {
  if (cached) return cached;
  const r = readServiceGraph(syntheticGraphFrames(200, 1000));
  assert.ok(r.ok);
  const layout = layoutGraph(r.graph);
  cached = { graph: r.graph, layout };
  return cached;
}

function lodInput(k: number, pinned: string[] = [], primary?: string): LodInput {
  const { graph, layout } = bigMap();
  return {
    nodes: graph.nodes.map((n) => ({ id: n.id, ...layout.positions.get(n.id)!, title: n.title, ratePerSec: n.ratePerSec, errorRatio: n.errorRatio })),
    edges: graph.edges.map((e) => {
      const at = labelPoint(layout.routes.get(e.id)!);
      return { id: e.id, x: at.x, y: at.y, lines: edgeLabel(e), ratePerSec: e.ratePerSec, errorRatio: e.errorRatio, room: COL_GAP };
    }),
    nodeW: NODE_W,
    nodeH: NODE_H,
    k,
    pinned: new Set(pinned),
    primary,
    errorWarnRatio: 0.01,
    errorCritRatio: 0.05,
    showEdgeLabels: true,
    measure: estimateWidth,
  };
}

test('placeLabels keeps the most important of two overlapping labels, respects obstacles and the gap', () => {
  const a = { id: 'a', x: 0, y: 0, w: 40, h: 10, priority: 1 };
  const b = { id: 'b', x: 20, y: 5, w: 40, h: 10, priority: 2 };
  const c = { id: 'c', x: 200, y: 0, w: 40, h: 10, priority: 0 };
  assert.deepEqual([...placeLabels([a, b, c])].sort(), ['b', 'c']);
  assert.deepEqual([...placeLabels([a, c], [{ ...c, id: 'wall' }])], ['a']);
  // 2 px apart: kept without a gap, dropped with a 3 px gap.
  const d = { id: 'd', x: 42, y: 0, w: 40, h: 10, priority: 0 };
  assert.equal(placeLabels([a, d]).size, 2);
  assert.equal(placeLabels([a, d], [], 3).size, 1);
});

test('importance: pinned over critical errors over warnings over traffic; small rate changes do not reorder', () => {
  assert.ok(importance(1, 0, true, 0.01, 0.05) > importance(1e6, 0.5, false, 0.01, 0.05));
  assert.ok(importance(0.1, 0.06, false, 0.01, 0.05) > importance(1e6, 0.02, false, 0.01, 0.05));
  assert.ok(importance(0.1, 0.02, false, 0.01, 0.05) > importance(1e6, 0, false, 0.01, 0.05));
  assert.ok(importance(100, 0, false, 0.01, 0.05) > importance(10, 0, false, 0.01, 0.05));
  assert.equal(importance(100, 0, false, 0.01, 0.05), importance(101, 0, false, 0.01, 0.05));
});

test('fitText shortens long names with an ellipsis to the width asked', () => {
  assert.equal(fitText('orders', 100, 12, estimateWidth), 'orders');
  const s = fitText('a-very-long-service-name-indeed', 80, 12, estimateWidth);
  assert.match(s, /…$/);
  assert.ok(estimateWidth(s, 12) <= 80);
});

test('200 services at the fitted view: labels at 12 px without overlaps, most important first, more as the zoom grows (times printed)', (t) => {
  const { layout } = bigMap();
  const fit = fitView(layout.width, layout.height + NODE_H, 1248, 612);
  const counts: string[] = [];
  let last = -1;
  for (const k of [fit.k, fit.k * 1.5, fit.k * 2.25, fit.k * 3.4, 1]) {
    const inp = lodInput(k);
    const t0 = performance.now();
    const lod = levelOfDetail(inp);
    const ms = performance.now() - t0;
    counts.push(`k=${k.toFixed(3)}: ${lod.nodes.size} nodes, ${lod.edges.size} edges labelled (${ms.toFixed(1)} ms)`);
    assert.ok(lod.nodes.size >= last, `more or as many labels when zooming in (${lod.nodes.size} < ${last})`);
    last = lod.nodes.size;
    if (lod.nodeMode === 'compact') {
      // The boxes the placement kept, in screen px, do not overlap.
      const boxes = inp.nodes
        .filter((n) => lod.nodes.has(n.id))
        .map((n) => {
          const l = lod.nodes.get(n.id)!;
          const w = estimateWidth(l.text, 12, true) + 6;
          const shift = l.side === 'centre' ? 0 : (l.side === 'right' ? 1 : -1) * ((NODE_W * k) / 2 + 3 + w / 2);
          return { x: (n.x + NODE_W / 2) * k + shift, y: (n.y + NODE_H / 2) * k, w };
        });
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, b] = [boxes[i]!, boxes[j]!];
          assert.ok(Math.abs(a.x - b.x) * 2 >= a.w + b.w || Math.abs(a.y - b.y) >= 16, 'no two node labels overlap');
        }
    }
  }
  t.diagnostic(counts.join('; '));
  const atFit = levelOfDetail(lodInput(fit.k));
  assert.equal(atFit.nodeMode, 'compact');
  assert.ok(atFit.nodes.size >= 40, `${atFit.nodes.size} labelled at fit`);
  assert.ok(atFit.nodes.size < 200);
  // At full size every service shows its card.
  assert.equal(levelOfDetail(lodInput(1)).nodeMode, 'full');
  assert.equal(levelOfDetail(lodInput(1)).nodes.size, 200);
  // Edge labels appear only where they fit: none at fit (a gap of a few px), some at full size.
  assert.equal(atFit.edges.size, 0);
  assert.ok(levelOfDetail(lodInput(1)).edges.size > 20);
});

test('laid out for the panel (1248 x 612) as the panel does: more services named at fit than with one column per tier (printed)', (t) => {
  const { graph, layout: tiers } = bigMap();
  const layout = layoutGraph(graph, { aspect: layoutAspect(1248, 612 - 28) });
  const named = (l: typeof layout) => {
    const k = fitView(l.width, l.height + NODE_H, 1248, 612 - 28).k;
    const inp = lodInput(k);
    const nodes = graph.nodes.map((n) => ({ id: n.id, ...l.positions.get(n.id)!, title: n.title, ratePerSec: n.ratePerSec, errorRatio: n.errorRatio }));
    return { k, lod: levelOfDetail({ ...inp, nodes }) };
  };
  const [before, after] = [named(tiers), named(layout)];
  t.diagnostic(`services named at fit: ${after.lod.nodes.size} at ${(after.k * 100).toFixed(1)}% (one column per tier: ${before.lod.nodes.size} at ${(before.k * 100).toFixed(1)}%)`);
  assert.equal(after.lod.nodeMode, 'compact');
  assert.ok(after.lod.nodes.size >= 1.5 * before.lod.nodes.size, `${after.lod.nodes.size} vs ${before.lod.nodes.size}`);
});

test('widths measured once per graph (withLabelWidths) place exactly the labels that measuring at each zoom places', () => {
  const inp = lodInput(0.25);
  let calls = 0;
  const counting = (text: string, px: number, bold?: boolean) => (calls++, estimateWidth(text, px, bold));
  const pre = withLabelWidths(inp.nodes, inp.edges, counting);
  const before = calls;
  for (const k of [0.25, 0.5, 1.2]) {
    const a = levelOfDetail({ ...inp, k, measure: counting, nodes: pre.nodes, edges: pre.edges });
    const b = levelOfDetail({ ...inp, k });
    assert.deepEqual([...a.nodes], [...b.nodes]);
    assert.deepEqual([...a.edges], [...b.edges]);
  }
  // Compact names and edge labels are not measured again; only full cards' lines may be.
  assert.equal(calls, before);
});

test('wheel zoom keeps the rendering (drawing and labels) until the zoom has moved by more than REPLACE_FACTOR, shown meanwhile by a CSS transform that maps it exactly onto the view', () => {
  let v: View = { k: 0.2, x: 0, y: 0 };
  const renderedAt: number[] = [];
  for (let i = 0; i < 8; i++) {
    v = wheelZoomAt(v, 1.15, 600, 300);
    const r = renderedView(v);
    renderedAt.push(r.k);
    // Labels are drawn at most REPLACE_FACTOR larger or smaller than their constant size.
    assert.ok(Math.max(v.k / r.k, r.k / v.k) <= REPLACE_FACTOR + 1e-9);
    // The interim CSS transform takes a drawing point where the view puts it.
    const css = interimTransform(v);
    const d = { x: 1234, y: 567 };
    const at = { x: r.x + d.x * r.k, y: r.y + d.y * r.k };
    if (css === undefined) assert.deepEqual(r, { k: v.k, x: v.x, y: v.y });
    else {
      const [tx, ty, s] = (/translate\((.+)px, (.+)px\) scale\((.+)\)/.exec(css) ?? []).slice(1).map(Number) as [number, number, number];
      assert.ok(Math.abs(at.x * s + tx - (v.x + d.x * v.k)) < 1e-6 && Math.abs(at.y * s + ty - (v.y + d.y * v.k)) < 1e-6, css);
    }
  }
  const distinct = new Set(renderedAt).size;
  assert.ok(distinct >= 2 && distinct <= 4, `rendered at ${distinct} zooms over 8 wheel steps`);
  // The view itself zooms exactly as a plain zoom would.
  const plain = zoomAt({ k: 0.2, x: 0, y: 0 }, 1.15 ** 8, 600, 300);
  assert.ok(Math.abs(plain.k - v.k) < 1e-9 && Math.abs(plain.x - v.x) < 1e-6);
  const rested = settleLabels(v);
  assert.deepEqual(renderedView(rested), { k: v.k, x: v.x, y: v.y });
  assert.equal(interimTransform(rested), undefined);
  // Buttons and keys zoom without the gesture: rendered at once.
  assert.equal(interimTransform(zoomAt(v, 1.25, 0, 0)), undefined);
});

test('level of detail is stable (same input, same labels) and a pinned service is always labelled', () => {
  const { layout } = bigMap();
  const k = fitView(layout.width, layout.height + NODE_H, 1248, 612).k;
  const a = levelOfDetail(lodInput(k));
  const b = levelOfDetail(lodInput(k));
  assert.deepEqual([...a.nodes], [...b.nodes]);
  const unlabelled = lodInput(k).nodes.find((n) => !a.nodes.has(n.id))!;
  assert.ok(unlabelled, 'some service is unlabelled at fit');
  assert.ok(levelOfDetail(lodInput(k, [unlabelled.id])).nodes.has(unlabelled.id));
  // The hovered service wins even over pinned neighbours placed on top of it.
  const inp = lodInput(k);
  const near = inp.nodes.filter((n) => n.id !== unlabelled.id && Math.abs(n.x - unlabelled.x) < 1 && Math.abs(n.y - unlabelled.y) < 200).map((n) => n.id);
  const lod = levelOfDetail(lodInput(k, [unlabelled.id, ...near], unlabelled.id));
  assert.ok(lod.nodes.has(unlabelled.id));
});

test('a refresh with rates a little different (±2%) labels nearly the same services (count printed)', (t) => {
  const { layout } = bigMap();
  const k = fitView(layout.width, layout.height + NODE_H, 1248, 612).k;
  const base = levelOfDetail(lodInput(k));
  let seed = 11;
  const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const jittered = lodInput(k);
  const next = levelOfDetail({ ...jittered, nodes: jittered.nodes.map((n) => ({ ...n, ratePerSec: n.ratePerSec === undefined ? undefined : n.ratePerSec * (0.98 + 0.04 * rnd()) })) });
  const changed = [...base.nodes.keys()].filter((id) => !next.nodes.has(id)).length + [...next.nodes.keys()].filter((id) => !base.nodes.has(id)).length;
  t.diagnostic(`labels at fit: ${base.nodes.size} before, ${next.nodes.size} after the refresh; ${changed} services gained or lost their label`);
  assert.ok(changed <= Math.ceil(base.nodes.size * 0.2), `${changed} labels changed`);
});

test('nearestInDirection: straight ahead beats closer but sideways; nothing that way gives undefined', () => {
  const spots: Spot[] = [
    { id: 'c', x: 0, y: 0 },
    { id: 'right-far', x: 100, y: 0 },
    { id: 'right-diag', x: 60, y: 50 },
    { id: 'up', x: 5, y: -40 },
    { id: 'down', x: -5, y: 40 },
  ];
  const from = spots[0]!;
  assert.equal(nearestInDirection(from, spots, 'right'), 'right-far');
  assert.equal(nearestInDirection(from, spots, 'up'), 'up');
  assert.equal(nearestInDirection(from, spots, 'down'), 'down');
  assert.equal(nearestInDirection(from, spots, 'left'), 'down');
  assert.equal(nearestInDirection(spots[1]!, spots, 'right'), undefined);
  // Ties by id.
  assert.equal(nearestInDirection(from, [from, { id: 'b', x: 10, y: 5 }, { id: 'a', x: 10, y: -5 }], 'right'), 'a');
  assert.equal(firstSpot(spots), 'down');
});

test('aria-labels summarise rate, error ratio and p95', () => {
  const { graph } = bigMap();
  const n = graph.nodes.find((x) => !x.external && x.p95Ms !== undefined)!;
  assert.match(nodeAria(n), /rate .+\/s, error ratio [\d.]+%, p95 [\d.]+ (ms|s)/);
  const e = graph.edges[0]!;
  assert.match(edgeAria(e), new RegExp(`^Calls from ${e.source} to ${e.target}: rate .+, error ratio .+, p95 .+`));
});

test('names stay within the drawing: none is placed left of the first column or right of the last', () => {
  const { layout } = bigMap();
  const k = 0.25;
  const inp = { ...lodInput(k), width: layout.width };
  const lod = levelOfDetail(inp);
  let checked = 0;
  for (const n of inp.nodes) {
    const l = lod.nodes.get(n.id);
    if (!l) continue;
    const w = estimateWidth(l.text, 12, true) + 6;
    const cx = (n.x + NODE_W / 2) * k + (l.side === 'centre' ? (l.dx ?? 0) : (l.side === 'right' ? 1 : -1) * ((NODE_W * k) / 2 + 3 + w / 2));
    // A centred name moved inward still covers its box.
    if (l.side === 'centre') assert.ok(Math.abs(l.dx ?? 0) < w / 2 + (NODE_W * k) / 2, `${n.id} name slid off its box`);
    assert.ok(cx - w / 2 >= 0 && cx + w / 2 <= layout.width * k, `${n.id} label at ${cx} (${l.side})`);
    checked++;
  }
  assert.ok(checked > 50, `${checked} names checked`);
});

test('an edge whose whole label does not fit its gap shows its p95 alone; one whose p95 does not fit either shows none', () => {
  const measure = estimateWidth;
  const lines: [string, string] = ['p95 3.1 ms', '2.0/s · 1% err · http/1.1 · net 0.2 ms'];
  const short = measure(lines[0], 11) + 6;
  const full = Math.max(short, measure(lines[1], 11) + 6);
  const edge = (id: string, y: number, room: number) => ({ id, x: 500, y, lines, room });
  const lod = levelOfDetail({
    nodes: [],
    edges: [edge('roomy', 0, full + 10), edge('narrow', 200, (short + full) / 2), edge('tight', 400, short - 5)],
    nodeW: NODE_W,
    nodeH: NODE_H,
    k: 1,
    pinned: new Set(),
    errorWarnRatio: 0.01,
    errorCritRatio: 0.05,
    showEdgeLabels: true,
    measure,
  });
  assert.deepEqual([...lod.edges].sort(), ['narrow', 'roomy']);
  assert.deepEqual([...lod.edgesShort], ['narrow']);
});
