/** Public surface of trace-context extraction and redaction. */
export { extractTraceContext, extractSpanContext, CONTEXT_HEADER_NAMES, type SpanContextExtraction, type TraceContextExtraction } from './extract.js';
export { indexHeaders, type HeaderList, type HeaderLookup, type InvalidHeader } from './headers.js';
export type { ParseResult } from './parse-result.js';
export { parseTraceparent, parseTracestate, extractW3cContext, type Traceparent } from './w3c.js';
export { parseB3Single, parseB3Multi, extractB3SingleContext, extractB3MultiContext } from './b3.js';
export type { B3SingleValue, B3MultiFields } from './b3.js';
export { parseUberTraceId, extractJaegerContext } from './jaeger.js';
export { parseXrayTraceId, extractXrayContext } from './xray.js';
export { extractCorrelationIds, normaliseRequestId, parseCorrelationId, type CorrelationIds } from './correlation.js';
export { createRedactor, type Redactor, type RedactionConfig, REDACTED } from './redact.js';
