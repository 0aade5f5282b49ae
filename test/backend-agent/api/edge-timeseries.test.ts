/**
 * GET /api/v1/edges/timeseries: the service graph per time bucket, served by a
 * real API server over a real store seeded with the known data set.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DependencyStats, EdgeSeries } from '../../../backend-agent/src/store/index.js';
import { T0_US } from '../fixtures/spans.js';
import { MS_US, seedSpans } from '../fixtures/seed.js';
import { startTestServer, type TestServer } from '../fixtures/api-server.js';

interface TimeseriesBody {
  startUs: number;
  endUs: number;
  stepUs: number;
  edges: EdgeSeries[];
}

describe('native API /api/v1/edges/timeseries', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ spans: seedSpans(), nowUs: T0_US + 60e6 });
  });
  after(() => server.close());

  async function get<T>(path: string, status = 200): Promise<T> {
    const res = await server.get(path);
    assert.equal(res.status, status, `${path}: ${res.text}`);
    return res.json() as T;
  }

  test('buckets each edge by span start; counts per bucket add up to /api/v1/dependencies', async () => {
    const range = `start=${T0_US}&end=${T0_US + 60 * MS_US}`;
    const body = await get<TimeseriesBody>(`/api/v1/edges/timeseries?${range}&step=10ms`);
    assert.equal(body.stepUs, 10 * MS_US);
    const fo = body.edges.find((e) => e.parent === 'frontend' && e.child === 'orders')!;
    // trace 1 at T0 (ok, 2 ms) and trace 2 at T0 + 10 ms (error, 30 ms): one bucket each.
    assert.deepEqual(
      fo.points.map((p) => [p.tUs - T0_US, p.callCount, p.errorCount, p.server?.p50Ns, p.client?.count]),
      [
        [0, 1, 0, 2_000_000, 1],
        [10 * MS_US, 1, 1, 30_000_000, 1],
      ],
    );
    const deps = await get<{ dependencies: DependencyStats[] }>(`/api/v1/dependencies?${range}`);
    for (const d of deps.dependencies) {
      const series = body.edges.find((e) => e.parent === d.parent && e.child === d.child);
      assert.ok(series, `edge ${d.parent} -> ${d.child} has a series`);
      assert.equal(series.points.reduce((n, p) => n + p.callCount, 0), d.callCount);
      assert.equal(series.points.reduce((n, p) => n + p.errorCount, 0), d.errorCount);
    }
    assert.equal(body.edges.length, deps.dependencies.length);
  });

  test('one wide bucket equals the whole-range service graph; default step gives at most 60 buckets', async () => {
    const range = `start=${T0_US}&end=${T0_US + 60 * MS_US}`;
    const wide = await get<TimeseriesBody>(`/api/v1/edges/timeseries?${range}&step=1s`);
    const fo = wide.edges.find((e) => e.parent === 'frontend' && e.child === 'orders')!;
    assert.deepEqual(fo.points.map((p) => [p.callCount, p.errorCount, p.server?.p95Ns]), [[2, 1, 30_000_000]]);
    const dflt = await get<TimeseriesBody>(`/api/v1/edges/timeseries?${range}`);
    assert.ok(dflt.stepUs >= 1_000_000, 'default step is at least 1 s');
    assert.equal(dflt.startUs, T0_US);
  });

  test('bad parameters are a 400 listing each problem', async () => {
    const res = await get<{ errors: Array<{ code: number; msg: string }> }>(
      `/api/v1/edges/timeseries?start=${T0_US}&end=${T0_US + 3600e6}&step=1ms`,
      400,
    );
    assert.match(res.errors[0]!.msg, /more than 11000 buckets/);
    const bad = await get<{ errors: Array<{ msg: string }> }>(`/api/v1/edges/timeseries?step=fast`, 400);
    assert.match(bad.errors[0]!.msg, /'step'/);
  });
});
