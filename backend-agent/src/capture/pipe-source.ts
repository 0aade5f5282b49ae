/**
 * Live capture from a loader the agent did not start: the privileged loader
 * writes its stream into a named pipe (`wiretrace-loader > capture.fifo`) and
 * the agent, which then needs no privilege at all, reads it. When the loader
 * goes away the pipe reaches end-of-file; the agent reopens it and waits for
 * the next loader, whose HELLO starts a fresh session.
 */
import fs from 'node:fs';
import { FrameDecoder } from './framing.js';
import type { CaptureEvent } from '../model/events.js';
import type { Logger } from '../util/log.js';

export type PipeState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface PipeSourceOptions {
  path: string;
  log: Logger;
  onEvents: (events: CaptureEvent[]) => void;
  onStateChange?: (state: PipeState, detail?: string) => void;
  reopenDelayMs?: number;
}

export class PipeSource {
  private stream: fs.ReadStream | undefined;
  private stopping = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  state: PipeState = 'stopped';
  sessions = 0;
  framingErrors = 0;

  constructor(private readonly opts: PipeSourceOptions) {}

  /** Fails at once if the path is not a named pipe: waiting on a regular file would read it once and spin. */
  start(): void {
    let isFifo = false;
    try {
      isFifo = fs.statSync(this.opts.path).isFIFO();
    } catch (err) {
      throw new Error(`cannot use capture pipe ${this.opts.path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!isFifo) throw new Error(`capture pipe ${this.opts.path} is not a named pipe (create it with mkfifo)`);
    this.stopping = false;
    this.open('starting');
  }

  private setState(state: PipeState, detail?: string): void {
    this.state = state;
    this.opts.onStateChange?.(state, detail);
  }

  private open(state: PipeState): void {
    this.setState(state, state === 'restarting' ? 'loader disconnected; waiting for it on the pipe' : 'waiting for a loader on the pipe');
    const decoder = new FrameDecoder();
    const stream = fs.createReadStream(this.opts.path, { highWaterMark: 1 << 20 });
    this.stream = stream;
    stream.on('data', (chunk) => {
      let events: CaptureEvent[];
      try {
        events = decoder.push(chunk as Buffer);
      } catch (err) {
        // A damaged stream cannot be resynchronised: drop this writer and wait for the next.
        this.framingErrors++;
        this.opts.log.error('capture pipe stream is corrupt; reopening', { error: err instanceof Error ? err.message : String(err) });
        stream.destroy();
        return;
      }
      if (events.some((e) => e.type === 'hello')) {
        this.sessions++;
        this.setState('running');
        this.opts.log.info('loader connected on the capture pipe', { path: this.opts.path, sessions: this.sessions });
      }
      if (events.length) this.opts.onEvents(events);
    });
    stream.on('error', (err) => this.opts.log.warn('capture pipe read failed', { error: err.message }));
    stream.on('close', () => {
      if (this.stream === stream) this.stream = undefined;
      if (this.stopping) return;
      this.reopenTimer = setTimeout(() => this.open('restarting'), this.opts.reopenDelayMs ?? 200);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    const stream = this.stream;
    if (stream) {
      // An open() of a FIFO blocks until a writer comes; being that writer for
      // an instant releases it so the stream can close.
      try {
        const fd = fs.openSync(this.opts.path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        fs.closeSync(fd);
      } catch {
        // ENXIO: the reader already had its writer or is closing; nothing to release.
      }
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.destroy();
      });
    }
    this.setState('stopped');
  }
}
