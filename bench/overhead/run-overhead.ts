/**
 * Overhead: each service under saturating wrk load, measured without any
 * tracer, with the wiretrace agent capturing, and (Node.js only) with the
 * OpenTelemetry SDK. Configurations of one service alternate within a round
 * and the order flips every round, so drift from other load on the machine
 * falls on all of them alike.
 */
import type { AgentHealth } from '../../backend-agent/src/model/health.js';
import { startBenchAgent, kernelDelta, drops } from '../lib/agent.js';
import { sleep } from '../lib/child.js';
import { ProcSampler } from '../lib/proc.js';
import { runWrk, type WrkResult } from '../lib/wrk.js';
import { startNginx, startNode, startNodeOtel, startPython, type OtelTarget, type Target } from '../lib/targets.js';

export type Mode = 'base' | 'agent' | 'otel';

export interface RunRecord {
  service: string;
  mode: Mode;
  round: number;
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
  log: (line: string) => void;
}

const SERVICES: Record<string, { modes: Mode[]; start: (port: number) => Promise<Target> }> = {
  node: { modes: ['base', 'agent', 'otel'], start: startNode },
  python: { modes: ['base', 'agent'], start: startPython },
  nginx: { modes: ['base', 'agent'], start: startNginx },
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
      for (let round = 0; round < o.rounds; round++) {
        const modes = round % 2 === 0 ? spec.modes : [...spec.modes].reverse();
        for (const mode of modes) {
          const rec =
            mode === 'base'
              ? await baseRun(target, o)
              : mode === 'agent'
                ? await agentRun(target, o, agentApiPort)
                : await otelRun(otel!, o);
          rec.round = round;
          records.push(rec);
          o.log(`  ${name.padEnd(7)} ${mode.padEnd(6)} round ${round + 1}/${o.rounds}: ${Math.round(rec.wrk.rps)} req/s, p99 ${rec.wrk.p99Ms.toFixed(2)} ms${describeExtra(rec)}`);
        }
      }
    } finally {
      await target.stop();
      await otel?.stop();
    }
  }
  return records;
}

function describeExtra(r: RunRecord): string {
  if (r.mode === 'agent') {
    const share = r.exchanges !== undefined ? ((r.exchanges / (2 * r.wrk.requests)) * 100).toFixed(1) : '?';
    return `, agent ${r.agentCores?.toFixed(2)} + loader ${r.loaderCores?.toFixed(2)} cores, captured ${share}% (${r.exchanges} exchanges), kernel drops ${r.kernelDrops}`;
  }
  if (r.mode === 'otel') return `, OTel spans exported ${r.otelSpans}`;
  return '';
}

async function baseRun(t: Target, o: OverheadOptions): Promise<RunRecord> {
  const pids = t.pids();
  const s = new ProcSampler(pids);
  const wrk = await runWrk({ url: t.url, seconds: o.seconds, connections: o.connections });
  const u = s.stop();
  return { service: t.name, mode: 'base', round: 0, wrk, serviceCores: sum(pids.map((p) => u.get(p)?.cores ?? 0)) };
}

async function agentRun(t: Target, o: OverheadOptions, apiPort: number): Promise<RunRecord> {
  const agent = await startBenchAgent(apiPort, [t.port]);
  try {
    const loaderPid = await agent.loaderPid();
    // Let start-up work (store open, first /proc scans) settle before measuring.
    await sleep(500);
    const before: AgentHealth = await agent.health();
    const pids = t.pids();
    const s = new ProcSampler([...pids, agent.child.pid, ...(loaderPid ? [loaderPid] : [])]);
    const wrk = await runWrk({ url: t.url, seconds: o.seconds, connections: o.connections });
    const u = s.stop();
    const after = await agent.drain();
    const k = kernelDelta(before, after);
    return {
      service: t.name,
      mode: 'agent',
      round: 0,
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
