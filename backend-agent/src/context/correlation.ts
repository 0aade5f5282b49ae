/**
 * Correlation ids: request ids that proxies and frameworks pass along. They
 * are not trace contexts, but they let the agent join hops that carry no
 * trace header (issue #3's correlation-id links).
 */

import { singleHeaderValue, trimOws, type HeaderLookup, type InvalidHeader } from './headers.js';
import { fail, ok, type ParseResult } from './parse-result.js';

export const X_REQUEST_ID = 'x-request-id';
export const X_CORRELATION_ID = 'x-correlation-id';
/** The un-prefixed form, used by ASP.NET and Azure (`Request-Id: |abc.1.`). */
export const REQUEST_ID = 'request-id';

/** A type alias, not an interface, so it stays assignable to `Record<string, string | undefined>`. */
export type CorrelationIds = {
  /** From `x-request-id`. */
  requestId?: string;
  /** From `x-correlation-id`. */
  correlationId?: string;
  /** From `request-id` (no `x-`). */
  bareRequestId?: string;
};

export const MAX_CORRELATION_ID_LENGTH = 256;

/** Trims OWS; rejects empty, over-long and control-character values (they end up in storage and UIs). */
export function parseCorrelationId(raw: string): ParseResult<string> {
  const value = trimOws(raw);
  if (value.length === 0) return fail('empty');
  if (value.length > MAX_CORRELATION_ID_LENGTH) return fail(`longer than ${MAX_CORRELATION_ID_LENGTH} characters`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return fail('contains a control character');
  }
  return ok(value);
}

export function extractCorrelationIds(headers: HeaderLookup, invalid: InvalidHeader[]): CorrelationIds {
  const ids: CorrelationIds = {};
  const requestId = readCorrelationId(headers, X_REQUEST_ID, invalid);
  const correlationId = readCorrelationId(headers, X_CORRELATION_ID, invalid);
  const bareRequestId = readCorrelationId(headers, REQUEST_ID, invalid);
  if (requestId !== undefined) ids.requestId = requestId;
  if (correlationId !== undefined) ids.correlationId = correlationId;
  if (bareRequestId !== undefined) ids.bareRequestId = bareRequestId;
  return ids;
}

function readCorrelationId(headers: HeaderLookup, name: string, invalid: InvalidHeader[]): string | undefined {
  const raw = singleHeaderValue(headers, name, invalid);
  if (raw === undefined) return undefined;
  const parsed = parseCorrelationId(raw);
  if (!parsed.ok) {
    invalid.push({ header: name, reason: parsed.reason });
    return undefined;
  }
  return parsed.value;
}

/** Index of the UUID version nibble: `xxxxxxxx-xxxx-Vxxx-...`. */
const UUID_VERSION_INDEX = 14;
const UUID_LENGTH = 36;

/**
 * A form of a request id under which the hops of one request compare equal.
 *
 * Envoy generates UUIDv4 x-request-ids and then overwrites the version
 * nibble with its trace-sampling decision, so the same id reads `...-4...`
 * at one hop and `...-9...`/`-a`/`-b` at the next. For UUID-shaped ids the
 * canonical form is lowercase with that nibble set back to `4` (the id as
 * first generated); any other id is returned unchanged.
 */
export function normaliseRequestId(id: string): string {
  if (!isUuidShaped(id)) return id;
  const lower = id.toLowerCase();
  if (lower.charCodeAt(UUID_VERSION_INDEX) === 0x34) return lower;
  return `${lower.slice(0, UUID_VERSION_INDEX)}4${lower.slice(UUID_VERSION_INDEX + 1)}`;
}

function isUuidShaped(id: string): boolean {
  if (id.length !== UUID_LENGTH) return false;
  for (let i = 0; i < UUID_LENGTH; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) {
      return false;
    }
  }
  return true;
}
