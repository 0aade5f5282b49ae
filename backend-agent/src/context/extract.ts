/**
 * One call per request: every propagation format is read, the valid
 * contexts are kept in precedence order, and the first one wins.
 */

import type { TraceContext } from '../model/span.js';
import {
  B3_FLAGS,
  B3_PARENT_SPAN_ID,
  B3_SAMPLED,
  B3_SINGLE,
  B3_SPAN_ID,
  B3_TRACE_ID,
  extractB3MultiContext,
  extractB3SingleContext,
} from './b3.js';
import { REQUEST_ID, X_CORRELATION_ID, X_REQUEST_ID, extractCorrelationIds, type CorrelationIds } from './correlation.js';
import { indexHeaders, type HeaderList, type HeaderLookup, type InvalidHeader } from './headers.js';
import { UBER_TRACE_ID, extractJaegerContext } from './jaeger.js';
import { TRACEPARENT, TRACESTATE, extractW3cContext } from './w3c.js';
import { AMZN_TRACE_ID, extractXrayContext } from './xray.js';

export interface TraceContextExtraction {
  /** The highest-precedence valid context. */
  context?: TraceContext;
  /** Every valid context found, highest precedence first. */
  all: TraceContext[];
  correlationIds: CorrelationIds;
  /** Propagation headers present but unusable, with why; for diagnostics. */
  invalid: InvalidHeader[];
}

type ContextExtractor = (headers: HeaderLookup, invalid: InvalidHeader[]) => TraceContext | undefined;

/**
 * Precedence: W3C > b3 single > B3 multi > Jaeger > X-Ray. W3C first because
 * it is the standard every modern tracer emits; a service that speaks several
 * formats writes the same ids into each, so order only matters for
 * inconsistent callers.
 */
const EXTRACTORS_BY_PRECEDENCE: readonly ContextExtractor[] = [
  extractW3cContext,
  extractB3SingleContext,
  extractB3MultiContext,
  extractJaegerContext,
  extractXrayContext,
];

/** The only header names read; everything else is skipped while indexing. */
export const CONTEXT_HEADER_NAMES: ReadonlySet<string> = new Set([
  TRACEPARENT,
  TRACESTATE,
  B3_SINGLE,
  B3_TRACE_ID,
  B3_SPAN_ID,
  B3_PARENT_SPAN_ID,
  B3_SAMPLED,
  B3_FLAGS,
  UBER_TRACE_ID,
  AMZN_TRACE_ID,
  X_REQUEST_ID,
  X_CORRELATION_ID,
  REQUEST_ID,
]);

export function extractTraceContext(headers: HeaderList): TraceContextExtraction {
  const index = indexHeaders(headers, CONTEXT_HEADER_NAMES);
  const all: TraceContext[] = [];
  const invalid: InvalidHeader[] = [];
  if (index.size === 0) return { all, correlationIds: {}, invalid };
  for (const extract of EXTRACTORS_BY_PRECEDENCE) {
    const context = extract(index, invalid);
    if (context !== undefined) all.push(context);
  }
  const correlationIds = extractCorrelationIds(index, invalid);
  const result: TraceContextExtraction = { all, correlationIds, invalid };
  if (all.length > 0) result.context = all[0];
  return result;
}

/** What a span needs of a request's propagation headers: the winning context and the correlation ids. */
export interface SpanContextExtraction {
  context: TraceContext | undefined;
  correlationIds: CorrelationIds;
}

const NO_CONTEXT_HEADERS: SpanContextExtraction = Object.freeze({ context: undefined, correlationIds: Object.freeze({}) });

/**
 * extractTraceContext for the span builder, on every request: the same
 * `context` and `correlationIds`, without the diagnostics. It stops at the
 * first valid context (lower-precedence formats could only add to `all` and
 * `invalid`, which spans do not keep), and a request without any
 * propagation header, the common case, costs one pass over its header names
 * and no allocation (the result is then a shared frozen object).
 */
export function extractSpanContext(headers: HeaderList): SpanContextExtraction {
  let wanted: Array<readonly [string, string]> | undefined;
  for (const header of headers) if (CONTEXT_HEADER_NAMES.has(header[0])) (wanted ??= []).push(header);
  if (wanted === undefined) return NO_CONTEXT_HEADERS;
  const lookup = new SmallHeaderLookup(wanted);
  // Reasons are not kept here; the extractors still need somewhere to put them.
  const invalid: InvalidHeader[] = [];
  let context: TraceContext | undefined;
  for (const extract of EXTRACTORS_BY_PRECEDENCE) {
    context = extract(lookup, invalid);
    if (context !== undefined) break;
  }
  return { context, correlationIds: extractCorrelationIds(lookup, invalid) };
}

/** HeaderLookup over the few propagation headers of one request: a scan beats building a Map for one to three. */
class SmallHeaderLookup implements HeaderLookup {
  constructor(private readonly headers: ReadonlyArray<readonly [string, string]>) {}

  get(name: string): readonly string[] | undefined {
    let values: string[] | undefined;
    for (const header of this.headers) if (header[0] === name) (values ??= []).push(header[1]);
    return values;
  }
}
