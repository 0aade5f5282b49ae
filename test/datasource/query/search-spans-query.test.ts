/**
 * Search and Raw spans against real agents: table frames whose rows merge
 * what each agent found, with trace IDs linking to the trace query.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataFrame, Field } from '@grafana/data';
import type { TraceSummary } from '../../../backend-agent/src/api/native/trace-summary.js';
import { runQuery } from '../../../src/datasource/query/run-query.js';
import { FieldType } from '../fixtures/grafana-data.js';
import { T } from '../fixtures/scenario.js';
import { DS, native, startWorld, type World } from '../fixtures/world.js';

function field(frame: DataFrame, name: string): Field {
  const f = frame.fields.find((x) => x.name === name);
  assert.ok(f, `field ${name}`);
  return f;
}

function column(frame: DataFrame, name: string): unknown[] {
  return [...field(frame, name).values];
}

describe('Search and Raw spans queries (real agents, replayed capture)', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(() => world?.stop());

  test('search: a row per trace, newest first, merged across nodes, each linked to its trace view', async () => {
    const { frames, errors } = await runQuery({ refId: 'S', queryType: 'search' }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(errors, []);
    const frame = frames[0]!;
    assert.equal(frame.refId, 'S');
    assert.deepEqual(frame.fields.map((f) => [f.name, f.type]), [
      ['traceID', FieldType.string],
      ['traceName', FieldType.string],
      ['startTime', FieldType.time],
      ['duration', FieldType.number],
      ['spans', FieldType.number],
      ['errors', FieldType.number],
      ['services', FieldType.string],
      ['agents', FieldType.string],
    ]);
    assert.deepEqual(column(frame, 'traceID'), [T.t4, T.t3, T.t2, T.t1]);
    // The server span of T4 starts 1 µs after its request read returned.
    assert.deepEqual(column(frame, 'startTime'), [world.baseMs + 300.001, world.baseMs + 200, world.baseMs + 100, world.baseMs]);
    assert.deepEqual(column(frame, 'traceName'), [
      'payments: POST /pay',
      'frontend: POST /pay',
      'frontend: GET /api/orders/{id}',
      'frontend: GET /api/orders/{id}',
    ]);
    assert.deepEqual(column(frame, 'spans'), [1, 2, 2, 2]);
    assert.deepEqual(column(frame, 'errors'), [0, 0, 2, 0]);
    assert.deepEqual(column(frame, 'services'), ['payments', 'frontend, payments', 'frontend, orders', 'frontend, orders']);
    assert.deepEqual(column(frame, 'agents'), ['node-b', 'node-a, node-b', 'node-a', 'node-a']);
    // Durations in ms, as each agent computed them; T3's client span (node-a) encloses node-b's server span.
    const a = (await native<{ traces: TraceSummary[] }>(world.agentA, '/api/v1/traces')).traces;
    const b = (await native<{ traces: TraceSummary[] }>(world.agentB, '/api/v1/traces')).traces;
    const durationNs = (id: string) => Math.max(...[...a, ...b].filter((t) => t.traceId === id).map((t) => t.durationNs));
    assert.deepEqual(column(frame, 'duration'), [T.t4, T.t3, T.t2, T.t1].map((id) => durationNs(id) / 1e6));
    assert.deepEqual(column(frame, 'duration').slice(1), [6, 31, 3]);
    assert.equal(field(frame, 'duration').config.unit, 'ms');

    const [link] = field(frame, 'traceID').config.links!;
    assert.equal(link!.url, '');
    assert.deepEqual(link!.internal, {
      datasourceUid: DS.uid,
      datasourceName: DS.name,
      query: { refId: 'A', queryType: 'trace', traceId: '${__value.raw}' },
    });
  });

  test('a trace is summarised from the agents where one of its spans matched the filters', async () => {
    // T3 has no frontend span on node-b: its row is node-a's part; opening the trace merges both.
    const { frames } = await runQuery({ refId: 'S', queryType: 'search', service: 'frontend' }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(column(frames[0]!, 'traceID'), [T.t3, T.t2, T.t1]);
    assert.deepEqual(column(frames[0]!, 'agents'), ['node-a', 'node-a', 'node-a']);
  });

  test('search filters: status, duration, tags, operation, limit', async () => {
    const ctx = world.ctx([world.nodeA, world.nodeB]);
    const ids = async (q: Record<string, unknown>) =>
      column((await runQuery({ refId: 'S', queryType: 'search', ...q }, ctx)).frames[0]!, 'traceID');
    assert.deepEqual(await ids({ service: 'frontend', status: 'error' }), [T.t2]);
    assert.deepEqual(await ids({ service: 'frontend', minDuration: '20ms' }), [T.t2]);
    assert.deepEqual(await ids({ service: 'frontend', maxDuration: '5ms' }), [T.t1]);
    assert.deepEqual(await ids({ service: 'orders', tags: 'http.response.status_code=500' }), [T.t2]);
    assert.deepEqual(await ids({ service: 'payments' }), [T.t4, T.t3]);
    assert.deepEqual(await ids({ operation: 'POST /pay', limit: 1 }), [T.t4]);
    assert.deepEqual(await ids({ service: 'nobody' }), []);
  });

  test('a bad filter is reported per agent with the agent\'s own message', async () => {
    const { errors } = await runQuery({ refId: 'S', queryType: 'search', minDuration: 'soon' }, world.ctx([world.nodeA]));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /^agent node-a: HTTP 400: unable to parse param 'minDuration'/);
  });

  test('raw spans: every stored span of both nodes, newest first, with the agent that stored it', async () => {
    const { frames, errors } = await runQuery({ refId: 'R', queryType: 'spans' }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(errors, []);
    const frame = frames[0]!;
    assert.equal(frame.length, 7);
    assert.equal(field(frame, 'startTime').type, FieldType.time);
    const starts = column(frame, 'startTime') as number[];
    assert.deepEqual([...starts].sort((a, b) => b - a), starts, 'newest first');
    const byAgent = (column(frame, 'agent') as string[]).reduce<Record<string, number>>((n, a) => ({ ...n, [a]: (n[a] ?? 0) + 1 }), {});
    assert.deepEqual(byAgent, { 'node-a': 5, 'node-b': 2 });
    assert.deepEqual(column(frame, 'httpStatus').filter((s) => s === 500).length, 2);
    assert.equal(field(frame, 'traceID').config.links?.[0]?.internal?.query.queryType, 'trace');

    const servers = await runQuery({ refId: 'R', queryType: 'spans', kind: 'server', status: 'error' }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(column(servers.frames[0]!, 'service'), ['orders']);
    assert.deepEqual(column(servers.frames[0]!, 'duration'), [29.999]);
    const one = await runQuery({ refId: 'R', queryType: 'spans', traceId: T.t3 }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(
      column(one.frames[0]!, 'service').map((s, i) => `${String(s)}/${String(column(one.frames[0]!, 'kind')[i])}`).sort(),
      ['frontend/client', 'payments/server'],
    );
  });
});
