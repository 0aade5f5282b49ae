/**
 * Jaeger native propagation: `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`.
 *
 * Jaeger clients write ids as hex without leading zeros and parse them
 * case-insensitively, so both cases are accepted here and the ids lowercased
 * and left-padded to the widths of TraceContext.
 */

import type { TraceContext } from '../model/span.js';
import { singleHeaderValue, trimOws, type HeaderLookup, type InvalidHeader } from './headers.js';
import { isAllZeros, isHexAnyCase, padHex } from './hex.js';
import { fail, ok, type ParseResult } from './parse-result.js';

export const UBER_TRACE_ID = 'uber-trace-id';

const SAMPLED_FLAG = 0x01;
/** Some clients URL-encode the header value, turning every `:` into `%3A`. */
const ENCODED_COLON = /%3a/gi;

export function parseUberTraceId(raw: string): ParseResult<TraceContext> {
  let value = trimOws(raw);
  if (value.includes('%')) value = value.replace(ENCODED_COLON, ':');
  const fields = value.split(':', 5);
  if (fields.length !== 4) return fail('expected {trace-id}:{span-id}:{parent-span-id}:{flags}');
  const [traceId = '', spanId = '', parentSpanId = '', flags = ''] = fields;
  if (traceId.length > 32 || !isHexAnyCase(traceId)) return fail('trace id is not 1-32 hex digits');
  if (spanId.length > 16 || !isHexAnyCase(spanId)) return fail('span id is not 1-16 hex digits');
  if (parentSpanId.length > 16 || !isHexAnyCase(parentSpanId)) return fail('parent span id is not 1-16 hex digits');
  if (flags.length > 2 || !isHexAnyCase(flags)) return fail('flags is not 1-2 hex digits');
  if (isAllZeros(traceId)) return fail('trace id is zero');
  if (isAllZeros(spanId)) return fail('span id is zero');
  const context: TraceContext = {
    source: 'jaeger',
    traceId: padHex(traceId.toLowerCase(), 32),
    callerSpanId: padHex(spanId.toLowerCase(), 16),
    sampled: (parseInt(flags, 16) & SAMPLED_FLAG) !== 0,
  };
  // A zero parent (the usual "0") means the caller's span is a root.
  if (!isAllZeros(parentSpanId)) context.callerParentSpanId = padHex(parentSpanId.toLowerCase(), 16);
  return ok(context);
}

export function extractJaegerContext(headers: HeaderLookup, invalid: InvalidHeader[]): TraceContext | undefined {
  const raw = singleHeaderValue(headers, UBER_TRACE_ID, invalid);
  if (raw === undefined) return undefined;
  const parsed = parseUberTraceId(raw);
  if (!parsed.ok) {
    invalid.push({ header: UBER_TRACE_ID, reason: parsed.reason });
    return undefined;
  }
  return parsed.value;
}
