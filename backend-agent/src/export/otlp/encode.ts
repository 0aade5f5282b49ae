/**
 * Span model -> OTLP `ExportTraceServiceRequest` (opentelemetry-proto,
 * collector/trace/v1), protobuf-encoded.
 *
 * - One ResourceSpans per observed process: `service.name`, `host.name`,
 *   `process.pid`, `process.executable.name`, `container.id`. The command
 *   line is not exported: it can carry secrets and leaves the host here.
 * - One ScopeSpans, scope `wiretrace` with the agent version.
 * - Times: `startTimeUs` * 1000 and + `durationNs` as Unix nanoseconds
 *   (BigInt: Unix ns exceed 2^53).
 * - Parents: `parent_span_id` is set for header links and for inferred links
 *   with confidence >= PARENT_MIN_CONFIDENCE (socket joins, thread and
 *   correlation-id links, and timing links that had no competitor). Every
 *   inferred link is also exported as an OTLP span link carrying
 *   `wiretrace.link.method`, `.confidence`, `.alternatives` (and
 *   `wiretrace.network_time_ns` for socket joins), so a backend that shows
 *   links shows the guesses we did not dare to make parents.
 */
import type { AttributeValue, Span } from '../../model/span.js';
import { AGENT_VERSION } from '../../version.js';
import { ProtoWriter } from './proto-writer.js';

/**
 * Below this, an inferred parent is only a link. Timing links score at most
 * 0.9, and less as soon as another request was a plausible parent: a trace
 * tree in Tempo that is wrong is worse than one with an extra root.
 */
export const PARENT_MIN_CONFIDENCE = 0.9;

export const SCOPE_NAME = 'wiretrace';

/** Span attributes that describe the process: exported on the resource instead. */
const RESOURCE_KEYS = new Set(['process.pid', 'process.executable.name', 'container.id']);

const SPAN_KIND = { server: 2, client: 3 } as const;
const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

function hexBytes(hex: string, bytes: number): Uint8Array {
  const clean = hex.padStart(bytes * 2, '0').slice(-bytes * 2);
  return Buffer.from(clean, 'hex');
}

function writeAnyValue(w: ProtoWriter, value: AttributeValue): void {
  if (typeof value === 'string') {
    // Inside the AnyValue oneof, presence is the value: defaults (``, 0, false) are written too.
    w.string(1, value, true);
  } else if (typeof value === 'boolean') {
    w.bool(2, value, true);
  } else if (Number.isSafeInteger(value)) {
    w.int64(3, value, true);
  } else {
    w.double(4, value, true);
  }
}

function writeKeyValue(w: ProtoWriter, field: number, key: string, value: AttributeValue): void {
  w.message(field, (kv) => {
    kv.string(1, key);
    kv.message(2, (any) => writeAnyValue(any, value));
  });
}

function resourceKey(s: Span): string {
  const p = s.process;
  return JSON.stringify([p.hostName, p.pid, s.service, p.executableName, p.containerId ?? '']);
}

function resourceAttributes(s: Span): Array<[string, AttributeValue]> {
  const attrs: Array<[string, AttributeValue]> = [
    ['service.name', s.service],
    ['host.name', s.process.hostName],
    ['process.pid', s.process.pid],
    ['process.executable.name', s.process.executableName],
  ];
  if (s.process.containerId) attrs.push(['container.id', s.process.containerId]);
  attrs.push(['wiretrace.service_name.source', s.process.serviceNameSource]);
  return attrs;
}

/** True when the span's parent link becomes OTLP `parent_span_id`. */
export function isExportedParent(s: Span): boolean {
  if (!s.parentSpanId) return false;
  const link = s.parentLink;
  // A stored parent without link details came from a header at ingest.
  if (!link || link.method === 'header') return true;
  return link.confidence >= PARENT_MIN_CONFIDENCE;
}

