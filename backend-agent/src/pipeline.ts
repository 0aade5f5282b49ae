/**
 * The ingest pipeline: capture events in, spans out.
 *   events -> ConnectionTracker (per-connection protocol sessions) -> exchanges
 *          -> buildSpan (naming, trace context, redaction) -> sink
 * Everything here is synchronous and per event, so it is the hot path:
 * no per-event allocation beyond what parsing needs.
 */
import type { CaptureEvent } from './model/events.js';
import type { HeaderList } from './model/exchange.js';
import type { PipelineHealth } from './model/health.js';
import type { ProcessInfo, Span } from './model/span.js';
import type { Logger } from './util/log.js';
import { ConnectionTracker, type ProtocolDetector } from './capture/connection-tracker.js';
import { ProcessInfoResolver } from './capture/process-info.js';
import { PROTOCOL_DETECTORS } from './protocols/index.js';
import { extractSpanContext, type CorrelationIds } from './context/index.js';
import { createRedactor, redactExchangeHeaders, type RedactionConfig, type Redactor } from './context/redact.js';
import { buildSpan, type SpanBuilderDeps } from './spans/span-builder.js';
import { UnixClock } from './spans/unix-clock.js';

/** A STATS entry that is not a counter: CLOCK_REALTIME - CLOCK_BOOTTIME, ns (to ~256 ns: a double). */
const CLOCK_OFFSET_ENTRY = 'realtime_offset_ns';

export interface PipelineOptions {
  hostName: string;
  log: Logger;
  sink: (spans: Span[]) => void;
  redaction?: RedactionConfig;
  /** For tests: where /proc is. */
  procRoot?: string;
  detectors?: ProtocolDetector[];
  /** Request headers to store as attributes (config --record-header). */
  recordHeaders?: readonly string[];
}

export interface CaptureInfo {
  kernelRelease?: string;
  maxPayload?: number;
  kernelCounters: Record<string, number>;
}

export class IngestPipeline {
  private readonly tracker: ConnectionTracker;
  private readonly processes: ProcessInfoResolver;
  private readonly deps: SpanBuilderDeps;
  private readonly redactor: Redactor;
  private realtimeOffsetNs = 0n;
  private clock = new UnixClock(0n);
  private lastKernelNs = 0n;
  private info: CaptureInfo = { kernelCounters: {} };
  private counters = { eventsDecoded: 0, dataEvents: 0, connEvents: 0, exchanges: 0, spanBuildErrors: 0 };

  constructor(private readonly opts: PipelineOptions) {
    this.tracker = new ConnectionTracker(opts.detectors ?? [...PROTOCOL_DETECTORS]);
    const redactor = createRedactor(opts.redaction);
    // Command lines carry secrets too (--api-key=...): the configured names apply to them as well.
    this.processes = new ProcessInfoResolver({ hostName: opts.hostName, redactor, ...(opts.procRoot ? { procRoot: opts.procRoot } : {}) });
    this.redactor = redactor;
    this.deps = {
      resolveProcess: (pid: number, comm: string): ProcessInfo => this.processes.resolve(pid, comm),
      peerOf: (socket) => this.tracker.sockets.peerOf(socket),
      extractTraceContext: (headers: HeaderList) => {
        const r = extractSpanContext(headers);
        const correlationIds = correlationAttributes(r.correlationIds);
        return r.context ? { context: r.context, correlationIds } : { correlationIds };
      },
      redactHeaders: (headers) => redactor.redactHeaders(headers),
      redactQuery: (query) => redactor.redactQuery(query),
      redactPath: (path) => redactor.redactPath(path),
      toUnixUs: (ns) => this.clock.toUnixUs(ns),
      sessionKey: '0',
      ...(opts.recordHeaders ? { recordHeaders: opts.recordHeaders } : {}),
    };
  }

