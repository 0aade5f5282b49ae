/**
 * W3C Trace Context (Recommendation, Level 1): `traceparent` and `tracestate`.
 *
 *   traceparent: {version:2}-{trace-id:32}-{parent-id:16}-{trace-flags:2}, lowercase hex.
 *
 * Version 00 is exactly 55 characters. A higher version is parsed for the
 * same four fields, and whatever follows the flags must start with `-`, so
 * that a future version can append fields without breaking today's readers.
 * Version ff is reserved as invalid.
 */

import type { TraceContext } from '../model/span.js';
import { singleHeaderValue, trimOws, type HeaderLookup, type InvalidHeader } from './headers.js';
import { isAllZeros, isLowerHex } from './hex.js';
import { fail, ok, type ParseResult } from './parse-result.js';

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/** Length of a version-00 traceparent, and the prefix every version shares. */
const TRACEPARENT_LENGTH = 55;
const DASH = 0x2d;
const SAMPLED_FLAG = 0x01;

export interface Traceparent {
  version: string;
  traceId: string;
  parentId: string;
  /** The trace-flags byte; only bit 0 (sampled) is defined. */
  flags: number;
}

export function parseTraceparent(raw: string): ParseResult<Traceparent> {
  const value = trimOws(raw);
  const common = commonTraceparent(value);
  if (common !== undefined) return ok(common);
  if (value.length < TRACEPARENT_LENGTH) return fail(`too short: ${value.length} characters, need ${TRACEPARENT_LENGTH}`);
  if (!isLowerHex(value, 0, 2)) return fail('version is not 2 lowercase hex digits');
  const version = value.slice(0, 2);
  if (version === 'ff') return fail('version ff is invalid');
  if (version === '00' && value.length !== TRACEPARENT_LENGTH) {
    return fail(`version 00 must be exactly ${TRACEPARENT_LENGTH} characters, got ${value.length}`);
  }
  if (value.length > TRACEPARENT_LENGTH && value.charCodeAt(TRACEPARENT_LENGTH) !== DASH) {
    return fail('data after trace-flags must start with "-"');
  }
  if (value.charCodeAt(2) !== DASH || value.charCodeAt(35) !== DASH || value.charCodeAt(52) !== DASH) {
    return fail('fields are not separated by "-" at the expected positions');
  }
  if (!isLowerHex(value, 3, 35)) return fail('trace-id is not 32 lowercase hex digits');
  if (!isLowerHex(value, 36, 52)) return fail('parent-id is not 16 lowercase hex digits');
  if (!isLowerHex(value, 53, 55)) return fail('trace-flags is not 2 lowercase hex digits');
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  if (isAllZeros(traceId)) return fail('trace-id is all zeros');
  if (isAllZeros(parentId)) return fail('parent-id is all zeros');
  return ok({ version, traceId, parentId, flags: parseInt(value.slice(53, 55), 16) });
}

/**
 * The form nearly every request carries (version 00, exactly 55 characters,
 * valid), checked in one pass; undefined for anything else, which the full
 * checks above then judge and explain. Same result as those checks.
 */
function commonTraceparent(value: string): Traceparent | undefined {
  if (value.length !== TRACEPARENT_LENGTH || value.charCodeAt(0) !== ZERO || value.charCodeAt(1) !== ZERO) return undefined;
  if (value.charCodeAt(2) !== DASH || value.charCodeAt(35) !== DASH || value.charCodeAt(52) !== DASH) return undefined;
  let traceNonZero = false;
  for (let i = 3; i < 35; i++) {
    const c = value.charCodeAt(i);
    if (!isLowerHexCode(c)) return undefined;
    if (c !== ZERO) traceNonZero = true;
  }
  let parentNonZero = false;
  for (let i = 36; i < 52; i++) {
    const c = value.charCodeAt(i);
    if (!isLowerHexCode(c)) return undefined;
    if (c !== ZERO) parentNonZero = true;
  }
  if (!traceNonZero || !parentNonZero) return undefined;
  const high = hexValue(value.charCodeAt(53));
  const low = hexValue(value.charCodeAt(54));
  if (high < 0 || low < 0) return undefined;
  return { version: '00', traceId: value.slice(3, 35), parentId: value.slice(36, 52), flags: high * 16 + low };
}

const ZERO = 0x30;