function spanAttributes(s: Span): Array<[string, AttributeValue]> {
  const out: Array<[string, AttributeValue]> = [];
  for (const [k, v] of Object.entries(s.attributes)) if (!RESOURCE_KEYS.has(k)) out.push([k, v]);
  const has = (k: string): boolean => k in s.attributes;
  const add = (k: string, v: AttributeValue): void => {
    // An attribute as captured is never overridden by a derived one.
    if (!has(k)) out.push([k, v]);
  };
  add('peer.service', s.peerService);
  add('wiretrace.peer_local', s.peerLocal);
  add('wiretrace.trace_id_source', s.traceIdSource);
  add('wiretrace.connection.id', s.network.connectionId);
  add('wiretrace.exchange_index', s.network.exchangeIndex);
  add('http.request.size', s.network.requestBytes);
  add('http.response.size', s.network.responseBytes);
  add('wiretrace.capture_source', s.network.captureSource);
  if (s.network.truncated) add('wiretrace.truncated', true);
  if (s.parentLink) {
    add('wiretrace.link.method', s.parentLink.method);
    add('wiretrace.link.confidence', s.parentLink.confidence);
    if (s.parentLink.alternatives !== undefined) add('wiretrace.link.alternatives', s.parentLink.alternatives);
    if (s.parentLink.networkTimeNs !== undefined) add('wiretrace.network_time_ns', s.parentLink.networkTimeNs);
  }
  return out;
}

function writeSpan(w: ProtoWriter, s: Span): void {
  w.bytes(1, hexBytes(s.traceId, 16));
  w.bytes(2, hexBytes(s.spanId, 8));
  if (s.traceContext?.traceState) w.string(3, s.traceContext.traceState);
  if (isExportedParent(s)) w.bytes(4, hexBytes(s.parentSpanId!, 8));
  w.string(5, s.name);
  w.uint(6, SPAN_KIND[s.kind]);
  const startNs = BigInt(s.startTimeUs) * 1000n;
  w.fixed64(7, startNs);
  w.fixed64(8, startNs + BigInt(Math.max(0, Math.round(s.durationNs))));
  for (const [k, v] of spanAttributes(s)) writeKeyValue(w, 9, k, v);
  const link = s.parentLink;
  if (link && link.method !== 'header') {
    w.message(13, (l) => {
      l.bytes(1, hexBytes(s.traceId, 16));
      l.bytes(2, hexBytes(link.spanId, 8));
      writeKeyValue(l, 4, 'wiretrace.link.method', link.method);
      writeKeyValue(l, 4, 'wiretrace.link.confidence', link.confidence);
      writeKeyValue(l, 4, 'wiretrace.link.alternatives', link.alternatives ?? 0);
      if (link.networkTimeNs !== undefined) writeKeyValue(l, 4, 'wiretrace.network_time_ns', link.networkTimeNs);
    });
  }
  const code = STATUS_CODE[s.status];
  if (code !== 0) {
    w.message(15, (st) => {
      // Status.message is for errors only (OTLP: unset/ok carry none).
      if (s.status === 'error' && s.statusMessage) st.string(2, s.statusMessage);
      st.uint(3, code);
    });
  }
}

/** Encodes spans (assembled: trace ids final, inferred parents filled in) as one request. */
export function encodeTraceRequest(spans: readonly Span[]): Uint8Array {
  const byResource = new Map<string, Span[]>();
  for (const s of spans) {
    const key = resourceKey(s);
    const list = byResource.get(key);
    if (list) list.push(s);
    else byResource.set(key, [s]);
  }
  const w = new ProtoWriter(1024 + spans.length * 512);
  for (const group of byResource.values()) {
    const first = group[0]!;
    w.message(1, (rs) => {
      rs.message(1, (res) => {
        for (const [k, v] of resourceAttributes(first)) writeKeyValue(res, 1, k, v);
      });
      rs.message(2, (ss) => {
        ss.message(1, (scope) => {
          scope.string(1, SCOPE_NAME);
          scope.string(2, AGENT_VERSION);
        });
        for (const s of group) ss.message(2, (sw) => writeSpan(sw, s));
      });
    });
  }
  return w.finish();
}
