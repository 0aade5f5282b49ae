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

export interface AgentHealth {
  status: 'ok' | 'degraded';
  version: string;
  startedAtUs: number;
  capture: CaptureHealth;
  pipeline: PipelineHealth;
  store: StoreHealth;
}

export interface HealthSource {
  health(): AgentHealth;
}
