/**
 * Wires the stages together: loader -> pipeline -> span writer -> store, and
 * store -> API. Owns start-up order (fail fast, before anything is attached)
 * and shutdown order (detach probes first, then flush spans, then close).
 */
import fs from 'node:fs';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { AgentConfig } from './config.js';
import type { Logger } from './util/log.js';
import type { AgentHealth, CaptureState, HealthSource } from './model/health.js';
import type { Span } from './model/span.js';
import { checkThisHost } from './capture/preflight.js';
import { LoaderProcess, type LoaderState } from './capture/loader-process.js';
import { FrameDecoder } from './capture/framing.js';
import { PipeSource, type PipeState } from './capture/pipe-source.js';
import { TlsState } from './capture/tls/tls-state.js';
import type { CaptureEvent } from './model/events.js';
import { IngestPipeline } from './pipeline.js';
import { SpanWriter } from './spans/span-writer.js';
import { SpanMetrics } from './export/span-metrics.js';
import { openStore, StoreOpenError, type SpanStore } from './store/index.js';
import { createApiServer } from './api/index.js';
import { AGENT_VERSION } from './version.js';
import { OtlpExporter } from './export/otlp/index.js';
import { SamplingPolicy, TraceOutputs } from './sampling/index.js';

export class AgentStartError extends Error {
  override readonly name = 'AgentStartError';
}

export interface RunningAgent {
  host: string;
  port: number;
  health(): AgentHealth;
  stop(): Promise<void>;
}

const TICK_MS = 1000;
const RETENTION_EVERY_MS = 60_000;

