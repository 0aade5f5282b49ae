/**
 * Agent health as served by `GET /api/health` and rendered into `/metrics`.
 * The capture pipeline produces it; the API only reads it.
 */

export type CaptureState = 'off' | 'starting' | 'running' | 'restarting' | 'failed';

export interface CaptureHealth {
  state: CaptureState;
  /** One line saying why capture is not running, when it is not. */
  error?: string;
  loaderPid?: number;
  kernelRelease?: string;
  maxPayload?: number;
  loaderRestarts: number;
  /** Kernel-side counters from the loader's STATS records (drops, truncation, filters...). */
  kernel: Record<string, number>;
  /** TLS plaintext capture (OpenSSL probes); absent without live capture. */
  tls?: TlsHealth;
}

/** A file (libssl, or a binary exporting SSL_write such as node) carrying the OpenSSL probes. */
export interface TlsProbedFile {
  path: string;
  probes: number;
  /** Process it was found in; 0 for the system libssl, probed from the start. */
  foundInPid: number;
}

/** A process whose TLS traffic the agent cannot see (statically linked or non-OpenSSL stack). */
export interface TlsUnobservedProcess {
  pid: number;
  comm: string;
  /** The file holding the TLS code. */
  executable: string;
  stack: 'unknown' | 'openssl' | 'go' | 'static-openssl' | 'boringssl' | 'rustls' | 'gnutls' | 'nss' | 'other';
  reason: string;
}

export interface TlsHealth {
  enabled: boolean;
  probedFiles: TlsProbedFile[];
  /** Files exporting SSL_write whose probes could not be attached. */
  failedFiles: Array<{ path: string; error: string }>;
  unobservedProcesses: TlsUnobservedProcess[];
  /** Unobserved processes beyond the listed maximum. */
  unobservedNotListed?: number;
}

export interface PipelineHealth {
  eventsDecoded: number;
  dataEvents: number;
  connEvents: number;
  framingErrors: number;
  /** Bytes the parsers could not make sense of, by protocol. */
  parseErrors: Record<string, number>;
  /** Gaps in a connection's byte stream (lost or uncaptured bytes) the parsers resynchronised over. */
  streamGaps: number;
  exchanges: number;
  spansWritten: number;
  spansDroppedBackpressure: number;
  openConnections: number;
  /** Connections forgotten because the tracker was full (a memory bound; their close events were likely lost). */
  connectionsEvicted?: number;
}

export interface StoreHealth {
  path: string;
  spanCount: number;
  sizeBytes: number;
  oldestStartTimeUs?: number;
  newestStartTimeUs?: number;
  /** Set when ingest stopped (disk full, read-only...): queries still work. */
  writeError?: string;
}

/** OTLP export (present when `--otlp-endpoint` is set). Counts are spans. */
export interface OtlpExportHealth {
  endpoint: string;
  /** Accepted by the collector (2xx). */
  spansExported: number;
  /** Given up on: a non-retryable answer, or out of retries. */
  spansFailed: number;
  /** Dropped from a full queue (oldest first) or left over at shutdown. */
  spansDropped: number;
  queueLength: number;
  requests: number;
  retries: number;
  /** The last failure, until an export succeeds again. */
  lastError?: string;
}

/** Sampling decisions (present when sampling or OTLP export buffers traces for a decision). */
export interface SamplingHealth {
  /** False when every trace is kept (no rate below 1): then only export uses the window. */
  enabled: boolean;
  tracesKept: number;
  tracesDropped: number;
  spansKept: number;
  spansDropped: number;
  /**
   * Why trace parts were kept: error, slow, rate, continued (a late part of a
   * kept trace); revived counts spans dropped first and kept when a late part
   * of their trace showed an error or a slow root.
   */
  keptByReason: Record<string, number>;
  /** Spans waiting for their trace's decision. */
  bufferedSpans: number;
  /** Decisions made early because the buffer was full. */
  forcedDecisions: number;
}

export interface AgentHealth {
  status: 'ok' | 'degraded';
  version: string;
  startedAtUs: number;
  capture: CaptureHealth;
  pipeline: PipelineHealth;
  store: StoreHealth;
  sampling?: SamplingHealth;
  export?: { otlp?: OtlpExportHealth };
}

export interface HealthSource {
  health(): AgentHealth;
}
