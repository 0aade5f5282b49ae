/**
 * `node --import tsx bench/burst.ts [--quick] [--seconds N] [--rate R] [--connections C] [--rss-bound-mib M] [--port-base P] [--json FILE]`
 *
 * A sustained burst under eBPF capture: wrk (Debian) offers R requests/s
 * across C keep-alive connections (default 20,000/s over 1,000) to nginx,
 * with the real agent capturing both ends. While it runs, the agent's RSS is
 * sampled every 250 ms and /api/health and a trace search are timed every
 * 500 ms. Afterwards the requests are accounted for: what nginx served
 * (stub_status), the server spans the agent built, and the losses it counted
 * (kernel ring-buffer drops, backpressure). The shared pieces (nginx with a
 * request counter, the query prober, the RSS sampler, /metrics counts) are
 * exported for bench/soak.ts and test/reliability/burst.test.ts; the agent is
 * bench/lib/agent.ts's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentHealth } from '../backend-agent/src/model/health.js';
import { startBenchAgent, type BenchAgent } from './lib/agent.js';
import { assertPortFree, startChild, stopAll, waitForHttp, sleep } from './lib/child.js';
import { cpuSeconds, rssMiB } from './lib/proc.js';
import { fmtNum, markdownTable } from './lib/stats.js';
import { runWrk, type WrkResult } from './lib/wrk.js';
import { finishCheckedRun, optionReader } from './lib/cli.js';

// ---------------------------------------------------------------- nginx with a request counter

export interface CountedServer {
  url: string;
  port: number;
  /** Requests nginx has accepted so far (stub_status), our own status reads excluded. */
  requests(): Promise<number>;
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Debian nginx (nginx-light has stub_status), one worker as in the overhead
 * bench, enough worker connections for the burst, and no access log (its
 * writes would be the bottleneck, and the request count comes from stub_status).
 */