function isLowerHexCode(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

/** Value of a lowercase hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

export const TRACESTATE_MAX_MEMBERS = 32;
const MAX_SIMPLE_KEY = 256;
const MAX_TENANT_ID = 241;
const MAX_SYSTEM_ID = 14;
const MAX_VALUE = 256;

/**
 * Validates a tracestate list (repeated headers already joined with `,`) and
 * returns it normalised: members OWS-trimmed, empty members dropped, joined by
 * `,`. `undefined` when the list holds no member. Any invalid member, more than
 * 32 members or a duplicate key rejects the whole list, as the spec requires.
 */
export function parseTracestate(list: string): ParseResult<string | undefined> {
  const members: string[] = [];
  const keys = new Set<string>();
  let start = 0;
  while (start <= list.length) {
    let end = list.indexOf(',', start);
    if (end === -1) end = list.length;
    const member = trimOws(list.slice(start, end));
    start = end + 1;
    if (member.length === 0) continue; // empty list-members are allowed and do not count
    if (members.length === TRACESTATE_MAX_MEMBERS) return fail(`more than ${TRACESTATE_MAX_MEMBERS} list-members`);
    const eq = member.indexOf('=');
    if (eq <= 0) return fail(`list-member "${clip(member)}" is not key=value`);
    const key = member.slice(0, eq);
    if (!isTracestateKey(key)) return fail(`invalid key "${clip(key)}"`);
    if (!isTracestateValue(member, eq + 1)) return fail(`invalid value for key "${key}"`);
    if (keys.has(key)) return fail(`duplicate key "${key}"`);
    keys.add(key);
    members.push(member);
  }
  return ok(members.length === 0 ? undefined : members.join(','));
}

/** key = simple-key / tenant-id "@" system-id */
export function isTracestateKey(key: string): boolean {
  const at = key.indexOf('@');
  if (at === -1) {
    return key.length <= MAX_SIMPLE_KEY && isLcAlpha(key.charCodeAt(0)) && areKeyChars(key, 1, key.length);
  }
  const tenantLength = at;
  const systemLength = key.length - at - 1;
  if (tenantLength < 1 || tenantLength > MAX_TENANT_ID) return false;
  if (systemLength < 1 || systemLength > MAX_SYSTEM_ID) return false;
  const tenantFirst = key.charCodeAt(0);
  if (!isLcAlpha(tenantFirst) && !isDigit(tenantFirst)) return false;
  if (!isLcAlpha(key.charCodeAt(at + 1))) return false;
  return areKeyChars(key, 1, at) && areKeyChars(key, at + 2, key.length);
}

/** value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = printable ASCII except "," and "=". */
export function isTracestateValue(member: string, start = 0): boolean {
  const length = member.length - start;
  if (length < 1 || length > MAX_VALUE) return false;
  for (let i = start; i < member.length; i++) {
    const c = member.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x2c || c === 0x3d) return false;
  }
  return member.charCodeAt(member.length - 1) !== 0x20;
}

function areKeyChars(key: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = key.charCodeAt(i);
    // lcalpha / DIGIT / "_" / "-" / "*" / "/"
    if (!(isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2a || c === 0x2f)) return false;
  }
  return true;
}

function isLcAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Keeps reasons short when a member is huge or hostile. */
function clip(text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 40)}...`;
}

/**
 * The W3C context of a request, if any. An invalid traceparent makes the
 * tracestate meaningless (it belongs to the parent), so it is then not read;
 * an invalid tracestate is dropped alone and the traceparent kept.
 */
export function extractW3cContext(headers: HeaderLookup, invalid: InvalidHeader[]): TraceContext | undefined {
  const raw = singleHeaderValue(headers, TRACEPARENT, invalid);
  if (raw === undefined) return undefined;
  const parsed = parseTraceparent(raw);
  if (!parsed.ok) {
    invalid.push({ header: TRACEPARENT, reason: parsed.reason });
    return undefined;
  }
  const { traceId, parentId, flags } = parsed.value;
  const context: TraceContext = { source: 'w3c', traceId, callerSpanId: parentId, sampled: (flags & SAMPLED_FLAG) !== 0 };
  const stateValues = headers.get(TRACESTATE);
  if (stateValues !== undefined && stateValues.length > 0) {
    // Repeated tracestate headers form one list (RFC 9110 field-line combination).
    const state = parseTracestate(stateValues.length === 1 ? stateValues[0] : stateValues.join(','));
    if (!state.ok) invalid.push({ header: TRACESTATE, reason: state.reason });
    else if (state.value !== undefined) context.traceState = state.value;
  }
  return context;
}
