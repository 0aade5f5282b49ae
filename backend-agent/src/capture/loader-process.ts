/**
 * Runs the privileged C loader as a child process and turns its stdout into
 * capture events. The loader is restarted with back-off when it dies; a loader
 * that fails its own preflight at first start is fatal, because retrying
 * cannot grant a missing privilege.
 *
 * Backpressure is deliberate: events are handled synchronously per chunk, so
 * a slow agent stops reading, the pipe fills, the loader blocks, the kernel
 * ring buffer fills and the kernel counts drops. Nothing queues unboundedly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { FrameDecoder, FramingError } from './framing.js';
import type { CaptureEvent } from '../model/events.js';
import type { CaptureFilters } from '../config.js';
import type { Logger } from '../util/log.js';

export interface LoaderOptions {
  loaderPath: string;
  maxPayload: number;
  filters: CaptureFilters;
  /** OpenSSL probes on (default) or off. */
  tls?: boolean;
  log: Logger;
  onEvents: (events: CaptureEvent[]) => void;
  onStateChange?: (state: LoaderState, detail?: string) => void;
  /** Back-off bounds for restarts, ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A loader that ran this long before dying restarts after the minimum back-off again;
   * one that dies sooner keeps doubling it. Default 30 s.
   */
  stableAfterMs?: number;
}

export type LoaderState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

export function loaderArgs(maxPayload: number, f: CaptureFilters, tls = true): string[] {
  const args = ['--max-payload', String(maxPayload)];
  if (!tls) args.push('--tls', 'off');
  for (const p of f.pids) args.push('--pid', String(p));
  for (const p of f.excludePids) args.push('--exclude-pid', String(p));
  for (const p of f.ports) args.push('--port', String(p));
  for (const p of f.excludePorts) args.push('--exclude-port', String(p));
  for (const c of f.cgroups) args.push('--cgroup', c);
  return args;
}

export class LoaderProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private everRan = false;
  /** When the current loader said it attached (ms since epoch), undefined before that. */
  private readyAt: number | undefined;
  private readyResolvers: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  state: LoaderState = 'stopped';
  restarts = 0;
  lastError: string | undefined;
  framingErrors = 0;

  constructor(private readonly opts: LoaderOptions) {
    this.backoffMs = opts.minBackoffMs ?? 500;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the loader; resolves once it says it attached, rejects on a first-start failure. */
  start(): Promise<void> {
    this.stopping = false;
    const ready = new Promise<void>((resolve, reject) => this.readyResolvers.push({ resolve, reject }));
    this.spawnOnce();
    return ready;
  }

  private setState(state: LoaderState, detail?: string): void {
    this.state = state;
    this.opts.onStateChange?.(state, detail);
  }

  private spawnOnce(): void {
    const { log } = this.opts;
    this.setState(this.everRan ? 'restarting' : 'starting');
    const args = loaderArgs(this.opts.maxPayload, this.opts.filters, this.opts.tls ?? true);
    log.info('starting eBPF loader', { path: this.opts.loaderPath, args });
    const child = spawn(this.opts.loaderPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.readyAt = undefined;
    const decoder = new FrameDecoder();
    let stderrTail = '';

    let corrupt = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (corrupt) return;
      let events: CaptureEvent[];
      try {
        events = decoder.push(chunk);
      } catch (err) {
        // A corrupt stream cannot be resynchronised: restart the loader, once.
        corrupt = true;
        this.framingErrors++;
        this.lastError = err instanceof FramingError ? err.message : String(err);
        log.error('loader stream is corrupt; restarting loader', { error: this.lastError });
        child.kill('SIGTERM');
        child.stdout?.destroy();
        return;
      }
      if (events.length) this.opts.onEvents(events);
      // One chunk per turn of the event loop. libuv keeps reading a pipe that
      // has data (many reads in a row), so under a burst ingest held API
      // requests for seconds; the kernel ring buffers absorb the wait.
      child.stdout?.pause();
      setImmediate(() => child.stdout?.resume());
    });

    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      stderrTail += text;
      let nl: number;
      while ((nl = stderrTail.indexOf('\n')) >= 0) {
        const line = stderrTail.slice(0, nl).trim();
        stderrTail = stderrTail.slice(nl + 1);
        if (line) this.onLoaderLine(line);
      }
    });

    child.on('error', (err) => {
      this.lastError = `cannot start loader ${this.opts.loaderPath}: ${err.message}`;
      log.error('loader failed to start', { error: this.lastError });
    });

    child.on('exit', (code, signal) => {
      this.child = undefined;
      if (stderrTail.trim()) this.onLoaderLine(stderrTail.trim());
      if (this.stopping) {
        this.setState('stopped');
        return;
      }
      const why = this.lastError ?? `loader exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
      if (!this.everRan) {
        // Never attached (a missing prerequisite exits 2): retrying cannot help, say why once.
        this.setState('failed', why);
        this.rejectReady(new Error(why));
        return;
      }
      this.restarts++;
      // Reset only after a stable run: resetting on "ready" let a loader that crashes just
      // after attaching restart (and re-attach 27 tracepoints) every ~2 s forever.
      if (this.readyAt !== undefined && Date.now() - this.readyAt >= (this.opts.stableAfterMs ?? 30_000)) {
        this.backoffMs = this.opts.minBackoffMs ?? 500;
      }
      log.warn('loader died; restarting', { error: why, backoffMs: this.backoffMs, restarts: this.restarts });
      this.setState('restarting', why);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopping) this.spawnOnce();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
    });
  }

  private onLoaderLine(line: string): void {
    const { log } = this.opts;
    const body = line.replace(/^wiretrace-loader:\s*/, '');
    if (body.startsWith('ready:')) {
      this.everRan = true;
      this.readyAt = Date.now();
      this.lastError = undefined;
      this.setState('running');
      log.info('eBPF capture running', { loader: body.slice(6).trim() });
      for (const r of this.readyResolvers.splice(0)) r.resolve();
    } else if (body.startsWith('error:')) {
      this.lastError = body.slice(6).trim();
      log.error('loader error', { error: this.lastError });
    } else {
      log.debug('loader', { line: body });
    }
  }

  private rejectReady(err: Error): void {
    for (const r of this.readyResolvers.splice(0)) r.reject(err);
  }

  /** Detaches the probes: SIGTERM, then SIGKILL if the loader hangs. */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) {
      this.setState('stopped');
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
