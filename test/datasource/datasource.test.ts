/**
 * The Grafana glue (datasource.ts) run unchanged against real agents behind
 * an emulation of Grafana's data-source proxy that applies this plugin's
 * plugin.json routes: requests go to `<proxy>/agentNN/...`, the route adds the
 * agent URL and the bearer token (the agents require it), and answers come
 * back as Grafana's BackendSrv delivers them.
 */
import './fixtures/dom.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { DataQueryRequest, DataSourceInstanceSettings } from '@grafana/data';
import { WiretraceDataSource } from '../../src/datasource/datasource.js';
import { withAgents } from '../../src/datasource/agents/agent-settings.js';
import type { WiretraceOptions, WiretraceQuery } from '../../src/datasource/types.js';
import { freePort } from '../integration/helpers.js';
import { PROXY_PREFIX, mapTemplateSrv, proxyBackendSrv } from './fixtures/grafana-proxy.js';
import { T } from './fixtures/scenario.js';
import { TOKEN, startWorld, type World } from './fixtures/world.js';

const runtime = createRequire(import.meta.url)('@grafana/runtime') as typeof import('@grafana/runtime');
const UID = 'wt-ds';

function instance(jsonData: WiretraceOptions): DataSourceInstanceSettings<WiretraceOptions> {
  // The fields Grafana's settings carry that DataSourceApi and the plugin read.
  return {
    id: 1,
    uid: UID,
    type: 'wiretrace-agent-datasource',
    name: 'wiretrace',
    url: `${PROXY_PREFIX}${UID}`,
    access: 'proxy',
    jsonData,
    meta: { id: 'wiretrace-agent-datasource' },
    readOnly: false,
  } as unknown as DataSourceInstanceSettings<WiretraceOptions>;
}

function request(world: World, targets: WiretraceQuery[]): DataQueryRequest<WiretraceQuery> {
  const from = { valueOf: () => world.baseMs - 1000 };
  const to = { valueOf: () => world.baseMs + 1000 };
  return { targets, range: { from, to, raw: { from: '', to: '' } }, intervalMs: 100, scopedVars: {} } as unknown as DataQueryRequest<WiretraceQuery>;
}

describe('WiretraceDataSource through the emulated Grafana proxy (real agents)', () => {
  let world: World;
  let deadUrl: string;
  let jsonData: WiretraceOptions;
  before(async () => {
    world = await startWorld();
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    jsonData = withAgents({ timeout: 5 }, [
      { url: world.agentA.url, name: 'node-a' },
      { url: world.agentB.url, name: 'node-b' },
    ]);
    runtime.setBackendSrv(proxyBackendSrv({ uid: UID, jsonData, secureJsonData: { token: TOKEN } }));
    runtime.setTemplateSrv(mapTemplateSrv({ trace: T.t3, service: 'payments', edge: 'frontend->orders' }));
  });
  after(() => world?.stop());

  test('query(): several targets, template variables applied, frames tagged with their refId', async () => {
    const ds = new WiretraceDataSource(instance(jsonData));
    const res = await ds.query(
      request(world, [
        { refId: 'A', queryType: 'trace', traceId: '$trace' },
        { refId: 'B', queryType: 'search', service: '${service}' },
        { refId: 'C', queryType: 'serviceGraph', hide: true },
        { refId: 'D', queryType: 'edgeMetrics', metric: 'p95', edge: '$edge' },
      ]),
    );
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data.map((f) => [f.refId, f.name, f.length]), [
      ['A', `Trace ${T.t3}`, 2],
      ['B', 'Traces', 2],
      ['D', 'frontend → orders', 2],
    ]);
  });

  test('testDatasource(): each agent reported; the token reached the agents through the route', async () => {
    const ds = new WiretraceDataSource(instance(jsonData));
    const res = await ds.testDatasource();
    assert.equal(res.status, 'success');
    assert.equal(res.message, 'All 2 agents OK');
    assert.deepEqual(res.details, { message: 'node-a: ok, capture off, 5 spans, 0 drops\nnode-b: ok, capture off, 2 spans, 0 drops' });
  });

  test('a dead agent behind the proxy: an error naming it, per target, next to the others\' data', async () => {
    const withDead = withAgents(jsonData, [...jsonData.agents!, { url: deadUrl, name: 'node-dead' }]);
    runtime.setBackendSrv(proxyBackendSrv({ uid: UID, jsonData: withDead, secureJsonData: { token: TOKEN } }));
    try {
      const ds = new WiretraceDataSource(instance(withDead));
      const res = await ds.query(request(world, [{ refId: 'S', queryType: 'spans' }]));
      assert.deepEqual(res.errors, [{ refId: 'S', message: "agent node-dead: unreachable through Grafana's proxy (HTTP 502: Bad Gateway)" }]);
      assert.equal(res.data[0]!.length, 7);
      const health = await ds.testDatasource();
      assert.equal(health.status, 'error');
      assert.equal(health.message, '1 of 3 agents unhealthy or unreachable');
    } finally {
      runtime.setBackendSrv(proxyBackendSrv({ uid: UID, jsonData, secureJsonData: { token: TOKEN } }));
    }
  });

  test('a wrong token configured in Grafana: 401 explained', async () => {
    runtime.setBackendSrv(proxyBackendSrv({ uid: UID, jsonData, secureJsonData: { token: 'stale' } }));
    try {
      const res = await new WiretraceDataSource(instance(jsonData)).testDatasource();
      assert.equal(res.status, 'error');
      assert.match(String((res.details as { message: string }).message), /node-a: unauthorized \(HTTP 401\): check the bearer token/);
    } finally {
      runtime.setBackendSrv(proxyBackendSrv({ uid: UID, jsonData, secureJsonData: { token: TOKEN } }));
    }
  });

  test('metricFindQuery(): variable queries with variables inside', async () => {
    const ds = new WiretraceDataSource(instance(jsonData));
    assert.deepEqual((await ds.metricFindQuery('services()')).map((v) => v.text), ['frontend', 'orders', 'payments']);
    assert.deepEqual(await ds.metricFindQuery('operations($service)'), [{ text: 'POST /pay', value: 'POST /pay' }]);
  });
});
