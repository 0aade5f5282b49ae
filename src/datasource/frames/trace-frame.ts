/**
 * Spans of one trace (possibly from several agents) -> the frame Grafana's
 * trace view reads (TraceSpanRow in @grafana/data): one row per span,
 * startTime and duration in milliseconds, preferredVisualisationType 'trace'.
 */
import { createDataFrame, FieldType, type DataFrame, type TraceKeyValuePair } from '@grafana/data';
import type { Span } from '../agents/native-api';

/** Trace view statusCode: 0 unset, 1 ok, 2 error (OpenTelemetry's numbering). */
const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

/**
 * The same span can come back from two agents only if both stored it; a span
 * is identified by id and side (client and server spans of a call may share ids).
 */
export function mergeTraceSpans(perAgent: ReadonlyArray<readonly Span[]>): Span[] {
  const byKey = new Map<string, Span>();
  for (const spans of perAgent) for (const s of spans) if (!byKey.has(`${s.spanId}|${s.kind}`)) byKey.set(`${s.spanId}|${s.kind}`, s);
  return [...byKey.values()].sort((a, b) => a.startTimeUs - b.startTimeUs || (a.kind === b.kind ? 0 : a.kind === 'client' ? -1 : 1));
}

function kv(key: string, value: string | number | boolean): TraceKeyValuePair {
  return { key, value };
}

export function spanTags(s: Span): TraceKeyValuePair[] {
  const tags = Object.entries(s.attributes).map(([k, v]) => kv(k, v));
  const has = new Set(Object.keys(s.attributes));
  const add = (key: string, value: string | number | boolean | undefined) => {
    if (value !== undefined && !has.has(key)) tags.push(kv(key, value));
  };
  add('span.kind', s.kind);
  if (s.status === 'error') add('error', true);
  add('peer.service', s.peerService);
  add('network.local.address', s.network.local.address);
  add('network.local.port', s.network.local.port);
  add('network.peer.address', s.network.remote.address);
  add('network.peer.port', s.network.remote.port);
  add('http.request.size', s.network.requestBytes);
  add('http.response.size', s.network.responseBytes);
  add('thread.id', s.threadId);
  add('net.connection.id', s.network.connectionId);
  add('wiretrace.exchange_index', s.network.exchangeIndex);
  // Exact duration: loopback calls are far below the view's ms resolution.
  add('wiretrace.duration_ns', s.durationNs);
  add('wiretrace.request.transfer_ns', s.network.requestTransferNs);
  add('wiretrace.response.transfer_ns', s.network.responseTransferNs);
  add('wiretrace.capture_source', s.network.captureSource);
  if (s.network.truncated) add('wiretrace.truncated', true);
  add('wiretrace.peer_local', s.peerLocal);
  add('wiretrace.trace_id_source', s.traceIdSource);
  if (s.parentLink) {
    add('wiretrace.link.method', s.parentLink.method);
    add('wiretrace.link.confidence', s.parentLink.confidence);
    // The waterfall draws inferred links with their alternatives and a socket join's network time.
    add('wiretrace.link.alternatives', s.parentLink.alternatives);
    add('wiretrace.network_time_ns', s.parentLink.networkTimeNs);
  }
  return tags;
}

export function processTags(s: Span): TraceKeyValuePair[] {
  const p = s.process;
  // service.name lets Grafana's trace-to-logs/metrics links filter by service.
  const tags = [kv('service.name', p.serviceName), kv('process.pid', p.pid), kv('process.executable.name', p.executableName)];
  if (p.commandLine) tags.push(kv('process.command_line', p.commandLine));
  if (p.containerId) tags.push(kv('container.id', p.containerId));
  tags.push(kv('host.name', p.hostName), kv('wiretrace.service_name.source', p.serviceNameSource));
  return tags;
}

function warnings(s: Span, ids: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if (s.parentSpanId && !ids.has(s.parentSpanId)) {
    out.push(`parent span ${s.parentSpanId} was not captured: the caller is outside wiretrace's view`);
  }
  if (s.network.truncated) out.push('payload cut by the capture limit: sizes are exact, content partial');
  return out;
}

/** `spans` must all belong to `traceId`; pass them merged (mergeTraceSpans). */
export function traceFrame(traceId: string, spans: readonly Span[], refId?: string): DataFrame {
  const ids = new Set(spans.map((s) => s.spanId));
  const frame = createDataFrame({
    name: `Trace ${traceId}`,
    ...(refId !== undefined ? { refId } : {}),
    meta: { preferredVisualisationType: 'trace' },
    fields: [
      { name: 'traceID', type: FieldType.string, values: spans.map(() => traceId) },
      { name: 'spanID', type: FieldType.string, values: spans.map((s) => s.spanId) },
      { name: 'parentSpanID', type: FieldType.string, values: spans.map((s) => s.parentSpanId ?? '') },
      { name: 'operationName', type: FieldType.string, values: spans.map((s) => s.name) },
      { name: 'serviceName', type: FieldType.string, values: spans.map((s) => s.service) },
      { name: 'serviceTags', type: FieldType.other, values: spans.map(processTags) },
      // µs -> ms; fractions keep sub-ms precision.
      { name: 'startTime', type: FieldType.number, values: spans.map((s) => s.startTimeUs / 1000), config: { unit: 'ms' } },
      // ns -> ms.
      { name: 'duration', type: FieldType.number, values: spans.map((s) => s.durationNs / 1e6), config: { unit: 'ms' } },
      { name: 'tags', type: FieldType.other, values: spans.map(spanTags) },
      { name: 'kind', type: FieldType.string, values: spans.map((s) => s.kind) },
      { name: 'statusCode', type: FieldType.number, values: spans.map((s) => STATUS_CODE[s.status]) },
      { name: 'statusMessage', type: FieldType.string, values: spans.map((s) => s.statusMessage ?? '') },
      { name: 'warnings', type: FieldType.other, values: spans.map((s) => warnings(s, ids)) },
    ],
  });
  return frame;
}
