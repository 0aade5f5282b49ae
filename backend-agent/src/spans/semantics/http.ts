/**
 * HTTP/1.x and HTTP/2 exchanges as OpenTelemetry HTTP spans
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/).
 */
import type { HeaderList, ObservedExchange } from '../../model/exchange.js';
import type { Attributes, SpanStatus } from '../../model/span.js';
import { operationName } from '../operation-name.js';
import { setHeaderAttribute } from '../attribute-keys.js';
import { MAX_ATTRIBUTE, type ProtocolSemantics, type SemanticsDeps } from './types.js';

export function httpSemantics(ex: ObservedExchange, deps: SemanticsDeps, attributes: Attributes): ProtocolSemantics {
  const { connection: conn, request: req, response: res } = ex;
  const kind = conn.role;
  const query = req.query ? deps.redactQuery(req.query) : '';
  const urlPath = deps.redactPath(req.path);
  attributes['http.request.method'] = req.method;
  attributes['url.path'] = urlPath;
  attributes['url.scheme'] = conn.captureSource === 'tls' ? 'https' : 'http';
  attributes['network.protocol.name'] = 'http';
  attributes['network.protocol.version'] = req.version;
  attributes['http.request.body.size'] = req.bodyBytes;
  attributes['http.request.size'] = req.headerBytes + req.bodyBytes;
  if (query) attributes['url.query'] = query;
  const host = headerValue(req.headers, 'host') ?? headerValue(req.headers, ':authority');
  if (host) attributes['server.address'] = stripPort(host);
  if (res) {
    attributes['http.response.status_code'] = res.statusCode;
    attributes['http.response.body.size'] = res.bodyBytes;
    attributes['http.response.size'] = res.headerBytes + res.bodyBytes;
  }
  const userAgent = headerValue(req.headers, 'user-agent');
  if (userAgent) attributes['user_agent.original'] = userAgent.slice(0, MAX_ATTRIBUTE);
  // Headers kept as attributes go through redaction first: the scheme of an
  // Authorization header is worth seeing, its credentials never are, and a
  // user recording a sensitive header by name still gets it redacted.
  const recorded = deps.recordHeaders;
  const kept = keptHeaders(req.headers, recorded);
  if (kept) {
    for (const [name, value] of deps.redactHeaders(kept)) {
      setHeaderAttribute(attributes, name, value.slice(0, MAX_ATTRIBUTE));
    }
  }
  const semantics: ProtocolSemantics = { name: operationName(req.method, urlPath), status: 'unset' };
  if (res && res.statusCode < 400) return semantics; // the common case: no status object to build
  const { status, message } = httpStatus(kind, res?.statusCode, ex.incompleteReason);
  semantics.status = status;
  if (message) semantics.statusMessage = message;
  return semantics;
}

/** The request headers stored as attributes (Authorization and the recorded ones), or undefined when there are none. */
function keptHeaders(headers: HeaderList, recorded: readonly string[] | undefined): HeaderList | undefined {
  let kept: Array<readonly [string, string]> | undefined;
  for (const header of headers) {
    const name = header[0];
    if (name === 'authorization' || (recorded !== undefined && recorded.includes(name))) (kept ??= []).push(header);
  }
  return kept;
}

/** OpenTelemetry HTTP semantics: 4xx is an error for the client, not for the server. */
export function httpStatus(
  kind: 'client' | 'server',
  statusCode: number | undefined,
  incompleteReason: string | undefined,
): { status: SpanStatus; message?: string } {
  if (statusCode === undefined) return { status: 'error', message: incompleteReason ?? 'no response' };
  if (statusCode >= 500) return { status: 'error', message: `HTTP ${statusCode}` };
  if (statusCode >= 400 && kind === 'client') return { status: 'error', message: `HTTP ${statusCode}` };
  return { status: 'unset' };
}

export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (const header of headers) if (header[0] === name) return header[1];
  return undefined;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined);
  const colon = host.lastIndexOf(':');
  return colon > 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}
