/**
 * OTLP/HTTP protobuf trace exporter: `POST <endpoint>` with
 * `Content-Type: application/x-protobuf`, optionally gzip-compressed.
 *
 * - add() never blocks and never throws: spans go into a bounded queue; when
 *   it is full the oldest are dropped and counted (a dead collector must not
 *   hold ingest or grow memory).
 * - Batches leave when `batchSize` spans are queued or every
 *   `flushIntervalMs`, one request at a time (ordering, and a slow collector
 *   is not hammered).
 * - 429, 502, 503, 504 and network errors are retried with exponential
 *   back-off and jitter, waiting at least what `Retry-After` asks (capped);
 *   other failures, and batches out of attempts, are counted as failed.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Span } from '../../model/span.js';
import type { OtlpExportHealth } from '../../model/health.js';
import type { Logger } from '../../util/log.js';
import { encodeTraceRequest } from './encode.js';
import { SpanRing } from './span-ring.js';

/** Bytes of a failed export's response body kept for the error message. */
const MAX_ERROR_BODY = 4096;

const gzipAsync = promisify(gzip);

export interface OtlpExporterOptions {
  /** Collector base URL (`/v1/traces` is appended when it has no path) or the full traces URL. */
  endpoint: string;
  headers?: Record<string, string>;
  compression?: 'gzip' | 'none';
  batchSize?: number;
  queueSize?: number;
  flushIntervalMs?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest Retry-After honoured; a larger one is clamped to this. */
  maxRetryAfterMs?: number;
  log: Logger;
  /** For tests: jitter source in [0, 1). */
  random?: () => number;
  /** Extra trusted CA certificates (PEM) for an https endpoint; the agent itself relies on NODE_EXTRA_CA_CERTS. */
  ca?: string;
}

export const OTLP_DEFAULTS = {
  batchSize: 512,
  queueSize: 20_000,
  flushIntervalMs: 1000,
  timeoutMs: 10_000,
  maxAttempts: 6,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  maxRetryAfterMs: 60_000,
} as const;

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** `http://collector:4318` -> `http://collector:4318/v1/traces`; a URL with a path is used as given. */
export function tracesUrl(endpoint: string): URL {
  const url = new URL(endpoint);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`OTLP endpoint must be http:// or https://, got "${endpoint}"`);
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/v1/traces';
  return url;
}

