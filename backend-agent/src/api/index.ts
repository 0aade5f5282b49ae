/** Public surface of the HTTP API. */
export { createApiServer } from './server.js';
export type { ApiServerOptions } from './server.js';
export { renderExposition } from './metrics/prometheus-text.js';
export type { MetricFamily, MetricSample, MetricType } from './metrics/prometheus-text.js';
