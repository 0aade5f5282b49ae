/**
 * AWS X-Ray: `x-amzn-trace-id: Root=1-{time:8}-{random:24};Parent={16};Sampled={0|1|?}`.
 *
 * Fields come in any order and others may follow (`Self=` added by load
 * balancers, `Lineage=`, custom data); only Root, Parent and Sampled matter.
 * Field names are case-sensitive, as in the AWS SDKs.
 */

import type { TraceContext } from '../model/span.js';
import { singleHeaderValue, trimOws, type HeaderLookup, type InvalidHeader } from './headers.js';
import { isAllZeros, isLowerHex } from './hex.js';
import { fail, ok, type ParseResult } from './parse-result.js';

export const AMZN_TRACE_ID = 'x-amzn-trace-id';

/** `1-` + 8 + `-` + 24. */
const ROOT_LENGTH = 35;

export function parseXrayTraceId(raw: string): ParseResult<TraceContext> {
  let root: string | undefined;
  let parent: string | undefined;
  let sampled: string | undefined;
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf(';', start);
    if (end === -1) end = raw.length;
    const field = trimOws(raw.slice(start, end));
    start = end + 1;
    if (field.length === 0) continue;
    const eq = field.indexOf('=');
    const name = eq === -1 ? field : field.slice(0, eq);
    const fieldValue = eq === -1 ? '' : trimOws(field.slice(eq + 1));
    if (name === 'Root') {
      if (root !== undefined) return fail('repeated Root field');
      root = fieldValue;
    } else if (name === 'Parent') {
      if (parent !== undefined) return fail('repeated Parent field');
      parent = fieldValue;
    } else if (name === 'Sampled') {
      if (sampled !== undefined) return fail('repeated Sampled field');
      sampled = fieldValue;
    }
  }
  if (root === undefined) return fail('no Root field');
  if (
    root.length !== ROOT_LENGTH ||
    !root.startsWith('1-') ||
    root.charCodeAt(10) !== 0x2d ||
    !isLowerHex(root, 2, 10) ||
    !isLowerHex(root, 11, ROOT_LENGTH)
  ) {
    return fail('Root is not 1-{8 lowercase hex}-{24 lowercase hex}');
  }
  const traceId = root.slice(2, 10) + root.slice(11);
  if (isAllZeros(traceId)) return fail('Root trace id is all zeros');
  const context: TraceContext = { source: 'xray', traceId };
  if (parent !== undefined) {
    if (parent.length !== 16 || !isLowerHex(parent)) return fail('Parent is not 16 lowercase hex digits');
    if (isAllZeros(parent)) return fail('Parent is all zeros');
    context.callerSpanId = parent;
  }
  if (sampled !== undefined) {
    // "?" asks the receiver to decide: no decision yet.
    if (sampled === '1') context.sampled = true;
    else if (sampled === '0') context.sampled = false;
    else if (sampled !== '?') return fail('Sampled is not 0, 1 or ?');
  }
  return ok(context);
}

export function extractXrayContext(headers: HeaderLookup, invalid: InvalidHeader[]): TraceContext | undefined {
  const raw = singleHeaderValue(headers, AMZN_TRACE_ID, invalid);
  if (raw === undefined) return undefined;
  const parsed = parseXrayTraceId(raw);
  if (!parsed.ok) {
    invalid.push({ header: AMZN_TRACE_ID, reason: parsed.reason });
    return undefined;
  }
  return parsed.value;
}