  handle(events: CaptureEvent[]): void {
    for (const ev of events) {
      this.counters.eventsDecoded++;
      switch (ev.type) {
        case 'data':
          this.counters.dataEvents++;
          this.lastKernelNs = ev.tsExitNs;
          // Name the process when its connection is first seen, while it surely
          // exists: short-lived clients may be gone when their exchange completes.
          if (!this.tracker.has(ev.connId)) this.processes.resolve(ev.pid, ev.comm);
          this.tracker.onData(ev);
          break;
        case 'conn':
          this.counters.connEvents++;
          this.lastKernelNs = ev.tsNs;
          if (ev.kind === 'open') this.processes.resolve(ev.pid, ev.comm);
          this.tracker.onConn(ev);
          break;
        case 'proc-info':
          // Comes before the process's first CONN/DATA: resolve() below then finds it.
          this.processes.learn(ev);
          break;
        case 'stats': {
          // The loader re-sends the clock offset with its counters, so a suspend
          // or an NTP step moves span times only until the next STATS record.
          const { [CLOCK_OFFSET_ENTRY]: offset, ...counters } = ev.counters;
          if (offset !== undefined && offset > 0) this.setClockOffset(BigInt(offset));
          this.info.kernelCounters = counters;
          break;
        }
        case 'hello':
          // A (re)started loader numbers connections from scratch. Requests of
          // the previous session still waiting for a response become spans
          // without one, under the previous session's clock and ids.
          this.tracker.reset(this.lastKernelNs);
          this.emit();
          this.lastKernelNs = 0n;
          this.setClockOffset(ev.realtimeOffsetNs);
          this.deps.sessionKey = `${ev.loaderPid}-${ev.realtimeOffsetNs}`;
          this.info = { kernelRelease: ev.kernelRelease, maxPayload: ev.maxPayload, kernelCounters: {} };
          break;
      }
    }
    this.emit();
  }

  /** Periodic housekeeping: response time-outs, idle connections. */
  tick(): void {
    if (this.lastKernelNs === 0n) return;
    // Kernel time advances between events too; approximate now from the wall clock.
    const nowNs = BigInt(Date.now()) * 1_000_000n - this.realtimeOffsetNs;
    this.tracker.tick(nowNs > this.lastKernelNs ? nowNs : this.lastKernelNs);
    this.emit();
  }

  flushAll(): void {
    this.tracker.flushAll(BigInt(Date.now()) * 1_000_000n - this.realtimeOffsetNs);
    this.emit();
  }

  private emit(): void {
    const exchanges = this.tracker.drain();
    if (exchanges.length === 0) return;
    const spans: Span[] = [];
    for (const ex of exchanges) {
      this.counters.exchanges++;
      try {
        spans.push(buildSpan(redactExchangeHeaders(ex, this.redactor), this.deps));
      } catch (err) {
        // One bad exchange must not take the batch with it.
        this.counters.spanBuildErrors++;
        this.opts.log.warn('could not build span', { error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (spans.length) this.opts.sink(spans);
  }

  private setClockOffset(offsetNs: bigint): void {
    this.realtimeOffsetNs = offsetNs;
    this.clock = new UnixClock(offsetNs);
  }

  captureInfo(): CaptureInfo {
    return this.info;
  }

  health(): Omit<PipelineHealth, 'framingErrors' | 'spansWritten'> {
    return {
      eventsDecoded: this.counters.eventsDecoded,
      dataEvents: this.counters.dataEvents,
      connEvents: this.counters.connEvents,
      parseErrors: this.tracker.parseErrors(),
      streamGaps: this.tracker.gaps(),
      exchanges: this.counters.exchanges,
      spansDroppedBackpressure: 0, // filled in by the agent from the span writer
      openConnections: this.tracker.openConnections,
      connectionsEvicted: this.tracker.evictedConnections,
    };
  }
}

/** Correlation ids keyed by the header they came from, as span attributes name them. */
const CORRELATION_HEADERS: Record<keyof CorrelationIds, string> = {
  requestId: 'x-request-id',
  correlationId: 'x-correlation-id',
  bareRequestId: 'request-id',
};

const CORRELATION_KEYS = Object.keys(CORRELATION_HEADERS) as Array<keyof CorrelationIds>;

/** Shared by every request without one: the span builder only reads it. */
const NO_CORRELATION_IDS: Record<string, string> = Object.freeze({});

function correlationAttributes(ids: CorrelationIds): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const key of CORRELATION_KEYS) {
    const value = ids[key];
    if (value) (out ??= {})[CORRELATION_HEADERS[key]] = value;
  }
  return out ?? NO_CORRELATION_IDS;
}
