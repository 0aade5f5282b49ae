/** "Save & test" against real agents: one line per agent, failures named. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgents } from '../../../src/datasource/health/health-check.js';
import { directFetch } from '../fixtures/replay-agent.js';
import { TOKEN, deadAgent, startWorld, type World } from '../fixtures/world.js';

describe('health check (real agents)', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(() => world?.stop());

  test('all agents healthy: success, each reports capture state, span count and drops', async () => {
    const report = await checkAgents([world.nodeA, world.nodeB], directFetch(TOKEN), 5000);
    assert.equal(report.status, 'success');
    assert.deepEqual(report.agents, [
      { agent: 'node-a', ok: true, summary: 'ok, capture off, 5 spans, 0 drops' },
      { agent: 'node-b', ok: true, summary: 'ok, capture off, 2 spans, 0 drops' },
    ]);
    assert.equal(report.message, 'All 2 agents OK\nnode-a: ok, capture off, 5 spans, 0 drops\nnode-b: ok, capture off, 2 spans, 0 drops');
  });

  test('a dead agent and a wrong token are errors naming the agent; healthy ones still listed', async () => {
    const dead = await deadAgent(2);
    const report = await checkAgents([world.nodeA, dead], directFetch(TOKEN), 5000);
    assert.equal(report.status, 'error');
    assert.deepEqual(report.agents.map((a) => [a.agent, a.ok, a.summary]), [
      ['node-a', true, 'ok, capture off, 5 spans, 0 drops'],
      ['node-dead', false, 'unreachable (ECONNREFUSED)'],
    ]);
    assert.match(report.message, /^1 of 2 agents unhealthy or unreachable\n/);
    // /api/health needs no token: the check must still catch a wrong one.
    const wrong = await checkAgents([world.nodeA], directFetch('nope'), 5000);
    assert.equal(wrong.status, 'error');
    assert.match(wrong.agents[0]!.summary, /unauthorized \(HTTP 401\)/);
  });

  test('no agents configured', async () => {
    const report = await checkAgents([], directFetch(TOKEN), 5000);
    assert.equal(report.status, 'error');
    assert.match(report.message, /No agent configured/);
  });
});
