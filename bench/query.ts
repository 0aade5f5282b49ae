/**
 * `node --import tsx bench/query.ts [--quick|--tiny] [--sizes 1000000,10000000] [--rate N] [--dir D] [--json FILE]`
 * `node --import tsx bench/query.ts --store FILE` times the same queries on an existing store
 * built by this bench (e.g. one whose build was stopped part way).
 *
 * Query latency over stores built through the real ingest path
 * (query/fixture.ts; cached under --dir, default /tmp/wt-perf/query-fixtures,
 * keyed by schema version). Each query runs on a read-only connection, as a
 * second process or the API would, after a warm-up; p50/p99 over random
 * targets (trace ids that exist, one-hour windows inside the data), and the
 * CPU time each query used (mean and p99), which a loaded machine inflates
 * far less than wall time.
 */
import fs from 'node:fs';
import { openStore, type SpanStore } from '../backend-agent/src/store/index.js';
import { loadAssembledTraces, loadReconstructedTrace } from '../backend-agent/src/api/traces.js';
import { buildFixture, SERVICES, traceIdOf, type FixtureMeta } from './query/fixture.js';
import { fmtNum, markdownTable } from './lib/stats.js';
import { optionReader } from './lib/cli.js';

const args = process.argv.slice(2);
const value = optionReader(args);
const mode = args.includes('--tiny') ? 'tiny' : args.includes('--quick') ? 'quick' : 'full';
const sizes = (value('--sizes') ?? { tiny: '10000', quick: '200000', full: '1000000,10000000' }[mode]).split(',').map(Number);
// ~116 spans/s: 10M spans are one day of a busy node; an hour holds ~417k spans at any store size.
const rate = Number(value('--rate') ?? 116);
const dir = value('--dir') ?? '/tmp/wt-perf/query-fixtures';
const samples = mode === 'tiny' ? 10 : 200;
const heavySamples = mode === 'tiny' ? 3 : 30;
// Through the API a trace takes ~1 ms and a search ~10: enough samples that p99 is not just the worst one.
const traceApiSamples = mode === 'tiny' ? 10 : 1000;
const searchApiSamples = mode === 'tiny' ? 10 : 200;
const HOUR_US = 3600e6;

export interface QueryLatency {
  query: string;
  n: number;
  p50Ms: number;
  p99Ms: number;
  /** Rows or items the query returned (median), to show it did real work. */
  resultSize: number;
  /** Mean CPU time of this process per query, ms: less sensitive to a loaded machine than wall time. */
  cpuMs: number;
  /** p99 of each query's own CPU time (user + system), ms: the tail without time spent waiting for a core. */
  cpuP99Ms: number;
}

/** Nearest-rank percentile. */
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function measure(query: string, n: number, run: (i: number) => number): QueryLatency {
  // Warm-up on targets the measured part never uses (i >= n): JIT compilation and a
  // cold process's first reads are a fresh process's cost, not a running server's.
  const warmUp = Math.min(200, Math.max(5, Math.floor(n / 5)));
  for (let i = 0; i < warmUp; i++) run(n + i);
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    sizes.push(run(i));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpuTimes.push((c.user + c.system) / 1000);
  }
  const cpuMs = cpuTimes.reduce((a, b) => a + b, 0) / n;
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  sizes.sort((a, b) => a - b);
  return { query, n, p50Ms: pct(times, 50), p99Ms: pct(times, 99), resultSize: sizes[sizes.length >> 1]!, cpuMs, cpuP99Ms: pct(cpuTimes, 99) };
}

/** A pseudo-random sequence, fixed so runs are comparable. */
function rand(i: number): number {
  return ((Math.imul(i + 1, 2654435761) >>> 0) % 1_000_003) / 1_000_003;
}

