/**
 * Overhead: each service under saturating wrk load, measured without any
 * tracer, with the eBPF probes alone (loader attached, its stream thrown
 * away: the kernel-side cost), with the wiretrace agent capturing (at normal
 * and at lowered CPU priority), and (Node.js only) with the OpenTelemetry
 * SDK. Configurations of one service alternate within a round and the order
 * flips every round, so drift from other load on the machine falls on all of
 * them alike. Optionally the same at a fixed offered rate below saturation.
 */
import type { AgentHealth } from '../../backend-agent/src/model/health.js';
import { startBenchAgent, kernelDelta, drops } from '../lib/agent.js';
import { sleep, type Child } from '../lib/child.js';
import { startProbesOnly } from '../lib/probes.js';
import { ProcSampler } from '../lib/proc.js';
import { runWrk, type WrkResult } from '../lib/wrk.js';
import { startNginx, startNode, startNodeOtel, startPython, type OtelTarget, type Target } from '../lib/targets.js';

/**
 * probes: loader attached, output to /dev/null; probes-ref: the same with a
 * reference loader build (before/after a kernel-side change, side by side);
 * agent-nice: the agent at --nice N.
 */
export type Mode = 'base' | 'probes' | 'probes-ref' | 'agent' | 'agent-nice' | 'otel';

export interface RunRecord {
  service: string;
  mode: Mode;
  round: number;
  /** Paced load at this many requests/s; absent: saturating. */
  offeredRps?: number;
  /** The agent's --nice for agent modes. */
  nice?: number;
  wrk: WrkResult;
  serviceCores: number;
  agentCores?: number;
  loaderCores?: number;
  agentPeakRssMiB?: number;
  loaderPeakRssMiB?: number;
  /** Exchanges the agent ingested during the run (client and server side of each request). */
  exchanges?: number;
  spansWritten?: number;
  kernelDrops?: number;
  kernel?: Record<string, number>;
  otelSpans?: number;
  otelSinkCores?: number;
}

export interface OverheadOptions {
  seconds: number;
  rounds: number;
  connections: number;
  services: string[];
  portBase: number;
  /** Loader binary for the probes-ref mode; absent leaves the mode out. */
  refLoader?: string;
  /** Niceness of the agent-nice mode; 0 leaves the mode out. */
  agentNice: number;
  /** Paced rows at this share of the no-capture maximum, percent; 0 leaves them out. */
  fixedRatePct: number;
  /** Connections carrying the paced load. */
  fixedRateConnections: number;
  log: (line: string) => void;
}

const SERVICES: Record<string, { modes: Mode[]; start: (port: number) => Promise<Target> }> = {
  node: { modes: ['base', 'probes-ref', 'probes', 'agent', 'agent-nice', 'otel'], start: startNode },
  python: { modes: ['base', 'probes-ref', 'probes', 'agent', 'agent-nice'], start: startPython },
  nginx: { modes: ['base', 'probes-ref', 'probes', 'agent', 'agent-nice'], start: startNginx },
};
export const SERVICE_NAMES = Object.keys(SERVICES);

export async function runOverhead(o: OverheadOptions): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const agentApiPort = o.portBase + 9;
  let offset = 0;
  for (const name of o.services) {
    const spec = SERVICES[name];
    if (!spec) throw new Error(`unknown service ${name}; known: ${SERVICE_NAMES.join(', ')}`);
    const port = o.portBase + offset++;
    const target = await spec.start(port);
    let otel: OtelTarget | undefined;
    try {
      if (spec.modes.includes('otel')) otel = await startNodeOtel(o.portBase + offset++, o.portBase + offset++);
      // Untimed warm-up: JIT, worker threads, socket buffers.
      await runWrk({ url: target.url, seconds: 2, connections: o.connections });
      if (otel) await runWrk({ url: otel.url, seconds: 2, connections: o.connections });
      const modes = spec.modes.filter((m) => (m !== 'agent-nice' || o.agentNice > 0) && (m !== 'probes-ref' || o.refLoader));
      for (let round = 0; round < o.rounds; round++) {
        const order = round % 2 === 0 ? modes : [...modes].reverse();
        for (const mode of order) {
          const rec = await runMode(mode, target, otel, o, agentApiPort, undefined);
          rec.round = round;
          records.push(rec);
          o.log(`  ${name.padEnd(7)} ${mode.padEnd(10)} round ${round + 1}/${o.rounds}: ${Math.round(rec.wrk.rps)} req/s, p99 ${rec.wrk.p99Ms.toFixed(2)} ms${describeExtra(rec)}`);
        }
      }
      if (o.fixedRatePct > 0) {
        // Production runs below saturation: what a request pays there is latency and CPU, not throughput.
        const maxRps = median(records.filter((r) => r.service === name && r.mode === 'base' && r.offeredRps === undefined).map((r) => r.wrk.rps));
        const rate = Math.round((maxRps * o.fixedRatePct) / 100);
        const paced = modes.filter((m) => m !== 'otel');
        for (let round = 0; round < o.rounds; round++) {
          const order = round % 2 === 0 ? paced : [...paced].reverse();
          for (const mode of order) {
            const rec = await runMode(mode, target, otel, o, agentApiPort, rate);
            rec.round = round;
            records.push(rec);
            o.log(`  ${name.padEnd(7)} ${mode.padEnd(10)} @${rate}/s round ${round + 1}/${o.rounds}: ${Math.round(rec.wrk.rps)} req/s, p99 ${rec.wrk.p99Ms.toFixed(2)} ms${describeExtra(rec)}`);
          }
        }
      }
    } finally {
      await target.stop();
      await otel?.stop();
    }
  }
  return records;
}

