/**
 * Zipkin B3 propagation, single-header (`b3`) and multi-header (`x-b3-*`).
 *
 * Ids are lowercase hex only: B3 says "lower-hex", and accepting uppercase
 * would let two spellings of one id split a trace. 64-bit trace ids are
 * left-padded to 128 bits, as every B3 implementation does when joining.
 */

import type { TraceContext } from '../model/span.js';
import { singleHeaderValue, trimOws, type HeaderLookup, type InvalidHeader } from './headers.js';
import { isAllZeros, isLowerHex, padHex } from './hex.js';
import { fail, ok, type ParseResult } from './parse-result.js';

export const B3_SINGLE = 'b3';
export const B3_TRACE_ID = 'x-b3-traceid';
export const B3_SPAN_ID = 'x-b3-spanid';
export const B3_PARENT_SPAN_ID = 'x-b3-parentspanid';
export const B3_SAMPLED = 'x-b3-sampled';
export const B3_FLAGS = 'x-b3-flags';

/** A `b3` header carries a full context, or only a sampling decision (`b3: 0`). */
export type B3SingleValue =
  | { kind: 'context'; context: TraceContext }
  | { kind: 'sampling-only'; sampled: boolean };

function traceIdFailure(traceId: string): string | undefined {
  if ((traceId.length !== 16 && traceId.length !== 32) || !isLowerHex(traceId)) {
    return 'trace id is not 16 or 32 lowercase hex digits';
  }
  return isAllZeros(traceId) ? 'trace id is all zeros' : undefined;
}

/** For span ids and parent span ids. */
function spanIdFailure(spanId: string, what: string): string | undefined {
  if (spanId.length !== 16 || !isLowerHex(spanId)) return `${what} is not 16 lowercase hex digits`;
  return isAllZeros(spanId) ? `${what} is all zeros` : undefined;
}

/** b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]], or just {sampling}. */
export function parseB3Single(raw: string): ParseResult<B3SingleValue> {
  const value = trimOws(raw);
  const samplingOnly = samplingState(value);
  if (samplingOnly !== undefined) return ok({ kind: 'sampling-only', sampled: samplingOnly });
  const fields = value.split('-', 5);
  if (fields.length < 2 || fields.length > 4) return fail('expected {traceid}-{spanid}[-{sampling}[-{parentspanid}]]');
  const [traceId = '', spanId = '', sampling, parentSpanId] = fields;
  const problem =
    traceIdFailure(traceId) ??
    spanIdFailure(spanId, 'span id') ??
    (parentSpanId === undefined ? undefined : spanIdFailure(parentSpanId, 'parent span id'));
  if (problem !== undefined) return fail(problem);
  const context: TraceContext = { source: 'b3-single', traceId: padHex(traceId, 32), callerSpanId: spanId };
  if (sampling !== undefined) {
    const sampled = samplingState(sampling);
    if (sampled === undefined) return fail('sampling state is not 1, 0 or d');
    context.sampled = sampled;
  }
  if (parentSpanId !== undefined) context.callerParentSpanId = parentSpanId;
  return ok({ kind: 'context', context });
}

/** `d` (debug) implies an accept decision. */
function samplingState(value: string): boolean | undefined {
  if (value === '1' || value === 'd') return true;
  if (value === '0') return false;
  return undefined;
}

/** The raw `x-b3-*` values of one request; absent headers are undefined. */
export interface B3MultiFields {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  sampled?: string;
  flags?: string;
}

/**
 * The multi-header context. `undefined` when there are no ids (a bare
 * `x-b3-sampled` is a sampling decision without a trace). Any malformed
 * header rejects the lot: a context half-read is worse than none.
 */
export function parseB3Multi(fields: B3MultiFields): ParseResult<TraceContext | undefined> {
  let sampled: boolean | undefined;
  if (fields.sampled !== undefined) {
    sampled = multiSampled(trimOws(fields.sampled));
    if (sampled === undefined) return fail('not one of 1, 0, true, false', B3_SAMPLED);
  }
  if (fields.flags !== undefined) {
    const flags = trimOws(fields.flags);
    // "1" is debug, which implies sampled; "0" was sent by old Finagle clients and means nothing.
    if (flags === '1') sampled = true;
    else if (flags !== '0') return fail('not 1 (debug) or 0', B3_FLAGS);
  }
  const traceId = fields.traceId === undefined ? undefined : trimOws(fields.traceId);
  const spanId = fields.spanId === undefined ? undefined : trimOws(fields.spanId);
  const parentSpanId = fields.parentSpanId === undefined ? undefined : trimOws(fields.parentSpanId);
  if (traceId === undefined && spanId === undefined) {
    return parentSpanId === undefined ? ok(undefined) : fail('present without trace and span ids', B3_PARENT_SPAN_ID);
  }
  if (traceId === undefined) return fail('missing while x-b3-spanid is present', B3_TRACE_ID);
  if (spanId === undefined) return fail('missing while x-b3-traceid is present', B3_SPAN_ID);
  const traceProblem = traceIdFailure(traceId);
  if (traceProblem !== undefined) return fail(traceProblem, B3_TRACE_ID);
  const spanProblem = spanIdFailure(spanId, 'span id');
  if (spanProblem !== undefined) return fail(spanProblem, B3_SPAN_ID);
  if (parentSpanId !== undefined) {
    const parentProblem = spanIdFailure(parentSpanId, 'parent span id');
    if (parentProblem !== undefined) return fail(parentProblem, B3_PARENT_SPAN_ID);
  }
  const context: TraceContext = { source: 'b3', traceId: padHex(traceId, 32), callerSpanId: spanId };
  if (parentSpanId !== undefined) context.callerParentSpanId = parentSpanId;
  if (sampled !== undefined) context.sampled = sampled;
  return ok(context);
}

/** B3 says 1/0; "true"/"false" are what older clients sent. */
function multiSampled(value: string): boolean | undefined {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  return undefined;
}

export function extractB3SingleContext(headers: HeaderLookup, invalid: InvalidHeader[]): TraceContext | undefined {
  const raw = singleHeaderValue(headers, B3_SINGLE, invalid);
  if (raw === undefined) return undefined;
  const parsed = parseB3Single(raw);
  if (!parsed.ok) {
    invalid.push({ header: B3_SINGLE, reason: parsed.reason });
    return undefined;
  }
  return parsed.value.kind === 'context' ? parsed.value.context : undefined;
}

export function extractB3MultiContext(headers: HeaderLookup, invalid: InvalidHeader[]): TraceContext | undefined {
  const before = invalid.length;
  const fields: B3MultiFields = {};
  const traceId = singleHeaderValue(headers, B3_TRACE_ID, invalid);
  const spanId = singleHeaderValue(headers, B3_SPAN_ID, invalid);
  const parentSpanId = singleHeaderValue(headers, B3_PARENT_SPAN_ID, invalid);
  const sampled = singleHeaderValue(headers, B3_SAMPLED, invalid);
  const flags = singleHeaderValue(headers, B3_FLAGS, invalid);
  if (invalid.length !== before) return undefined; // a repeated x-b3-* header
  if (traceId !== undefined) fields.traceId = traceId;
  if (spanId !== undefined) fields.spanId = spanId;
  if (parentSpanId !== undefined) fields.parentSpanId = parentSpanId;
  if (sampled !== undefined) fields.sampled = sampled;
  if (flags !== undefined) fields.flags = flags;
  const parsed = parseB3Multi(fields);
  if (!parsed.ok) {
    invalid.push({ header: parsed.header ?? B3_TRACE_ID, reason: parsed.reason });
    return undefined;
  }
  return parsed.value;
}
