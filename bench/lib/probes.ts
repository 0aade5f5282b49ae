/**
 * The eBPF loader alone, its stream thrown away: what the probes cost the
 * traced processes (and the loader copying the ring buffers out) with no
 * agent parsing anything. The same filters as the agent's loader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO, startChild, waitUntil, type Child } from './child.js';

export const LOADER_BIN = path.join(REPO, 'bpf', 'wiretrace-loader');
/** The agent's default payload prefix (backend-agent/src/config.ts). */
const AGENT_MAX_PAYLOAD = 4096;

export async function startProbesOnly(capturePorts: number[], loaderBin = LOADER_BIN, maxPayload = AGENT_MAX_PAYLOAD): Promise<Child> {
  const args = ['--max-payload', String(maxPayload)];
  for (const p of capturePorts) args.push('--port', String(p));
  const devNull = fs.openSync('/dev/null', 'w');
  let child: Child;
  try {
    child = startChild(loaderBin, args, { stdio: ['ignore', devNull, 'pipe'] });
  } finally {
    fs.closeSync(devNull);
  }
  await waitUntil(
    'loader attached',
    () => {
      if (child.proc.exitCode !== null) throw new Error(`loader exited ${child.proc.exitCode}: ${child.output()}`);
      return /ready: attached/.test(child.output()) ? true : undefined;
    },
    60_000,
  );
  return child;
}
