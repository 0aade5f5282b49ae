/**
 * Where loss begins on the live path: one agent captures the Node.js service
 * while wrk offers increasing, paced request rates, then saturating load.
 * Each step reports what the agent ingested against what wrk sent, and the
 * kernel's ring-buffer drop counters.
 */
import { startBenchAgent, kernelDelta, drops } from '../lib/agent.js';
import { ProcSampler } from '../lib/proc.js';
import { runWrk } from '../lib/wrk.js';
import { startNode } from '../lib/targets.js';

export interface LossStep {
  /** Offered rate, requests/s; undefined = unpaced (saturating). */
  offeredRps?: number;
  achievedRps: number;
  requests: number;
  seconds: number;
  exchanges: number;
  /** exchanges / (2 x requests): both sides of each request are captured. */
  capturedPct: number;
  kernelDrops: number;
  streamGaps: number;
  agentCores: number;
  loaderCores: number;
}

export interface LossOptions {
  rates: Array<number | undefined>;
  seconds: number;
  portBase: number;
  log: (line: string) => void;
}

/** Keep-alive connections that carry the paced load; the per-connection pause sets the rate. */
const CONNECTIONS = 64;

export async function runLoss(o: LossOptions): Promise<LossStep[]> {
  const target = await startNode(o.portBase);
  const agent = await startBenchAgent(o.portBase + 9, [target.port]);
  const steps: LossStep[] = [];
  try {
    const loaderPid = await agent.loaderPid();
    await runWrk({ url: target.url, seconds: 2, connections: 8, delayMs: 10 }); // warm-up
    await agent.drain();
    for (const rate of o.rates) {
      const before = await agent.health();
      const s = new ProcSampler([agent.child.pid, ...(loaderPid ? [loaderPid] : [])]);
      const wrk = await runWrk({
        url: target.url,
        seconds: o.seconds,
        connections: rate === undefined ? 32 : CONNECTIONS,
        ...(rate === undefined ? {} : { delayMs: Math.max(1, Math.round((CONNECTIONS * 1000) / rate)) }),
      });
      const u = s.stop();
      const after = await agent.drain();
      const exchanges = after.pipeline.exchanges - before.pipeline.exchanges;
      const step: LossStep = {
        ...(rate === undefined ? {} : { offeredRps: rate }),
        achievedRps: wrk.rps,
        requests: wrk.requests,
        seconds: wrk.durationSec,
        exchanges,
        capturedPct: (exchanges / (2 * wrk.requests)) * 100,
        kernelDrops: drops(kernelDelta(before, after)),
        streamGaps: after.pipeline.streamGaps - before.pipeline.streamGaps,
        agentCores: u.get(agent.child.pid)?.cores ?? 0,
        loaderCores: loaderPid ? (u.get(loaderPid)?.cores ?? 0) : 0,
      };
      steps.push(step);
      o.log(
        `  offered ${rate === undefined ? 'max' : rate} req/s: achieved ${Math.round(step.achievedRps)}, captured ${step.capturedPct.toFixed(1)}%, kernel drops ${step.kernelDrops}, agent ${step.agentCores.toFixed(2)} cores`,
      );
    }
  } finally {
    await agent.stop();
    await target.stop();
  }
  return steps;
}

/** The highest request rate with no kernel drop and every exchange captured, and the first one with loss. */
export function lossOnset(steps: LossStep[]): { lastClean?: LossStep; firstLoss?: LossStep } {
  let lastClean: LossStep | undefined;
  for (const s of steps) {
    const lossy = s.kernelDrops > 0 || s.capturedPct < 99.5;
    if (lossy) return { ...(lastClean ? { lastClean } : {}), firstLoss: s };
    lastClean = s;
  }
  return lastClean ? { lastClean } : {};
}
