/**
 * `node --import tsx bench/memory.ts [--quick|--tiny] [--cases 1000x2,10000x2,10000x1] [--rounds N] [--port P] [--node-flags "--max-semi-space-size=2"] [--agent-args "--heap-growth 0"] [--json FILE]`
 *
 * Agent CPU and resident memory with N concurrent keep-alive connections
 * open. The real agent (backend-agent/bin, built dist) runs with
 * `--capture-pipe FIFO`, and this script writes a loader stream into the
 * FIFO through the real framing (`encode`): N connections opened, then
 * `rounds` requests on every connection, with kernel timestamps that follow
 * the wall clock, connections left open. A case `NxS` has N connections seen
 * from S sides: x2 = client and server both on this host (loopback, 2N
 * tracked sockets), x1 = only the server side here (remote clients, N
 * sockets), the usual shape of "N keep-alive connections to a service". eBPF-driven 10k connections
 * would need 10k real sockets and a service that holds them on this shared
 * 2-core box; the synthetic stream exercises the same decoder, tracker,
 * parsers, span writer and store the live path does.
 *
 * --node-flags passes V8/Node flags to the agent's node (not to this script),
 * to measure what a flag such as a smaller young generation does to RSS and CPU;
 * --agent-args adds agent options (e.g. `--heap-growth 0`: V8's own heap sizing).
 * bench/memory-heap.ts breaks the per-connection part down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { encode } from '../backend-agent/src/capture/framing.js';
import type { AgentHealth } from '../backend-agent/src/model/health.js';
import { benchConnection, openEvents, roundEvents, type BenchConnection } from './memory/stream.js';
import { REPO, startChild, stopAll, waitUntil, sleep } from './lib/child.js';
import { cpuSeconds, rssMiB } from './lib/proc.js';
import { fmtNum, markdownTable } from './lib/stats.js';
import { optionReader } from './lib/cli.js';

const args = process.argv.slice(2);
const value = optionReader(args);
const mode = args.includes('--tiny') ? 'tiny' : args.includes('--quick') ? 'quick' : 'full';
const cases = (value('--cases') ?? (mode === 'tiny' ? '100x2' : '1000x2,10000x2,10000x1')).split(',').map((c) => {
  const [n, sides] = c.split('x').map(Number);
  return { connections: n!, sides: sides === 1 ? 1 : 2 };
});
const rounds = Number(value('--rounds') ?? (mode === 'full' ? 5 : 2));
const port = Number(value('--port') ?? 19545);
const nodeFlags = (value('--node-flags') ?? '').split(' ').filter(Boolean);
const agentArgs = (value('--agent-args') ?? '').split(' ').filter(Boolean);
const AGENT_BIN = path.join(REPO, 'backend-agent', 'bin', 'wiretrace-agent.js');

export interface MemoryResult {
  connections: number;
  /** 2: both ends on this host; 1: only the server side. */
  sides: number;
  trackedSockets: number;
  /** Sockets the tracker forgot to stay under its cap (their exchanges so far were kept). */
  evictedSockets: number;
  exchanges: number;
  baselineRssMiB: number;
  /** RSS with every connection open, after the traffic settled. */
  openRssMiB: number;
  peakRssMiB: number;
  agentCpuSec: number;
  exchangesPerCpuSec: number;
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const CLIENT = { pid: process.pid, comm: 'memclient' };
const SERVER = { pid: process.ppid, comm: 'memserver' };