/** Retry-After as delay-seconds or an HTTP date, in ms; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

interface SendResult {
  ok: boolean;
  retryable: boolean;
  retryAfterMs?: number;
  error?: string;
}

export class OtlpExporter {
  private readonly url: URL;
  private readonly o: Required<Omit<OtlpExporterOptions, 'headers' | 'random' | 'log' | 'endpoint' | 'ca'>> & { headers: Record<string, string> };
  private readonly queue: SpanRing;
  private readonly agent: http.Agent;
  private readonly log: Logger;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private readonly pendingRequests = new Set<http.ClientRequest>();
  private readonly counters = { exported: 0, failed: 0, dropped: 0, requests: 0, retries: 0 };
  private lastError: string | undefined;

  constructor(options: OtlpExporterOptions) {
    this.url = tracesUrl(options.endpoint);
    this.o = {
      batchSize: options.batchSize ?? OTLP_DEFAULTS.batchSize,
      queueSize: options.queueSize ?? OTLP_DEFAULTS.queueSize,
      flushIntervalMs: options.flushIntervalMs ?? OTLP_DEFAULTS.flushIntervalMs,
      timeoutMs: options.timeoutMs ?? OTLP_DEFAULTS.timeoutMs,
      maxAttempts: options.maxAttempts ?? OTLP_DEFAULTS.maxAttempts,
      initialBackoffMs: options.initialBackoffMs ?? OTLP_DEFAULTS.initialBackoffMs,
      maxBackoffMs: options.maxBackoffMs ?? OTLP_DEFAULTS.maxBackoffMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? OTLP_DEFAULTS.maxRetryAfterMs,
      compression: options.compression ?? 'none',
      headers: options.headers ?? {},
    };
    this.queue = new SpanRing(this.o.queueSize);
    this.log = options.log;
    this.random = options.random ?? Math.random;
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 1, ...(options.ca ? { ca: [...tls.rootCertificates, options.ca] } : {}) })
        : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.timer = setInterval(() => this.kick(), this.o.flushIntervalMs);
    // The exporter must never keep the process alive on its own.
    this.timer.unref();
  }

  /** Queues spans for export. Never blocks: past the queue bound the oldest are dropped. */
  add(spans: readonly Span[]): void {
    if (this.stopped) {
      this.counters.dropped += spans.length;
      return;
    }
    this.counters.dropped += this.queue.push(spans);
    if (this.queue.length >= this.o.batchSize) this.kick();
  }

  /** The endpoint without credentials or query: what health and logs may show. */
  private get shownEndpoint(): string {
    return this.url.origin + this.url.pathname;
  }

  health(): OtlpExportHealth {
    return {
      endpoint: this.shownEndpoint,
      spansExported: this.counters.exported,
      spansFailed: this.counters.failed,
      spansDropped: this.counters.dropped,
      queueLength: this.queue.length,
      requests: this.counters.requests,
      retries: this.counters.retries,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Starts a send when none is in flight (or waiting to retry). */
  private kick(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.take(this.o.batchSize);
    this.inFlight = this.sendBatch(batch).finally(() => {
      this.inFlight = undefined;
      if (!this.stopped && this.queue.length >= this.o.batchSize) this.kick();
    });
  }

  private async sendBatch(batch: Span[]): Promise<void> {
    let body: Uint8Array;
    try {
      body = encodeTraceRequest(batch);
      if (this.o.compression === 'gzip') body = await gzipAsync(body);
    } catch (err) {
      this.counters.failed += batch.length;
      this.noteError(`encoding failed: ${errorMessage(err)}`);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      const result = await this.post(body);
      if (result.ok) {
        this.counters.exported += batch.length;
        if (this.lastError) this.log.info('OTLP export recovered', { endpoint: this.shownEndpoint });
        this.lastError = undefined;
        return;
      }
      this.noteError(result.error ?? 'export failed');
      if (!result.retryable || attempt >= this.o.maxAttempts || this.stopped) {
        this.counters.failed += batch.length;
        return;
      }
      this.counters.retries++;
      await this.sleep(this.backoffMs(attempt, result.retryAfterMs));
      if (this.stopped && this.stopDeadlinePassed()) {
        this.counters.failed += batch.length;
        return;
      }
    }
  }

  /** Jittered exponential back-off, and never less than Retry-After asks (capped). */
  backoffMs(attempt: number, retryAfterMs?: number): number {
    const cap = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** (attempt - 1));
    // "Equal jitter": spread over [cap/2, cap), so agents restarted together do not retry in step.
    const jittered = cap / 2 + (this.random() * cap) / 2;
    if (retryAfterMs === undefined) return jittered;
    return Math.max(jittered, Math.min(retryAfterMs, this.o.maxRetryAfterMs));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.retryTimer = setTimeout(resolve, ms);
      this.retryTimer.unref();
      this.wakeRetry = resolve;
    });
  }
  private wakeRetry: (() => void) | undefined;
  private stopDeadlineMs = Infinity;
  private stopDeadlinePassed(): boolean {
    return Date.now() >= this.stopDeadlineMs;
  }

  private post(body: Uint8Array): Promise<SendResult> {
    this.counters.requests++;
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = {
        ...this.o.headers,
        'Content-Type': 'application/x-protobuf',
        'Content-Length': body.length,
        'User-Agent': 'wiretrace-agent',
      };
      if (this.o.compression === 'gzip') headers['Content-Encoding'] = 'gzip';
      const req = transport.request(this.url, { method: 'POST', headers, agent: this.agent, timeout: this.o.timeoutMs }, (res) => {
        // Only the start of an error body is reported: a misbehaving collector must not grow our memory.
        const chunks: Buffer[] = [];
        let held = 0;
        res.on('data', (c: Buffer) => {
          if (held >= MAX_ERROR_BODY) return;
          chunks.push(c);
          held += c.length;
        });
        res.on('error', (err) => finish({ ok: false, retryable: true, error: `response: ${err.message}` }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return finish({ ok: true, retryable: false });
          const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
          const text = Buffer.concat(chunks).toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200);
          finish({
            ok: false,
            retryable: RETRYABLE_STATUS.has(status),
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
            error: `HTTP ${status}${text ? `: ${text}` : ''}`,
          });
        });
      });
      let done = false;
      const finish = (r: SendResult): void => {
        if (done) return;
        done = true;
        this.pendingRequests.delete(req);
        resolve(r);
      };
      this.pendingRequests.add(req);
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.o.timeoutMs} ms`)));
      req.on('error', (err) => finish({ ok: false, retryable: true, error: err.message }));
      req.end(body);
    });
  }

  private noteError(message: string): void {
    if (message !== this.lastError) this.log.warn('OTLP export failed', { endpoint: this.shownEndpoint, error: message });
    this.lastError = message;
  }

  /**
   * Sends what is queued, for at most `timeoutMs`; then gives up on the rest
   * (counted as dropped) and closes connections.
   */
  async shutdown(timeoutMs = 5000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopDeadlineMs = Date.now() + timeoutMs;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    const drain = (async (): Promise<void> => {
      while (!this.stopDeadlinePassed()) {
        if (this.inFlight) await this.inFlight;
        else if (this.queue.length > 0) this.kick();
        else return;
      }
    })();
    await Promise.race([drain, deadline]);
    this.stopped = true;
    // Wake a back-off sleep so its batch is counted and the loop ends.
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    for (const req of this.pendingRequests) req.destroy(new Error('agent stopping'));
    if (this.inFlight) await this.inFlight;
    this.counters.dropped += this.queue.take(this.queue.length).length;
    this.agent.destroy();
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