export async function startCountedNginx(port: number): Promise<CountedServer> {
  await assertPortFree(port);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-burst-nginx-'));
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /nginx_status { stub_status; }
    location / {
      default_type application/json;
      return 200 '{"id":42,"sku":"ABC-1234","inStock":true,"quantity":17,"warehouse":"eu-west"}';
    }
  }
}
`,
  );
  const child = startChild('nginx', ['-p', dir, '-c', conf, '-e', `${dir}/error.log`]);
  const url = `http://127.0.0.1:${port}/api/items/42`;
  await waitForHttp(url, child);
  let statusReads = 0;
  return {
    url,
    port,
    requests: async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/nginx_status`)).text();
      statusReads++;
      // "Active connections: N \n server accepts handled requests\n A H R \n..."; R counts this read too.
      const m = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
      if (!m) throw new Error(`unexpected stub_status: ${text}`);
      return Number(m[3]) - statusReads;
    },
    pids: () => [child.pid],
    stop: async () => {
      await child.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- sampling the agent

export interface LatencyStats {
  n: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function latencyStats(samples: readonly number[], failures: number): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);
  return { n: sorted.length, failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN };
}

/** The search a user would run during an incident: the latest traces of the busy service. */
export function searchPath(service: string): string {
  return `/api/traces?service=${encodeURIComponent(service)}&limit=20&lookback=1m`;
}

/**
 * Times GET /api/health (every `healthEveryMs`) and a trace search (every
 * `searchEveryMs`) in two independent loops, each request with a `timeoutMs`
 * deadline (a miss is a failure, not a long sample). Each loop waits for its
 * answer before the next request: a user does not pile up queries either.
 */
export class QueryProber {
  readonly health: number[] = [];
  readonly search: number[] = [];
  healthFailures = 0;
  searchFailures = 0;
  /** Why the first failure failed, for the report. */
  firstFailure: string | undefined;
  private running = true;
  private readonly done: Promise<void[]>;

  constructor(
    agentUrl: string,
    service: string,
    healthEveryMs = 250,
    searchEveryMs = 1000,
    private readonly timeoutMs = 10_000,
  ) {
    this.done = Promise.all([
      this.loop(`${agentUrl}/api/health`, healthEveryMs, this.health, () => this.healthFailures++, 'health'),
      this.loop(`${agentUrl}${searchPath(service)}`, searchEveryMs, this.search, () => this.searchFailures++, 'search'),
    ]);
  }

  private async timed(url: string): Promise<number | string> {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer();
      if (res.status !== 200) return `HTTP ${res.status}`;
      return performance.now() - t0;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  private async loop(url: string, everyMs: number, into: number[], failed: () => void, what: string): Promise<void> {
    while (this.running) {
      const started = performance.now();
      const r = await this.timed(url);
      if (typeof r === 'number') into.push(r);
      else {
        failed();
        this.firstFailure ??= `${what}: ${r}`;
      }
      const wait = everyMs - (performance.now() - started);
      if (wait > 0 && this.running) await sleep(wait);
    }
  }

  async stop(): Promise<{ health: LatencyStats; search: LatencyStats }> {
    this.running = false;
    await this.done;
    return { health: latencyStats(this.health, this.healthFailures), search: latencyStats(this.search, this.searchFailures) };
  }
}

/** RSS of one process every `intervalMs`: the peak and the series. */
export class RssSampler {
  readonly samples: Array<{ tMs: number; rssMiB: number }> = [];
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = performance.now();

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const r = rssMiB(this.pid);
    if (r !== undefined) this.samples.push({ tMs: performance.now() - this.t0, rssMiB: r });
  }

  get peakMiB(): number {
    return this.samples.reduce((m, s) => Math.max(m, s.rssMiB), 0);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakMiB;
  }
}

/** Sum of a counter or histogram `_count` family's samples in Prometheus text. */
export function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** HTTP spans the agent built, by side (counted before storage, whatever happens to them next). */
export async function spansBuilt(agentUrl: string): Promise<{ server: number; client: number }> {
  const text = await (await fetch(`${agentUrl}/metrics`)).text();
  return { server: sumMetric(text, 'http_server_request_duration_seconds_count'), client: sumMetric(text, 'http_client_request_duration_seconds_count') };
}

/** The loss counters of one health read, summed where they mean the same thing. */
export function lossCounters(h: AgentHealth): { kernelDataDrops: number; kernelConnDrops: number; kernelOther: number; backpressure: number; streamGaps: number; parseErrors: number } {
  const k = h.capture.kernel;
  return {
    kernelDataDrops: k.drop_ringbuf_data ?? 0,
    kernelConnDrops: k.drop_ringbuf_conn ?? 0,
    // Events the kernel side could not even produce (maps full, unreadable user memory).
    kernelOther: (k.read_user_fail ?? 0) + (k.args_map_full ?? 0) + (k.conn_map_full ?? 0),
    backpressure: h.pipeline.spansDroppedBackpressure,
    streamGaps: h.pipeline.streamGaps,
    parseErrors: Object.values(h.pipeline.parseErrors).reduce((a, b) => a + b, 0),
  };
}

function minus<T extends Record<string, number>>(after: T, before: T): T {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) out[k] = (after[k] ?? 0) - (before[k] ?? 0);
  return out as T;
}

// ---------------------------------------------------------------- the burst

export interface BurstOptions {
  seconds: number;
  rate: number;
  connections: number;
  portBase: number;
  /** Documented RSS bound the run is checked against, MiB. */
  rssBoundMiB: number;
  log: (line: string) => void;
}

export interface BurstResult {
  options: Omit<BurstOptions, 'log'>;
  wrk: WrkResult;
  /** Requests nginx accepted during the run (ground truth for the server side). */
  served: number;
  spans: { server: number; client: number };
  /** Deltas over the run. */
  losses: ReturnType<typeof lossCounters>;
  /** Served requests without a server span: each needs a counted drop to explain it. */
  missingServerSpans: number;
  rss: { baselineMiB: number; peakMiB: number; afterMiB: number; boundMiB: number };
  agentCores: number;
  queries: { health: LatencyStats; search: LatencyStats; firstFailure?: string };
  store: { spanCount: number; spansWritten: number; sizeBytes: number };
  openConnectionsPeak: number;
  /** Consistency checks: name -> [passed, detail]. */
  checks: Record<string, [boolean, string]>;
}

export async function runBurst(o: BurstOptions): Promise<BurstResult> {
  const server = await startCountedNginx(o.portBase);
  let agent: BenchAgent | undefined;
  try {
    agent = await startBenchAgent(o.portBase + 1, [server.port]);
    // Warm-up: the agent has named nginx and wrk and created its store pages.
    await runWrk({ url: server.url, seconds: 1, connections: 4, delayMs: 10 });
    const settled = await agent.drain();
    const before = { health: settled, spans: await spansBuilt(agent.url), served: await server.requests() };
    const baselineMiB = rssMiB(agent.child.pid) ?? NaN;
    const cpu0 = cpuSeconds(agent.child.pid) ?? 0;
    const t0 = performance.now();
    const rss = new RssSampler(agent.child.pid);
    const prober = new QueryProber(agent.url, 'nginx');
    let openConnectionsPeak = 0;
    const connWatch = setInterval(() => {
      void agent!
        .health()
        .then((h) => (openConnectionsPeak = Math.max(openConnectionsPeak, h.pipeline.openConnections)))
        .catch(() => undefined);
    }, 1000);
    o.log(`burst: ${fmtNum(o.rate)} req/s offered over ${o.connections} connections for ${o.seconds} s`);
    const delayMs = Math.max(1, Math.round((o.connections * 1000) / o.rate));
    let wrk: WrkResult;
    try {
      wrk = await runWrk({ url: server.url, seconds: o.seconds, connections: o.connections, threads: 2, delayMs });
    } finally {
      clearInterval(connWatch);
    }
    const agentCores = ((cpuSeconds(agent.child.pid) ?? cpu0) - cpu0) / ((performance.now() - t0) / 1000);
    // Queries keep being timed while the agent works off what the burst left.
    const after = await agent.drain();
    const queries = await prober.stop();
    const peakMiB = rss.stop();
    const served = (await server.requests()) - before.served;
    const built = await spansBuilt(agent.url);
    const spans = { server: built.server - before.spans.server, client: built.client - before.spans.client };
    const losses = minus(lossCounters(after), lossCounters(before.health));
    const missingServerSpans = served - spans.server;
    const explainedBy = losses.kernelDataDrops + losses.kernelConnDrops + losses.kernelOther;
    const checks: BurstResult['checks'] = {
      'RSS peak under the bound': [peakMiB <= o.rssBoundMiB, `${peakMiB.toFixed(0)} MiB <= ${o.rssBoundMiB} MiB`],
      'health answered every time': [queries.health.failures === 0 && queries.health.n > 0, `${queries.health.n} answered, ${queries.health.failures} failed`],
      'search answered every time': [queries.search.failures === 0 && queries.search.n > 0, `${queries.search.n} answered, ${queries.search.failures} failed`],
      'no server span without a served request': [spans.server <= served, `${fmtNum(spans.server)} server spans, ${fmtNum(served)} requests served`],
      // Each lost exchange needs at least one lost record: one request or response per DATA record here (no pipelining).
      'every missing server span explained by a counted kernel drop': [
        missingServerSpans <= explainedBy,
        `${fmtNum(missingServerSpans)} missing <= ${fmtNum(explainedBy)} kernel drops`,
      ],
      'store holds what was written': [
        after.store.spanCount - before.health.store.spanCount === after.pipeline.spansWritten - before.health.pipeline.spansWritten,
        `${fmtNum(after.store.spanCount - before.health.store.spanCount)} stored, ${fmtNum(after.pipeline.spansWritten - before.health.pipeline.spansWritten)} written`,
      ],
      'every built span written or counted as dropped': [
        spans.server + spans.client === after.pipeline.spansWritten - before.health.pipeline.spansWritten + losses.backpressure,
        `${fmtNum(spans.server + spans.client)} built = ${fmtNum(after.pipeline.spansWritten - before.health.pipeline.spansWritten)} written + ${fmtNum(losses.backpressure)} dropped`,
      ],
    };
    return {
      options: { seconds: o.seconds, rate: o.rate, connections: o.connections, portBase: o.portBase, rssBoundMiB: o.rssBoundMiB },
      wrk,
      served,
      spans,
      losses,
      missingServerSpans,
      rss: { baselineMiB, peakMiB, afterMiB: rssMiB(agent.child.pid) ?? NaN, boundMiB: o.rssBoundMiB },
      agentCores,
      queries: { ...queries, ...(prober.firstFailure ? { firstFailure: prober.firstFailure } : {}) },
      store: { spanCount: after.store.spanCount, spansWritten: after.pipeline.spansWritten, sizeBytes: after.store.sizeBytes },
      openConnectionsPeak,
      checks,
    };
  } finally {
    await agent?.stop();
    await server.stop();
  }
}

export function burstReport(r: BurstResult): string {
  const q = (s: LatencyStats): string => `${s.p50Ms.toFixed(1)} / ${s.p99Ms.toFixed(1)} / ${s.maxMs.toFixed(1)} ms (${s.n} answered, ${s.failures} failed)`;
  const lines = [
    markdownTable(
      ['offered', 'achieved (wrk)', 'served (nginx)', 'server spans', 'client spans', 'kernel DATA drops', 'kernel CONN drops', 'backpressure drops', 'stream gaps', 'agent CPU'],
      [
        [
          `${fmtNum(r.options.rate)} req/s x ${r.options.seconds} s, ${fmtNum(r.options.connections)} conns`,
          `${fmtNum(r.wrk.requests)} (${fmtNum(r.wrk.rps)}/s, ${fmtNum(r.wrk.errors)} errors)`,
          fmtNum(r.served),
          `${fmtNum(r.spans.server)} (${((100 * r.spans.server) / Math.max(1, r.served)).toFixed(1)}%)`,
          fmtNum(r.spans.client),
          fmtNum(r.losses.kernelDataDrops),
          fmtNum(r.losses.kernelConnDrops),
          fmtNum(r.losses.backpressure),
          fmtNum(r.losses.streamGaps),
          `${r.agentCores.toFixed(2)} cores`,
        ],
      ],
    ),
    '',
    `Agent RSS: baseline ${r.rss.baselineMiB.toFixed(0)} MiB, peak ${r.rss.peakMiB.toFixed(0)} MiB, after ${r.rss.afterMiB.toFixed(0)} MiB (bound ${r.rss.boundMiB} MiB); tracked connections peak ${fmtNum(r.openConnectionsPeak)}`,
    `/api/health during the burst, p50 / p99 / max: ${q(r.queries.health)}`,
    `Trace search (${searchPath('nginx')}), p50 / p99 / max: ${q(r.queries.search)}`,
    ...(r.queries.firstFailure ? [`first query failure: ${r.queries.firstFailure}`] : []),
    `Store: ${fmtNum(r.store.spanCount)} spans, ${(r.store.sizeBytes / 1048576).toFixed(1)} MiB`,
    '',
    ...Object.entries(r.checks).map(([name, [ok, detail]]) => `${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`),
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------- command line

/** The documented bound (docs/SECURITY.md, docs/BENCHMARKS.md): measured peak plus headroom. */
export const RSS_BOUND_MIB = 384;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = optionReader(args);
  const quick = args.includes('--quick');
  process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  const result = await runBurst({
    seconds: Number(value('--seconds') ?? (quick ? 10 : 30)),
    rate: Number(value('--rate') ?? 20_000),
    connections: Number(value('--connections') ?? 1000),
    portBase: Number(value('--port-base') ?? 19570),
    rssBoundMiB: Number(value('--rss-bound-mib') ?? RSS_BOUND_MIB),
    log: (l) => console.log(l),
  });
  finishCheckedRun('BURST', result, burstReport(result), value('--json'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } finally {
    await stopAll();
  }
}