async function runOne(connections: number, sides: number): Promise<MemoryResult> {
  const dir = fs.mkdtempSync('/tmp/wt-perf-memory-');
  const fifo = path.join(dir, 'capture.fifo');
  execFileSync('mkfifo', [fifo]);
  const url = `http://127.0.0.1:${port}`;
  const agent = startChild('node', [...nodeFlags, AGENT_BIN, '--capture-pipe', fifo, '--db', path.join(dir, 'spans.db'), '--listen', `127.0.0.1:${port}`, '--log-level', 'warn', ...agentArgs], { cwd: REPO });
  const health = async (): Promise<AgentHealth> => (await (await fetch(`${url}/api/health`)).json()) as AgentHealth;
  try {
    await waitUntil('agent API', async () => {
      if (agent.proc.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
      return (await health().catch(() => undefined)) ? true : undefined;
    });
    await sleep(500);
    const baselineRssMiB = rssMiB(agent.pid) ?? NaN;
    const cpu0 = cpuSeconds(agent.pid) ?? 0;

    const out = fs.createWriteStream(fifo);
    const write = async (b: Buffer): Promise<void> => {
      if (!out.write(b)) await once(out, 'drain');
    };
    const hr0 = process.hrtime.bigint();
    const startNs = 1_000_000_000n;
    const now = (): bigint => startNs + (process.hrtime.bigint() - hr0);
    await write(Buffer.concat([encode.preamble(), encode.hello({ realtimeOffsetNs: BigInt(Date.now()) * 1_000_000n - startNs, loaderPid: 1, maxPayload: 4096, ncpus: 2, kernelRelease: 'synthetic' })]));

    const pos = new Map<bigint, bigint>();
    const conns: BenchConnection[] = [];
    let batch: Buffer[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length) await write(Buffer.concat(batch));
      batch = [];
    };
    for (let i = 0; i < connections; i++) {
      const conn = benchConnection(i);
      conns.push(conn);
      batch.push(...openEvents(now(), conn, sides, CLIENT, SERVER));
      if (batch.length >= 2000) await flush();
    }
    await flush();
    for (let r = 0; r < rounds; r++) {
      for (const conn of conns) {
        batch.push(...roundEvents(now(), pos, conn, sides, CLIENT, SERVER));
        if (batch.length >= 4000) await flush();
      }
      await flush();
    }
    const expected = sides * connections * rounds;
    // Connections stay open: the FIFO stays open too (closing it is a loader exit).
    const settled = await waitUntil(
      'every exchange written',
      async () => {
        const h = await health();
        return h.pipeline.spansWritten >= expected ? h : undefined;
      },
      180_000,
    );
    const agentCpuSec = (cpuSeconds(agent.pid) ?? cpu0) - cpu0;
    await sleep(1500); // a flush tick and GC with everything open
    const openRssMiB = rssMiB(agent.pid) ?? NaN;
    const last = await health();
    const result: MemoryResult = {
      connections,
      sides,
      trackedSockets: last.pipeline.openConnections,
      evictedSockets: last.pipeline.connectionsEvicted ?? 0,
      exchanges: settled.pipeline.exchanges,
      baselineRssMiB,
      openRssMiB,
      peakRssMiB: peakRss(agent.pid),
      agentCpuSec,
      exchangesPerCpuSec: settled.pipeline.exchanges / agentCpuSec,
    };
    out.destroy();
    return result;
  } finally {
    await agent.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));
console.log(`\nAgent memory and CPU with N keep-alive connections open (real agent${nodeFlags.length ? ` with ${nodeFlags.join(' ')}` : ''}${agentArgs.length ? `, agent ${agentArgs.join(' ')}` : ''}, --capture-pipe, synthetic loader stream; ${rounds} request(s) per connection)`);
const results: MemoryResult[] = [];
try {
  for (const c of cases) results.push(await runOne(c.connections, c.sides));
} finally {
  await stopAll();
}
console.log(
  markdownTable(
    ['connections', 'ends on this host', 'tracked sockets', 'evicted', 'exchanges', 'RSS idle (MiB)', 'RSS with N open (MiB)', 'peak RSS (MiB)', 'agent CPU-s', 'exchanges/CPU-s'],
    results.map((r) => [fmtNum(r.connections), r.sides === 2 ? 'both (loopback)' : 'server only', fmtNum(r.trackedSockets), fmtNum(r.evictedSockets), fmtNum(r.exchanges), fmtNum(r.baselineRssMiB), fmtNum(r.openRssMiB), fmtNum(r.peakRssMiB), fmtNum(r.agentCpuSec, 2), fmtNum(r.exchangesPerCpuSec)]),
  ),
);
const json = value('--json');
if (json) fs.writeFileSync(json, `${JSON.stringify({ mode, rounds, nodeFlags, agentArgs, results }, null, 2)}\n`);
console.log(`MEMORY_JSON ${JSON.stringify({ mode, rounds, nodeFlags, agentArgs, results })}`);