export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  if (config.capture) {
    const missing = checkThisHost(config.loaderPath, config.btfPath);
    if (missing) throw new AgentStartError(missing);
  }

  let store: SpanStore;
  try {
    store = openStore({
      path: config.dbPath,
      retention: { maxAgeMs: config.retentionMaxAgeMs, maxSizeBytes: config.retentionMaxSizeBytes },
      // Some migrations rewrite every row: a big store's take minutes, and the API waits for them.
      onMigration: (m) => log.info('migrating the span store', { path: config.dbPath, toVersion: m.version, change: m.description }),
    });
  } catch (err) {
    if (err instanceof StoreOpenError) throw new AgentStartError(err.message);
    throw err;
  }

  const startedAtUs = Date.now() * 1000;
  const writer = new SpanWriter(store, log);
  const spanMetrics = new SpanMetrics();
  // Sampling and OTLP export (issue #8): between the pipeline and the store.
  // Span metrics still see every span, so rates and latencies are not sampled.
  const otlp = config.otlp ? new OtlpExporter({ ...config.otlp, log }) : undefined;
  const outputs = new TraceOutputs({
    write: (spans) => writer.add(spans),
    windowMs: config.traceWindowMs,
    ...(config.sampling ? { policy: new SamplingPolicy(config.sampling) } : {}),
    ...(otlp ? { exporter: otlp } : {}),
  });
  const sink = (spans: Span[]): void => {
    spanMetrics.record(spans);
    outputs.add(spans);
  };
  const pipeline = new IngestPipeline({ hostName: config.hostName ?? os.hostname(), log, sink, redaction: config.redaction, ...(config.recordHeaders ? { recordHeaders: config.recordHeaders } : {}) });
  if (!config.redaction.defaults) {
    // Said at every start: a store written this way may hold what the built-in rules would have hidden.
    log.warn('built-in redaction rules are off (--redact-defaults off): only authorization and cookie headers, URL userinfo and the configured names and patterns are redacted', {
      headers: config.redaction.extraHeaders.join(','),
      queryKeys: config.redaction.extraQueryKeys.join(','),
      patterns: config.redaction.patterns.length,
    });
  }
  const liveCapture = config.capture || config.capturePipe !== undefined;
  let captureState: CaptureState = liveCapture ? 'starting' : 'off';
  let captureError: string | undefined;
  // The loader the agent starts and a loader on a pipe report the same states.
  const onCaptureState = (state: LoaderState | PipeState, detail?: string): void => {
    captureState = state === 'stopped' ? 'off' : state;
    captureError = state === 'running' ? undefined : detail;
  };
  // TLS discovery records feed health only; everything goes on to the pipeline.
  const tlsState = liveCapture ? new TlsState(config.capture ? { enabled: config.tls } : {}) : undefined;
  const onCaptureEvents = (events: CaptureEvent[]): void => {
    tlsState?.observe(events);
    pipeline.handle(events);
  };
  const loader = config.capture
    ? new LoaderProcess({
        loaderPath: config.loaderPath,
        maxPayload: config.maxPayload,
        tls: config.tls,
        // The agent's own API traffic would otherwise trace every query.
        filters: { ...config.filters, excludePorts: [...config.filters.excludePorts, config.listenPort] },
        log,
        onEvents: onCaptureEvents,
        onStateChange: onCaptureState,
      })
    : undefined;

  const pipeSource = config.capturePipe
    ? new PipeSource({
        path: config.capturePipe,
        log,
        onEvents: onCaptureEvents,
        onStateChange: onCaptureState,
      })
    : undefined;

  const healthSource: HealthSource = {
    health: (): AgentHealth => {
      const stats = store.stats();
      const capture = pipeline.captureInfo();
      const writeError = writer.writeError;
      const degraded = (liveCapture && captureState !== 'running') || writeError !== undefined;
      return {
        status: degraded ? 'degraded' : 'ok',
        version: AGENT_VERSION,
        startedAtUs,
        capture: {
          state: captureState,
          ...(captureError ? { error: captureError } : {}),
          ...(loader?.pid ? { loaderPid: loader.pid } : {}),
          ...(capture.kernelRelease ? { kernelRelease: capture.kernelRelease } : {}),
          ...(capture.maxPayload ? { maxPayload: capture.maxPayload } : {}),
          loaderRestarts: loader?.restarts ?? Math.max(0, (pipeSource?.sessions ?? 0) - 1),
          kernel: capture.kernelCounters,
          ...(tlsState ? { tls: tlsState.health() } : {}),
        },
        pipeline: {
          ...pipeline.health(),
          framingErrors: (loader?.framingErrors ?? 0) + (pipeSource?.framingErrors ?? 0),
          spansWritten: writer.written,
          spansDroppedBackpressure: writer.dropped,
        },
        store: { path: config.dbPath, ...stats, ...(writeError ? { writeError } : {}) },
        ...sampledOutputsHealth(outputs, otlp),
      };
    },
  };

  const server = createApiServer({
    store,
    health: healthSource,
    ...(config.token ? { token: config.token } : {}),
    extraMetrics: () => spanMetrics.families(),
    logger: (fields) => log.debug('api', fields),
  });
  await listen(server, config.listenHost, config.listenPort).catch((err: unknown) => {
    store.close();
    throw new AgentStartError(`cannot listen on ${config.listenHost}:${config.listenPort}: ${errorMessage(err)}`);
  });
  const address = server.address() as AddressInfo;
  log.info('API listening', { url: `http://${formatHost(address.address)}:${address.port}`, token: config.token ? 'required' : 'none' });

  if (loader) {
    try {
      await loader.start();
    } catch (err) {
      await closeServer(server);
      store.close();
      throw new AgentStartError(errorMessage(err));
    }
  }

  if (pipeSource) {
    try {
      pipeSource.start();
    } catch (err) {
      await closeServer(server);
      store.close();
      throw new AgentStartError(errorMessage(err));
    }
  }
  if (config.replayPath) await replay(config.replayPath, pipeline, writer, log);

  const tick = setInterval(() => {
    pipeline.tick();
    outputs.tick();
    writer.flush();
  }, TICK_MS);
  // Retention deletes in bounded batches; when a pass is not complete the
  // next one is queued right away so it keeps up with heavy ingest without
  // blocking the event loop for long.
  let retentionTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  // Chained passes are one piece of work: logged once, when it completes.
  let retentionDeleted = 0;
  const retentionPass = (): void => {
    let complete = true;
    try {
      const result = store.applyRetention(Date.now() * 1000);
      complete = result.complete;
      retentionDeleted += result.deleted;
      if (complete && retentionDeleted > 0) {
        log.info('retention deleted spans', { deleted: retentionDeleted });
        retentionDeleted = 0;
      }
    } catch (err) {
      log.warn('retention failed', { error: errorMessage(err) });
    }
    if (!stopped) retentionTimer = setTimeout(retentionPass, complete ? RETENTION_EVERY_MS : 0);
  };
  retentionTimer = setTimeout(retentionPass, RETENTION_EVERY_MS);

  return {
    host: address.address,
    port: address.port,
    health: () => healthSource.health(),
    stop: async () => {
      stopped = true;
      clearInterval(tick);
      clearTimeout(retentionTimer);
      // Detach probes first so nothing new arrives, then drain what did.
      await loader?.stop();
      await pipeSource?.stop();
      pipeline.flushAll();
      outputs.flushAll();
      writer.flush();
      await otlp?.shutdown();
      await closeServer(server);
      store.close();
      log.info('stopped', { spansWritten: writer.written });
    },
  };
}

function sampledOutputsHealth(outputs: TraceOutputs, otlp: OtlpExporter | undefined): Pick<AgentHealth, 'sampling' | 'export'> {
  const sampling = outputs.health();
  return { ...(sampling ? { sampling } : {}), ...(otlp ? { export: { otlp: otlp.health() } } : {}) };
}

/** Feeds a recorded loader stream through the same decoder and pipeline as live capture. */
async function replay(file: string, pipeline: IngestPipeline, writer: SpanWriter, log: Logger): Promise<void> {
  const decoder = new FrameDecoder();
  let events = 0;
  try {
    for await (const chunk of fs.createReadStream(file)) {
      const decoded = decoder.push(chunk as Buffer);
      events += decoded.length;
      pipeline.handle(decoded);
      writer.flushThrottled();
    }
  } catch (err) {
    throw new AgentStartError(`cannot replay ${file}: ${errorMessage(err)}`);
  }
  pipeline.flushAll();
  writer.flush();
  log.info('replay done', { file, events, spansWritten: writer.written });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
