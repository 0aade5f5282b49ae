/**
 * The real wiretrace agent with capture on, as a child process: started
 * fresh for each measured run, read through /api/health.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentHealth } from '../../backend-agent/src/model/health.js';
import { assertPortFree, REPO, startChild, waitUntil, sleep, type Child } from './child.js';

const AGENT_BIN = path.join(REPO, 'backend-agent', 'bin', 'wiretrace-agent.js');

export interface BenchAgent {
  child: Child;
  url: string;
  health(): Promise<AgentHealth>;
  loaderPid(): Promise<number | undefined>;
  /** Waits until the loader's events are all ingested and written. */
  drain(): Promise<AgentHealth>;
  stop(): Promise<void>;
}

export async function startBenchAgent(apiPort: number, capturePorts: number[], extraArgs: string[] = []): Promise<BenchAgent> {
  await assertPortFree(apiPort);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-agent-'));
  const args = [AGENT_BIN, '--db', path.join(dir, 'spans.db'), '--listen', `127.0.0.1:${apiPort}`, '--log-level', 'warn'];
  // Capture only the benchmark's ports: other engineers' traffic on this host
  // would otherwise be ingested too and charged to the benchmark.
  for (const p of capturePorts) args.push('--port', String(p));
  args.push(...extraArgs);
  const child = startChild('node', args, { cwd: REPO });
  const url = `http://127.0.0.1:${apiPort}`;
  const health = async (): Promise<AgentHealth> => (await (await fetch(`${url}/api/health`)).json()) as AgentHealth;
  await waitUntil(
    'agent capture running',
    async () => {
      if (child.proc.exitCode !== null) throw new Error(`agent exited ${child.proc.exitCode}: ${child.output()}`);
      return (await health()).capture.state === 'running' ? true : undefined;
    },
    60_000,
  );
  return {
    child,
    url,
    health,
    loaderPid: async () => (await health()).capture.loaderPid,
    drain: async () => {
      // Stable means: no new capture events and nothing left to write across
      // a full flush tick (the agent flushes once a second). STATS records
      // keep arriving every second, so eventsDecoded never settles: count
      // data and connection events only.
      const progress = (h: AgentHealth): string => `${h.pipeline.dataEvents}/${h.pipeline.connEvents}/${h.pipeline.spansWritten}`;
      let prev = await health();
      for (let i = 0; i < 40; i++) {
        await sleep(1100);
        const cur = await health();
        if (progress(cur) === progress(prev)) return cur;
        prev = cur;
      }
      return prev;
    },
    stop: async () => {
      await child.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Kernel-side loss counters worth reporting, as deltas between two health reads. */
export const DROP_COUNTERS = ['drop_ringbuf_data', 'drop_ringbuf_conn', 'read_user_fail', 'args_map_full', 'conn_map_full'] as const;

export function kernelDelta(before: AgentHealth, after: AgentHealth): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.capture.kernel)) out[k] = v - (before.capture.kernel[k] ?? 0);
  return out;
}

export function drops(delta: Record<string, number>): number {
  return (delta.drop_ringbuf_data ?? 0) + (delta.drop_ringbuf_conn ?? 0);
}
