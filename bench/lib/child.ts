/** Child processes of the benchmark: started, awaited until ready, always stopped. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH = path.join(REPO, 'bench');

export interface Child {
  proc: ChildProcess;
  pid: number;
  output: () => string;
  stop: () => Promise<void>;
}

const running = new Set<Child>();

export function startChild(cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    stop: async () => {
      running.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  running.add(child);
  return child;
}

/** Stops every child still running (on error or Ctrl-C), so no service outlives the bench. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
}

export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once something accepts HTTP at `url` (any status). */
export async function waitForHttp(url: string, child?: Child, timeoutMs = 20_000): Promise<void> {
  await waitUntil(
    url,
    async () => {
      if (child && child.proc.exitCode !== null) throw new Error(`exited ${child.proc.exitCode}: ${child.output()}`);
      const res = await fetch(url);
      await res.arrayBuffer();
      return true;
    },
    timeoutMs,
  );
}

/** Fails when something already listens on the port: the benchmark would measure the wrong server. */
export function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      reject(new Error(`port ${port} is already in use on 127.0.0.1; pick another --port-base`));
    });
    sock.once('error', () => resolve());
  });
}