function runQueries(store: SpanStore, meta: FixtureMeta): QueryLatency[] {
  const requests = Math.ceil(meta.spans / 2);
  const hourAt = (i: number): [number, number] => {
    const span = Math.max(0, meta.lastUs - meta.firstUs - HOUR_US);
    const start = meta.firstUs + Math.floor(rand(i) * span);
    return [start, start + Math.min(HOUR_US, meta.lastUs - meta.firstUs)];
  };
  return [
    measure('trace by id (store)', samples, (i) => store.getTrace(traceIdOf(Math.floor(rand(i) * requests))).length),
    measure('trace by id (API, reconstructed)', traceApiSamples, (i) => loadReconstructedTrace(store, traceIdOf(Math.floor(rand(i) * requests)))?.spans.length ?? 0),
    measure('search: service + 1 h + limit 20 (store)', samples, (i) => {
      const [a, b] = hourAt(i);
      return store.findTraces({ service: SERVICES[i % SERVICES.length]!, startUs: a, endUs: b, limit: 20 }).length;
    }),
    measure('search: service + 1 h + limit 20 (API, 20 trees)', searchApiSamples, (i) => {
      const [a, b] = hourAt(i);
      return loadAssembledTraces(store, store.findTraces({ service: SERVICES[i % SERVICES.length]!, startUs: a, endUs: b, limit: 20 })).length;
    }),
    measure('service graph, 1 h (counts: /api/dependencies)', heavySamples, (i) => store.dependencies(...hourAt(i)).length),
    measure('service graph, 1 h (+latency: /api/v1/dependencies)', Math.min(heavySamples, 10), (i) => store.dependencyStats(...hourAt(i)).length),
    measure('edge metrics, 1 h, 1 min step', Math.min(heavySamples, 10), (i) => {
      const [a, b] = hourAt(i);
      return store.edgeTimeseries(a, b, 60e6).reduce((n, e) => n + e.points.length, 0);
    }),
  ];
}

export interface QueryResult {
  size: number;
  meta: FixtureMeta;
  built: boolean;
  latencies: QueryLatency[];
}

// Exit (and so run the fixture's exit cleanup) on Ctrl-C or kill.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const results: QueryResult[] = [];
const existing = value('--store');
if (existing) {
  // Stopped part way, a fixture store is still valid: every committed batch is whole.
  const store = openStore({ path: existing, retention: {}, readonly: true });
  try {
    const st = store.stats();
    const meta: FixtureMeta = { spans: st.spanCount, spansPerSec: rate, firstUs: st.oldestStartTimeUs ?? 0, lastUs: st.newestStartTimeUs ?? 0, buildSeconds: NaN, buildCpuSeconds: NaN, fileBytes: fs.statSync(existing).size };
    console.log(`\nQuery latency on ${existing}: ${fmtNum(meta.spans)} spans over ${fmtNum((meta.lastUs - meta.firstUs) / HOUR_US, 1)} h, ${fmtNum(meta.fileBytes / 2 ** 20)} MiB`);
    const latencies = runQueries(store, meta);
    results.push({ size: meta.spans, meta, built: false, latencies });
    console.log(markdownTable(['query', 'n', 'p50 ms', 'p99 ms', 'CPU ms mean / p99', 'result (median)'], latencies.map((l) => [l.query, String(l.n), fmtNum(l.p50Ms, 2), fmtNum(l.p99Ms, 2), `${fmtNum(l.cpuMs, 2)} / ${fmtNum(l.cpuP99Ms, 2)}`, fmtNum(l.resultSize)])));
  } finally {
    store.close();
  }
  sizes.length = 0;
}
if (sizes.length) console.log(`\nQuery latency (stores built through decoder -> pipeline -> SQLite at ${rate} spans/s of traffic time, 6 services, 8 edges; cached in ${dir})`);
for (const size of sizes) {
  const fixture = await buildFixture(dir, size, rate, (l) => console.log(l));
  const m = fixture.meta;
  console.log(
    `${fmtNum(m.spans)} spans over ${(m.lastUs - m.firstUs) / HOUR_US < 1 ? `${fmtNum((m.lastUs - m.firstUs) / 60e6, 1)} min` : `${fmtNum((m.lastUs - m.firstUs) / HOUR_US, 1)} h`}, ${fmtNum(m.fileBytes / 2 ** 20)} MiB; ` +
      `${fixture.built ? 'built now' : 'cached, built'} in ${fmtNum(m.buildSeconds)} s wall / ${fmtNum(m.buildCpuSeconds)} CPU-s (${fmtNum(m.spans / m.buildCpuSeconds)} spans/CPU-s)`,
  );
  const store = openStore({ path: fixture.path, retention: {}, readonly: true });
  try {
    const latencies = runQueries(store, m);
    results.push({ size, meta: m, built: fixture.built, latencies });
    console.log(
      markdownTable(
        ['query', 'n', 'p50 ms', 'p99 ms', 'CPU ms mean / p99', 'result (median)'],
        latencies.map((l) => [l.query, String(l.n), fmtNum(l.p50Ms, 2), fmtNum(l.p99Ms, 2), `${fmtNum(l.cpuMs, 2)} / ${fmtNum(l.cpuP99Ms, 2)}`, fmtNum(l.resultSize)]),
      ),
    );
  } finally {
    store.close();
  }
}
const json = value('--json');
if (json) fs.writeFileSync(json, `${JSON.stringify({ mode, rate, results }, null, 2)}\n`);
console.log(`QUERY_JSON ${JSON.stringify({ mode, rate, results })}`);
