/**
 * Fan-out over several real agents: results merge, and an agent that is
 * down, silent, or rejects the token yields an error naming it while the
 * other agents' data still comes through.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentError } from '../../../src/datasource/agents/agent-fetch.js';
import { runQuery } from '../../../src/datasource/query/run-query.js';
import { directFetch } from '../fixtures/replay-agent.js';
import { T } from '../fixtures/scenario.js';
import { deadAgent, silentAgent, startWorld, type World } from '../fixtures/world.js';

describe('fan-out over several agents (real agents, replayed capture)', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(() => world?.stop());

  test('a dead agent is named in an error; every query type still returns the live agents\' data', async () => {
    const dead = await deadAgent(2);
    const withDead = world.ctx([world.nodeA, world.nodeB, dead]);
    const healthy = world.ctx([world.nodeA, world.nodeB]);
    const queries = [
      { refId: 'A', queryType: 'trace' as const, traceId: T.t3 },
      { refId: 'A', queryType: 'search' as const },
      { refId: 'A', queryType: 'spans' as const },
      { refId: 'A', queryType: 'serviceGraph' as const },
      { refId: 'A', queryType: 'edgeMetrics' as const, metric: 'p95' as const },
    ];
    for (const q of queries) {
      const got = await runQuery(q, withDead);
      const want = await runQuery(q, healthy);
      assert.equal(got.errors.length, 1, `${q.queryType}: one error`);
      // By name, not instanceof: tests load the plugin's modules through a second (ESM) module instance.
      const err = got.errors[0] as AgentError;
      assert.equal(err.name, 'AgentError');
      assert.equal(err.agent.name, 'node-dead');
      assert.equal(err.message, 'agent node-dead: unreachable (ECONNREFUSED)');
      assert.deepEqual(
        got.frames.map((f) => f.fields.map((x) => [x.name, [...x.values]])),
        want.frames.map((f) => f.fields.map((x) => [x.name, [...x.values]])),
        `${q.queryType}: same frames as without the dead agent`,
      );
      assert.ok(got.frames.length > 0 && got.frames[0]!.length > 0, `${q.queryType}: data present`);
    }
  });

  test('a trace that only a dead agent might hold is reported as the agent error, not as "not found"', async () => {
    const { frames, errors } = await runQuery({ refId: 'A', queryType: 'trace', traceId: 'feed' }, world.ctx([world.nodeA, await deadAgent(1)]));
    assert.deepEqual(frames, []);
    assert.deepEqual(errors.map((e) => e.message), ['agent node-dead: unreachable (ECONNREFUSED)']);
  });

  test('an agent that never answers times out by name; the others are not held back past the timeout', async () => {
    const silent = await silentAgent(2);
    try {
      const ctx = { ...world.ctx([world.nodeA, world.nodeB, silent.ref]), timeoutMs: 300 };
      const started = Date.now();
      const { frames, errors } = await runQuery({ refId: 'A', queryType: 'spans' }, ctx);
      assert.ok(Date.now() - started < 3000, 'answer within the timeout (plus slack)');
      assert.deepEqual(errors.map((e) => e.message), ['agent node-silent: no answer within 300 ms']);
      assert.equal(frames[0]!.length, 7);
    } finally {
      await silent.close();
    }
  });

  test('a wrong token: HTTP 401 with a hint, per agent', async () => {
    const ctx = { ...world.ctx([world.nodeA, world.nodeB]), fetch: directFetch('wrong-token') };
    const { frames, errors } = await runQuery({ refId: 'A', queryType: 'search' }, ctx);
    assert.deepEqual(errors.map((e) => e.message), [
      'agent node-a: unauthorized (HTTP 401): check the bearer token in the data source settings',
      'agent node-b: unauthorized (HTTP 401): check the bearer token in the data source settings',
    ]);
    assert.equal(frames[0]!.length, 0);
  });

  test('no agents configured is a clear error', async () => {
    const { errors } = await runQuery({ refId: 'A', queryType: 'search' }, world.ctx([]));
    assert.match(errors[0]!.message, /no agent configured/);
  });

  test('an agent stopped mid-session: its data goes, the error names it, the other agent\'s stays', async () => {
    const before = await runQuery({ refId: 'A', queryType: 'spans' }, world.ctx([world.nodeA, world.nodeB]));
    assert.equal(before.frames[0]!.length, 7);
    await world.agentB.stop();
    const after_ = await runQuery({ refId: 'A', queryType: 'spans' }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(after_.errors.map((e) => e.message), ['agent node-b: unreachable (ECONNREFUSED)']);
    assert.equal(after_.frames[0]!.length, 5);
    assert.deepEqual(new Set(after_.frames[0]!.fields.find((f) => f.name === 'agent')!.values), new Set(['node-a']));
  });
});
