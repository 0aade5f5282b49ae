/**
 * Label values for the per-service RED histograms, chosen so that none can
 * grow without bound: methods outside the HTTP standard set collapse to
 * `_OTHER` (OpenTelemetry's rule), the route is the span's normalised
 * operation (ids already replaced by `{id}`; never the raw URL path), and the
 * status code is the numeric code or empty when no response came back.
 */
import type { Span } from '../model/span.js';

const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

export function methodLabel(span: Span): string | undefined {
  const method = span.attributes['http.request.method'];
  if (typeof method !== 'string') return undefined;
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** The operation without its method: `GET /items/{id}` -> `/items/{id}`. */
export function routeLabel(span: Span): string {
  const space = span.name.indexOf(' ');
  return space < 0 ? span.name : span.name.slice(space + 1);
}

export function statusCodeLabel(span: Span): string {
  const code = span.attributes['http.response.status_code'];
  return typeof code === 'number' ? String(code) : '';
}

/**
 * OpenTelemetry's `error.type`: the status code for responses that count as
 * errors on this side, `incomplete` when no response came back, else empty.
 */
export function errorTypeLabel(span: Span): string {
  if (span.status !== 'error') return '';
  const code = statusCodeLabel(span);
  return code || 'incomplete';
}
