/**
 * Plumbing shared by the PostgreSQL and Redis capture tests: finding the
 * Debian binaries, running real clients, and reading the agent's spans back
 * through its Jaeger API.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { getJson } from './helpers.js';

export interface JaegerTag {
  key: string;
  value: string | number | boolean;
}
export interface JaegerSpan {
  spanID: string;
  operationName: string;
  tags: JaegerTag[];
  processID: string;
}
interface JaegerTrace {
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** A span with its service and tags flattened, for assertions. */
export interface FoundSpan {
  service: string;
  name: string;
  kind: string;
  tags: Record<string, string | number | boolean>;
}

/** The first existing path among candidates, or undefined. */
export function findBinary(candidates: readonly string[]): string | undefined {
  return candidates.find((c) => fs.existsSync(c));
}

/** Runs a client to completion; rejects with its output when it fails (unless allowed to). */
export function runClient(
  cmd: string,
  args: readonly string[],
  options: { input?: string; allowFailure?: boolean; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...options.env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      if (code !== 0 && !options.allowFailure) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Every span of the service's traces (and the other spans of those traces), deduplicated. */
export async function spansOf(agentUrl: string, service: string): Promise<FoundSpan[]> {
  const { body } = await getJson<{ data: JaegerTrace[] }>(`${agentUrl}/api/traces?service=${encodeURIComponent(service)}&limit=1000&lookback=1h`);
  const seen = new Map<string, FoundSpan>();
  for (const t of body.data ?? []) {
    for (const s of t.spans) {
      const tags: Record<string, string | number | boolean> = {};
      for (const tag of s.tags) tags[tag.key] = tag.value;
      seen.set(s.spanID, {
        service: t.processes[s.processID]?.serviceName ?? '?',
        name: s.operationName,
        kind: String(tags['span.kind'] ?? ''),
        tags,
      });
    }
  }
  return [...seen.values()];
}
