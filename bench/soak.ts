/**
 * `node --import tsx bench/soak.ts [--soak-minutes N] [--rate R] [--connections C] [--retention-size SIZE] [--port-base P] [--json FILE]`
 *
 * A soak: moderate steady load (default 500 requests/s over 50 keep-alive
 * connections, wrk paced) to nginx under eBPF capture for N minutes (default
 * 10), with the store's size retention low enough (default 200MB) to be
 * reached and enforced during the run. Every minute it records the agent's
 * RSS, CPU, spans stored and written, drops, store size and query latency
 * (/api/health every second, a trace search every 5 s). At the end it checks
 * that RSS and latency do not trend up: the per-minute RSS slope after the
 * first minute, and the latency of the last third of the run against the
 * first third.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopAll, sleep } from './lib/child.js';
import { cpuSeconds } from './lib/proc.js';
import { fmtNum, markdownTable } from './lib/stats.js';
import { runWrk, type WrkResult } from './lib/wrk.js';
import { QueryProber, RssSampler, lossCounters, startCountedNginx, type LatencyStats } from './burst.js';
import { startBenchAgent } from './lib/agent.js';
import { finishCheckedRun, optionReader } from './lib/cli.js';

export interface SoakOptions {
  minutes: number;
  rate: number;
  connections: number;
  retentionSize: string;
  portBase: number;
  log: (line: string) => void;
}

export interface SoakMinute {
  minute: number;
  rssMeanMiB: number;
  rssMaxMiB: number;
  agentCores: number;
  servedRequests: number;
  spansWritten: number;
  storeSpans: number;
  storeMiB: number;
  kernelDrops: number;
  backpressureDrops: number;
  health: LatencyStats;
  search: LatencyStats;
}

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  wrk: WrkResult;
  minutes: SoakMinute[];
  /** Least-squares slope of per-minute mean RSS, minutes 2..N, MiB per minute. */
  rssSlopeMiBPerMin: number;
  checks: Record<string, [boolean, string]>;
}

function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function median(xs: readonly number[]): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const server = await startCountedNginx(o.portBase);
  const agent = await startBenchAgent(o.portBase + 1, [server.port], ['--retention-size', o.retentionSize]);
  try {
    const pid = agent.child.pid;
    const delayMs = Math.max(1, Math.round((o.connections * 1000) / o.rate));
    o.log(`soak: ${fmtNum(o.rate)} req/s over ${o.connections} connections for ${o.minutes} min, retention ${o.retentionSize}`);
    // Minutes are counted from wrk's start, not chained, so time spent reading
    // figures does not push the last minute past the end of the load.
    const start = performance.now();
    const wrkDone = runWrk({ url: server.url, seconds: o.minutes * 60 + 10, connections: o.connections, threads: 1, delayMs });
    const minutes: SoakMinute[] = [];
    let prevHealth = await agent.health();
    let prevServed = await server.requests();
    for (let m = 1; m <= o.minutes; m++) {
      const cpu0 = cpuSeconds(pid) ?? 0;
      const t0 = performance.now();
      const rss = new RssSampler(pid, 1000);
      const prober = new QueryProber(agent.url, 'nginx', 1000, 5000);
      await sleep(Math.max(0, start + m * 60_000 - performance.now()));
      const q = await prober.stop();
      rss.stop();
      const h = await agent.health();
      const served = await server.requests();
      const lossNow = lossCounters(h);
      const lossBefore = lossCounters(prevHealth);
      const minute: SoakMinute = {
        minute: m,
        rssMeanMiB: rss.samples.reduce((a, s) => a + s.rssMiB, 0) / Math.max(1, rss.samples.length),
        rssMaxMiB: rss.peakMiB,
        agentCores: ((cpuSeconds(pid) ?? cpu0) - cpu0) / ((performance.now() - t0) / 1000),
        servedRequests: served - prevServed,
        spansWritten: h.pipeline.spansWritten - prevHealth.pipeline.spansWritten,
        storeSpans: h.store.spanCount,
        storeMiB: h.store.sizeBytes / 1048576,
        kernelDrops: lossNow.kernelDataDrops + lossNow.kernelConnDrops - lossBefore.kernelDataDrops - lossBefore.kernelConnDrops,
        backpressureDrops: lossNow.backpressure - lossBefore.backpressure,
        health: q.health,
        search: q.search,
      };
      minutes.push(minute);
      o.log(
        `minute ${m}: RSS ${minute.rssMeanMiB.toFixed(0)} (max ${minute.rssMaxMiB.toFixed(0)}) MiB, CPU ${minute.agentCores.toFixed(2)}, ` +
          `${fmtNum(minute.servedRequests)} served, ${fmtNum(minute.spansWritten)} spans written, store ${fmtNum(minute.storeSpans)} spans ${minute.storeMiB.toFixed(0)} MiB, ` +
          `drops ${minute.kernelDrops}+${minute.backpressureDrops}, health p50 ${q.health.p50Ms.toFixed(1)} ms, search p50 ${q.search.p50Ms.toFixed(1)} ms`,
      );
      prevHealth = h;
      prevServed = served;
    }
    const wrk = await wrkDone;
    // Minute 1 warms up (heap growth to its working size, store pages); trends are judged after it.
    const steady = minutes.slice(1);
    const rssSlope = slope(steady.map((m) => m.rssMeanMiB));
    const third = Math.max(1, Math.floor(steady.length / 3));
    const early = steady.slice(0, third);
    const late = steady.slice(-third);
    const p50 = (ms: SoakMinute[], which: 'health' | 'search'): number => median(ms.map((m) => m[which].p50Ms));
    // Tails too: a stall once a minute (a long synchronous pass) leaves the median alone.
    const p99 = (ms: SoakMinute[], which: 'health' | 'search'): number => median(ms.map((m) => m[which].p99Ms));
    const failures = minutes.reduce((a, m) => a + m.health.failures + m.search.failures, 0);
    const checks: SoakResult['checks'] = {
      'RSS does not trend up (slope after minute 1 <= 1 MiB/min)': [rssSlope <= 1, `${rssSlope.toFixed(2)} MiB/min`],
      'RSS at the end within 16 MiB of minute 2': [
        (steady[steady.length - 1]?.rssMeanMiB ?? NaN) <= (steady[0]?.rssMeanMiB ?? NaN) + 16,
        `${steady[0]?.rssMeanMiB.toFixed(0)} -> ${steady[steady.length - 1]?.rssMeanMiB.toFixed(0)} MiB`,
      ],
      'health latency does not trend up (last third p50 <= 1.5 x first third + 10 ms)': [
        p50(late, 'health') <= 1.5 * p50(early, 'health') + 10,
        `${p50(early, 'health').toFixed(1)} -> ${p50(late, 'health').toFixed(1)} ms`,
      ],
      'search latency does not trend up (last third p50 <= 1.5 x first third + 10 ms)': [
        p50(late, 'search') <= 1.5 * p50(early, 'search') + 10,
        `${p50(early, 'search').toFixed(1)} -> ${p50(late, 'search').toFixed(1)} ms`,
      ],
      'health p99 does not trend up (last third <= 2 x first third + 200 ms)': [
        p99(late, 'health') <= 2 * p99(early, 'health') + 200,
        `${p99(early, 'health').toFixed(0)} -> ${p99(late, 'health').toFixed(0)} ms`,
      ],
      'search p99 does not trend up (last third <= 2 x first third + 200 ms)': [
        p99(late, 'search') <= 2 * p99(early, 'search') + 200,
        `${p99(early, 'search').toFixed(0)} -> ${p99(late, 'search').toFixed(0)} ms`,
      ],
      'every query answered': [failures === 0, `${failures} failed`],
    };
    return {
      options: { minutes: o.minutes, rate: o.rate, connections: o.connections, retentionSize: o.retentionSize, portBase: o.portBase },
      wrk,
      minutes,
      rssSlopeMiBPerMin: rssSlope,
      checks,
    };
  } finally {
    await agent.stop();
    await server.stop();
  }
}

