/** Template-variable queries: parsing, and values merged from real agents. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVariableQuery, variableValues } from '../../../src/datasource/query/variables.js';
import { directFetch } from '../fixtures/replay-agent.js';
import { TOKEN, deadAgent, startWorld, type World } from '../fixtures/world.js';

test('parseVariableQuery accepts services(), operations(SERVICE), edges()', () => {
  assert.deepEqual(parseVariableQuery(''), { kind: 'services' });
  assert.deepEqual(parseVariableQuery(' services( ) '), { kind: 'services' });
  assert.deepEqual(parseVariableQuery('operations(frontend)'), { kind: 'operations', service: 'frontend' });
  assert.deepEqual(parseVariableQuery('operations("my svc")'), { kind: 'operations', service: 'my svc' });
  assert.deepEqual(parseVariableQuery('edges()'), { kind: 'edges' });
  assert.throws(() => parseVariableQuery('operations()'), /needs a service/);
  assert.throws(() => parseVariableQuery('spans()'), /use services\(\), operations\(SERVICE\) or edges\(\)/);
});

describe('variable values from real agents', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(() => world?.stop());

  const ctx = (w: World, extra = [] as World['nodeA'][]) => ({
    agents: [w.nodeA, w.nodeB, ...extra],
    fetch: directFetch(TOKEN),
    timeoutMs: 5000,
    fromMs: w.baseMs - 1000,
    toMs: w.baseMs + 1000,
  });

  test('services and operations are merged across agents, sorted, without duplicates', async () => {
    assert.deepEqual((await variableValues({ kind: 'services' }, ctx(world))).values, ['frontend', 'orders', 'payments']);
    assert.deepEqual((await variableValues({ kind: 'operations', service: 'frontend' }, ctx(world))).values, ['GET /api/orders/{id}', 'POST /pay']);
    assert.deepEqual((await variableValues({ kind: 'operations', service: 'payments' }, ctx(world))).values, ['POST /pay']);
  });

  test('edges over the dashboard range; a dead agent is reported, not fatal', async () => {
    const { values, errors } = await variableValues({ kind: 'edges' }, ctx(world, [await deadAgent(2)]));
    assert.deepEqual(values, ['10.0.0.1->payments', 'frontend->10.0.0.2:8082', 'frontend->orders']);
    assert.deepEqual(errors.map((e) => e.message), ['agent node-dead: unreachable (ECONNREFUSED)']);
  });
});
