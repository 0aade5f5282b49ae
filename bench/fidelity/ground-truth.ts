/**
 * The demo's out-of-band record of who called whom: every call carries a
 * unique `x-demo-call` id, each service logs "inbound call id -> outbound call
 * id" (<service>.calls.jsonl) and the load generator lists its root calls
 * (loadgen.json). With --proxy, nginx forwards the loadgen's id unchanged to
 * the frontend, so one call id names two hops there.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CallRecord {
  /** The service that made the call. */
  caller: string;
  /** Call id of the inbound request being served when the call was made; null for roots. */
  parent: string | null;
  target: string;
}

export interface GroundTruth {
  calls: Map<string, CallRecord>;
  /** Root call ids (one per load generator request). */
  roots: string[];
  proxy: boolean;
}

export function readGroundTruth(stateDir: string): GroundTruth {
  const calls = new Map<string, CallRecord>();
  for (const file of fs.readdirSync(stateDir).filter((f) => f.endsWith('.calls.jsonl')).sort()) {
    for (const line of fs.readFileSync(path.join(stateDir, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as { service: string; parent: string | null; child: string; target: string };
      calls.set(r.child, { caller: r.service, parent: r.parent, target: r.target });
    }
  }
  const run = JSON.parse(fs.readFileSync(path.join(stateDir, 'run.json'), 'utf8')) as { proxy?: unknown };
  const proxy = run.proxy !== null && run.proxy !== undefined;
  const loadgen = JSON.parse(fs.readFileSync(path.join(stateDir, 'loadgen.json'), 'utf8')) as {
    requests: Array<{ call?: string; status: number | null }>;
  };
  const roots: string[] = [];
  for (const r of loadgen.requests) {
    if (!r.call) continue;
    roots.push(r.call);
    calls.set(r.call, { caller: 'loadgen', parent: null, target: proxy ? 'nginx' : 'frontend' });
  }
  return { calls, roots, proxy };
}