export function soakReport(r: SoakResult): string {
  const table = markdownTable(
    ['min', 'RSS mean (max) MiB', 'agent CPU', 'served req', 'spans written', 'store spans', 'store MiB', 'kernel drops', 'backpressure drops', 'health p50 / p99 ms', 'search p50 / p99 ms'],
    r.minutes.map((m) => [
      String(m.minute),
      `${m.rssMeanMiB.toFixed(0)} (${m.rssMaxMiB.toFixed(0)})`,
      m.agentCores.toFixed(2),
      fmtNum(m.servedRequests),
      fmtNum(m.spansWritten),
      fmtNum(m.storeSpans),
      m.storeMiB.toFixed(0),
      fmtNum(m.kernelDrops),
      fmtNum(m.backpressureDrops),
      `${m.health.p50Ms.toFixed(1)} / ${m.health.p99Ms.toFixed(1)}`,
      `${m.search.p50Ms.toFixed(1)} / ${m.search.p99Ms.toFixed(1)}`,
    ]),
  );
  return [
    table,
    '',
    `wrk: ${fmtNum(r.wrk.requests)} requests, ${fmtNum(r.wrk.rps)}/s, ${fmtNum(r.wrk.errors)} errors, p99 ${r.wrk.p99Ms.toFixed(1)} ms`,
    `RSS slope after minute 1: ${r.rssSlopeMiBPerMin.toFixed(2)} MiB/min`,
    ...Object.entries(r.checks).map(([name, [ok, detail]]) => `${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = optionReader(args);
  process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  const minutes = Number(value('--soak-minutes') ?? 10);
  if (!Number.isInteger(minutes) || minutes < 2) throw new Error('--soak-minutes must be a whole number of at least 2');
  const result = await runSoak({
    minutes,
    rate: Number(value('--rate') ?? 500),
    connections: Number(value('--connections') ?? 50),
    retentionSize: value('--retention-size') ?? '200MB',
    portBase: Number(value('--port-base') ?? 19580),
    log: (l) => console.log(l),
  });
  finishCheckedRun('SOAK', result, soakReport(result), value('--json'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } finally {
    await stopAll();
  }
}
