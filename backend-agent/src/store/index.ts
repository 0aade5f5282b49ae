/** Public surface of the span store: what the ingest pipeline, API and CLI use. */
export { openStore } from './sqlite-store.js';
export type { SpanStore, StoreOptions, StoreStats, OperationInfo } from './sqlite-store.js';
export type { TraceQuery, SpanQuery } from './span-filter.js';
export type { DependencyStats, LatencySummary } from './dependencies.js';
export type { EdgeSeries, EdgeBucket } from './edge-timeseries.js';
export type { RetentionPolicy, RetentionOptions, RetentionResult } from './retention.js';
export { StoreOpenError, StoreWriteError } from './errors.js';
