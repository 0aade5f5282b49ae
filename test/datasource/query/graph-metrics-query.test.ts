/**
 * Service graph and Edge metrics against real agents: the nodes/edges frames
 * Grafana's Node Graph panel reads, and per-edge time series.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataFrame, Field } from '@grafana/data';
import type { DependencyStats } from '../../../backend-agent/src/store/index.js';
import { runQuery } from '../../../src/datasource/query/run-query.js';
import { FieldType, NodeGraphDataFrameFieldNames as NG } from '../fixtures/grafana-data.js';
import { native, startWorld, type World } from '../fixtures/world.js';

function field(frame: DataFrame, name: string): Field {
  const f = frame.fields.find((x) => x.name === name);
  assert.ok(f, `field ${name} in ${frame.name}`);
  return f;
}

/** Row of `frame` whose field `key` equals `value`, as name -> value. */
function row(frame: DataFrame, key: string, value: string): Record<string, unknown> {
  const i = [...field(frame, key).values].indexOf(value);
  assert.ok(i >= 0, `${key}=${value} in ${frame.name}`);
  return Object.fromEntries(frame.fields.map((f) => [f.name, f.values[i]]));
}

describe('Service graph and Edge metrics queries (real agents, replayed capture)', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(() => world?.stop());

  test('service graph: nodes and edges frames with the Node Graph field names', async () => {
    const { frames, errors } = await runQuery({ refId: 'G', queryType: 'serviceGraph' }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(errors, []);
    const [nodes, edges] = frames as [DataFrame, DataFrame];
    assert.deepEqual([nodes.name, edges.name], ['nodes', 'edges']);
    for (const f of [nodes, edges]) {
      assert.equal(f.meta?.preferredVisualisationType, 'nodeGraph');
      assert.equal(f.refId, 'G');
    }
    assert.deepEqual(nodes.fields.map((f) => [f.name, f.type]), [
      [NG.id, FieldType.string],
      [NG.title, FieldType.string],
      [NG.subTitle, FieldType.string],
      [NG.mainStat, FieldType.number],
      [NG.secondaryStat, FieldType.number],
      [`${NG.arc}success`, FieldType.number],
      [`${NG.arc}errors`, FieldType.number],
      [`${NG.detail}calls`, FieldType.number],
      [`${NG.detail}errors`, FieldType.number],
    ]);
    assert.deepEqual(edges.fields.slice(0, 5).map((f) => [f.name, f.type]), [
      [NG.id, FieldType.string],
      [NG.source, FieldType.string],
      [NG.target, FieldType.string],
      [NG.mainStat, FieldType.number],
      [NG.secondaryStat, FieldType.number],
    ]);
    assert.ok(edges.fields.slice(5).every((f) => f.name.startsWith(NG.detail)), 'the rest are details');
    assert.deepEqual(field(nodes, `${NG.arc}errors`).config.color, { mode: 'fixed', fixedColor: 'red' });
    assert.equal(field(edges, NG.mainStat).config.unit, 'ms');
    assert.equal(field(edges, NG.secondaryStat).config.unit, 'reqps');

    // Every edge's endpoints are nodes; ids are unique.
    const ids = [...field(nodes, NG.id).values] as string[];
    assert.deepEqual([...ids].sort(), ['10.0.0.1', '10.0.0.2:8082', 'frontend', 'orders', 'payments']);
    for (const end of [...field(edges, NG.source).values, ...field(edges, NG.target).values]) assert.ok(ids.includes(end as string));
    assert.equal(new Set(field(edges, NG.id).values).size, edges.length);
    // Arcs of a node that received calls sum to 1.
    for (const id of ids) {
      const n = row(nodes, NG.id, id);
      const arcs = (n[`${NG.arc}success`] as number) + (n[`${NG.arc}errors`] as number);
      assert.equal(arcs, (n[`${NG.detail}calls`] as number) > 0 ? 1 : 0, `arcs of ${id}`);
    }
  });

  test('service graph values equal the agents\' /api/v1/dependencies (2 s range)', async () => {
    const { frames } = await runQuery({ refId: 'G', queryType: 'serviceGraph' }, world.ctx([world.nodeA, world.nodeB]));
    const [nodes, edges] = frames as [DataFrame, DataFrame];
    const range = `start=${(world.baseMs - 1000) * 1000}&end=${(world.baseMs + 1000) * 1000}`;
    const deps = [
      ...(await native<{ dependencies: DependencyStats[] }>(world.agentA, `/api/v1/dependencies?${range}`)).dependencies,
      ...(await native<{ dependencies: DependencyStats[] }>(world.agentB, `/api/v1/dependencies?${range}`)).dependencies,
    ];
    assert.equal(edges.length, deps.length);
    for (const d of deps) {
      const e = row(edges, NG.id, `${d.parent}->${d.child}`);
      assert.equal(e[NG.source], d.parent);
      assert.equal(e[NG.target], d.child);
      assert.equal(e[NG.mainStat], (d.client ?? d.server)!.p95Ns / 1e6);
      assert.equal(e[NG.secondaryStat], d.callCount / 2);
      assert.equal(e[`${NG.detail}calls`], d.callCount);
      assert.equal(e[`${NG.detail}errors`], d.errorCount);
    }
    // Known values: frontend -> orders, 2 calls (one 500), caller-side p95 31 ms; orders received both.
    const fo = row(edges, NG.id, 'frontend->orders');
    assert.deepEqual([fo[NG.mainStat], fo[NG.secondaryStat], fo[`${NG.detail}error_ratio`]], [31, 1, 0.5]);
    const orders = row(nodes, NG.id, 'orders');
    assert.deepEqual([orders[NG.secondaryStat], orders[`${NG.arc}success`], orders[`${NG.arc}errors`], orders[NG.subTitle]], [1, 0.5, 0.5, 'service']);
    assert.equal(row(nodes, NG.id, '10.0.0.1')[NG.subTitle], 'peer address');
    assert.equal(row(nodes, NG.id, 'frontend')[NG.mainStat], null, 'frontend received no calls');
  });

  test('edge metrics: one series per edge, buckets of the dashboard interval, rate/ratio/latency', async () => {
    const ctx = world.ctx([world.nodeA, world.nodeB]);
    const rate = await runQuery({ refId: 'M', queryType: 'edgeMetrics', metric: 'rate' }, ctx);
    assert.deepEqual(rate.errors, []);
    assert.deepEqual(rate.frames.map((f) => f.name), ['10.0.0.1 → payments', 'frontend → 10.0.0.2:8082', 'frontend → orders']);
    const fo = rate.frames[2]!;
    assert.deepEqual(fo.fields.map((f) => [f.name, f.type]), [['time', FieldType.time], ['rate', FieldType.number]]);
    assert.deepEqual(fo.fields[1]!.labels, { source: 'frontend', target: 'orders' });
    assert.equal(fo.fields[1]!.config.unit, 'reqps');
    const times = [...fo.fields[0]!.values] as number[];
    // base − 1 s .. base + 1 s in 100 ms buckets, each rate bucket present (idle = 0).
    assert.equal(times.length, 21);
    assert.deepEqual([times[0], times[1]! - times[0]!], [world.baseMs - 1000, 100]);
    const rateAt = (ms: number) => fo.fields[1]!.values[times.indexOf(world.baseMs + ms)];
    assert.deepEqual([rateAt(0), rateAt(100), rateAt(200)], [10, 10, 0], 'one call per 100 ms bucket = 10 req/s');
    const total = ([...fo.fields[1]!.values] as number[]).reduce((a, b) => a + b, 0) * 0.1;
    assert.equal(total, 2, 'integrated rate = calls');

    const p95 = await runQuery({ refId: 'M', queryType: 'edgeMetrics', metric: 'p95' }, ctx);
    const foP95 = p95.frames.find((f) => f.name === 'frontend → orders')!;
    assert.equal(foP95.fields[1]!.config.unit, 'ms');
    assert.deepEqual([...foP95.fields[0]!.values], [world.baseMs, world.baseMs + 100]);
    assert.deepEqual([...foP95.fields[1]!.values], [3, 31]);
    const ratio = await runQuery({ refId: 'M', queryType: 'edgeMetrics', metric: 'errorRatio' }, ctx);
    assert.deepEqual([...ratio.frames.find((f) => f.name === 'frontend → orders')!.fields[1]!.values], [0, 1]);
    // Server-only edge (caller on another node): latency as the callee measured it.
    const payP95 = p95.frames.find((f) => f.name === '10.0.0.1 → payments')!;
    assert.deepEqual([...payP95.fields[1]!.values], [4.999, 3.999]);
  });

  test('edge metrics: the edge filter takes one edge or Grafana\'s multi-value {a,b} form', async () => {
    const ctx = world.ctx([world.nodeA, world.nodeB]);
    const names = async (edge: string) => (await runQuery({ refId: 'M', queryType: 'edgeMetrics', edge }, ctx)).frames.map((f) => f.name);
    assert.deepEqual(await names('frontend->orders'), ['frontend → orders']);
    assert.deepEqual(await names('{frontend->orders,10.0.0.1->payments}'), ['10.0.0.1 → payments', 'frontend → orders']);
    assert.deepEqual(await names('$__all'), ['10.0.0.1 → payments', 'frontend → 10.0.0.2:8082', 'frontend → orders']);
    assert.deepEqual(await names('nobody->nowhere'), []);
  });
});
