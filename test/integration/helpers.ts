/**
 * Shared plumbing for tests that run the real agent (and the real loader) as
 * child processes. Nothing here fakes the system under test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AGENT_BIN = path.join(REPO, 'backend-agent', 'bin', 'wiretrace-agent.js');
export const LOADER_BIN = path.join(REPO, 'bpf', 'wiretrace-loader');

/** Why eBPF tests cannot run here, or undefined when they can. */
export function ebpfUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'eBPF capture needs root (CI runs as root)';
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF at /sys/kernel/btf/vmlinux';
  return undefined;
}

export function requireBuilt(): void {
  for (const f of [LOADER_BIN, path.join(REPO, 'backend-agent', 'dist', 'cli.js')]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run "npm run build" (npm test does) first`);
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function run(cmd: string, args: string[], env: Record<string, string> = {}): RunningProcess {
  const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function stop(p: RunningProcess, timeoutMs = 10_000): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface AgentHandle {
  url: string;
  proc: RunningProcess;
  dbPath: string;
}

/** Starts the real agent with capture on and waits until the loader has attached; its API on `apiPort` (default: any free port). */
export async function startAgent(extraArgs: string[] = [], apiPort?: number): Promise<AgentHandle> {
  const dir = tempDir('wiretrace-agent-');
  const port = apiPort ?? (await freePort());
  const dbPath = path.join(dir, 'spans.db');
  const proc = run('node', [AGENT_BIN, '--db', dbPath, '--listen', `127.0.0.1:${port}`, ...extraArgs]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the agent to report capture running',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`agent exited ${proc.child.exitCode}: ${proc.stderr()}`);
      const { body } = await getJson<{ capture: { state: string } }>(`${url}/api/health`);
      return body.capture.state === 'running' ? true : undefined;
    },
    30_000,
  );
  return { url, proc, dbPath };
}

// ---------------------------------------------------------------- the real HTTP/2 and gRPC peers (http2-peers.mjs)

export const HTTP2_PEERS = 'test/integration/http2-peers.mjs';

/** One call as the gRPC client modes print it. */
export interface GrpcCallResult {
  method: string;
  traceId: string;
  spanId: string;
  code: number;
}

/** One request as the HTTP/2 client mode prints it. */
export interface H2CallResult {
  method: string;
  path: string;
  traceId: string;
  spanId: string;
  status: number;
  bodyBytes: number;
}

/** Starts a server mode of the peers, named `service`, and waits until it listens. */
export async function startPeerServer(mode: string, port: number, service: string, extraArgs: string[] = []): Promise<RunningProcess> {
  const server = run('node', [HTTP2_PEERS, mode, String(port), ...extraArgs], { OTEL_SERVICE_NAME: service });
  await waitFor(`${mode} to listen`, async () => {
    if (server.child.exitCode !== null) throw new Error(`${mode} exited: ${server.stderr()}`);
    return server.stdout().includes('listening') ? true : undefined;
  });
  return server;
}

/** Runs a client mode of the peers to its end; what it printed: the calls it made and what it got. */
export async function runPeerClient<T>(mode: string, port: number, service: string, extraArgs: string[] = []): Promise<T> {
  const client = run('node', [HTTP2_PEERS, mode, String(port), ...extraArgs], { OTEL_SERVICE_NAME: service });
  const code = await client.exited;
  if (code !== 0) throw new Error(`${mode} failed (exit ${code}): ${client.stderr()}`);
  return JSON.parse(client.stdout().trim()) as T;
}