function runMode(mode: Mode, t: Target, otel: OtelTarget | undefined, o: OverheadOptions, apiPort: number, rate: number | undefined): Promise<RunRecord> {
  switch (mode) {
    case 'base':
      return baseRun(t, o, rate);
    case 'probes':
      return probesRun(t, o, rate);
    case 'probes-ref':
      return probesRun(t, o, rate, o.refLoader);
    case 'agent':
      return agentRun(t, o, apiPort, 0, rate);
    case 'agent-nice':
      return agentRun(t, o, apiPort, o.agentNice, rate);
    case 'otel':
      return otelRun(otel!, o);
  }
}

/** wrk saturating, or paced at `rate` requests/s over fixedRateConnections keep-alive connections. */
function load(t: Target, o: OverheadOptions, rate: number | undefined): Promise<WrkResult> {
  if (rate === undefined) return runWrk({ url: t.url, seconds: o.seconds, connections: o.connections });
  const c = o.fixedRateConnections;
  return runWrk({ url: t.url, seconds: o.seconds, connections: c, delayMs: Math.max(1, Math.round((c * 1000) / rate)) });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function describeExtra(r: RunRecord): string {
  if (r.mode === 'probes' || r.mode === 'probes-ref') return `, loader ${r.loaderCores?.toFixed(2)} cores, kernel drops ${r.kernelDrops ?? '?'}`;
  if (r.mode === 'agent' || r.mode === 'agent-nice') {
    const share = r.exchanges !== undefined ? ((r.exchanges / (2 * r.wrk.requests)) * 100).toFixed(1) : '?';
    return `, agent ${r.agentCores?.toFixed(2)} + loader ${r.loaderCores?.toFixed(2)} cores, captured ${share}% (${r.exchanges} exchanges), kernel drops ${r.kernelDrops}`;
  }
  if (r.mode === 'otel') return `, OTel spans exported ${r.otelSpans}`;
  return '';
}

async function baseRun(t: Target, o: OverheadOptions, rate: number | undefined): Promise<RunRecord> {
  const pids = t.pids();
  const s = new ProcSampler(pids);
  const wrk = await load(t, o, rate);
  const u = s.stop();
  return { service: t.name, mode: 'base', round: 0, ...(rate ? { offeredRps: rate } : {}), wrk, serviceCores: sum(pids.map((p) => u.get(p)?.cores ?? 0)) };
}

async function probesRun(t: Target, o: OverheadOptions, rate: number | undefined, loaderBin?: string): Promise<RunRecord> {
  let loader: Child | undefined;
  try {
    loader = await startProbesOnly([t.port], loaderBin);
    await sleep(500);
    const pids = t.pids();
    const s = new ProcSampler([...pids, loader.pid]);
    const wrk = await load(t, o, rate);
    const u = s.stop();
    return {
      service: t.name,
      mode: loaderBin ? 'probes-ref' : 'probes',
      round: 0,
      ...(rate ? { offeredRps: rate } : {}),
      wrk,
      serviceCores: sum(pids.map((p) => u.get(p)?.cores ?? 0)),
      loaderCores: u.get(loader.pid)?.cores ?? 0,
      loaderPeakRssMiB: u.get(loader.pid)?.peakRssMiB ?? 0,
    };
  } finally {
    await loader?.stop();
  }
}

async function agentRun(t: Target, o: OverheadOptions, apiPort: number, nice: number, rate: number | undefined): Promise<RunRecord> {
  const agent = await startBenchAgent(apiPort, [t.port], ['--nice', String(nice)]);
  try {
    const loaderPid = await agent.loaderPid();
    // Let start-up work (store open, first /proc scans) settle before measuring.
    await sleep(500);
    const before: AgentHealth = await agent.health();
    const pids = t.pids();
    const s = new ProcSampler([...pids, agent.child.pid, ...(loaderPid ? [loaderPid] : [])]);
    const wrk = await load(t, o, rate);
    const u = s.stop();
    const after = await agent.drain();
    const k = kernelDelta(before, after);
    return {
      service: t.name,
      mode: nice > 0 ? 'agent-nice' : 'agent',
      round: 0,
      ...(rate ? { offeredRps: rate } : {}),
      nice,
      wrk,
      serviceCores: sum(pids.map((p) => u.get(p)?.cores ?? 0)),
      agentCores: u.get(agent.child.pid)?.cores ?? 0,
      loaderCores: loaderPid ? (u.get(loaderPid)?.cores ?? 0) : 0,
      agentPeakRssMiB: u.get(agent.child.pid)?.peakRssMiB ?? 0,
      loaderPeakRssMiB: loaderPid ? (u.get(loaderPid)?.peakRssMiB ?? 0) : 0,
      exchanges: after.pipeline.exchanges - before.pipeline.exchanges,
      spansWritten: after.pipeline.spansWritten - before.pipeline.spansWritten,
      kernelDrops: drops(k),
      kernel: k,
    };
  } finally {
    await agent.stop();
  }
}

async function otelRun(t: OtelTarget, o: OverheadOptions): Promise<RunRecord> {
  const before = await t.sinkStats();
  const pids = t.pids();
  const s = new ProcSampler([...pids, t.sinkPid]);
  const wrk = await runWrk({ url: t.url, seconds: o.seconds, connections: o.connections });
  const u = s.stop();
  // The batch processor exports every 500 ms; give it time to send the tail.
  await sleep(2000);
  const after = await t.sinkStats();
  return {
    service: t.name,
    mode: 'otel',
    round: 0,
    wrk,
    serviceCores: sum(pids.map((p) => u.get(p)?.cores ?? 0)),
    otelSpans: after.spans - before.spans,
    otelSinkCores: u.get(t.sinkPid)?.cores ?? 0,
  };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
