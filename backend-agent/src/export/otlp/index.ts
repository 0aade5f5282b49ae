/** OTLP/HTTP protobuf trace export. */
export { OtlpExporter, OTLP_DEFAULTS, parseRetryAfter, tracesUrl } from './exporter.js';
export type { OtlpExporterOptions } from './exporter.js';
export { encodeTraceRequest, isExportedParent, PARENT_MIN_CONFIDENCE, SCOPE_NAME } from './encode.js';
