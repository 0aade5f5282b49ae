/**
 * Span model -> Jaeger query-service JSON (the shape Jaeger's /api/traces
 * returns and Grafana's Jaeger data source reads). Units: startTime is Unix
 * µs; duration is integer µs, rounded, at least 1 for a span that is not
 * zero-length; the exact nanoseconds are kept in the `wiretrace.duration_ns`
 * tag because loopback calls are often shorter than a microsecond.
 */
import type { AttributeValue, ProcessInfo, Span } from '../../model/span.js';

export type JaegerTagType = 'string' | 'bool' | 'int64' | 'float64';

export interface JaegerTag {
  key: string;
  type: JaegerTagType;
  value: string | number | boolean;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags: number;
  operationName: string;
  references: JaegerReference[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: never[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerTag[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

export function tag(key: string, value: AttributeValue): JaegerTag {
  if (typeof value === 'boolean') return { key, type: 'bool', value };
  if (typeof value === 'number') return { key, type: Number.isInteger(value) ? 'int64' : 'float64', value };
  return { key, type: 'string', value };
}

/** Integer µs as Jaeger stores it; never 0 for a span that took any time. */
export function durationMicros(durationNs: number): number {
  if (durationNs <= 0) return 0;
  return Math.max(1, Math.round(durationNs / 1000));
}

const OTEL_STATUS: Record<Span['status'], string | undefined> = { unset: undefined, ok: 'OK', error: 'ERROR' };

/**
 * The span's tags: its OTel attributes first (as captured), then what the
 * model holds outside attributes, under OTel names where one exists and
 * `wiretrace.*` otherwise. A derived tag never overrides an attribute of the
 * same key.
 */
export function spanTags(span: Span): JaegerTag[] {
  const tags: JaegerTag[] = Object.entries(span.attributes ?? {}).map(([k, v]) => tag(k, v));
  const seen = new Set(tags.map((t) => t.key));
  const add = (key: string, value: AttributeValue | undefined) => {
    if (value === undefined || seen.has(key)) return;
    seen.add(key);
    tags.push(tag(key, value));
  };
  const net = span.network;
  add('span.kind', span.kind);
  if (span.status === 'error') add('error', true);
  add('otel.status_code', OTEL_STATUS[span.status]);
  add('otel.status_description', span.statusMessage);
  add('peer.service', span.peerService);
  add('network.local.address', net?.local.address);
  add('network.local.port', net?.local.port);
  add('network.peer.address', net?.remote.address);
  add('network.peer.port', net?.remote.port);
  add('http.request.size', net?.requestBytes);
  add('http.response.size', net?.responseBytes);
  add('thread.id', span.threadId);
  add('net.connection.id', net?.connectionId);
  add('wiretrace.exchange_index', net?.exchangeIndex);
  add('wiretrace.duration_ns', span.durationNs);
  add('wiretrace.request.transfer_ns', net?.requestTransferNs);
  add('wiretrace.response.transfer_ns', net?.responseTransferNs);
  add('wiretrace.capture_source', net?.captureSource);
  if (net?.truncated) add('wiretrace.truncated', true);
  add('wiretrace.peer_local', span.peerLocal);
  add('wiretrace.trace_id_source', span.traceIdSource);
  if (span.traceContext) add('wiretrace.trace_context.source', span.traceContext.source);
  if (span.parentLink) {
    add('wiretrace.link.method', span.parentLink.method);
    // Always float64, so the tag's type does not flip between 1 and 0.7.
    if (!seen.has('wiretrace.link.confidence')) {
      seen.add('wiretrace.link.confidence');
      tags.push({ key: 'wiretrace.link.confidence', type: 'float64', value: span.parentLink.confidence });
    }
    add('wiretrace.link.alternatives', span.parentLink.alternatives);
    add('wiretrace.network_time_ns', span.parentLink.networkTimeNs);
  }
  return tags;
}

export function processTags(p: ProcessInfo): JaegerTag[] {
  const tags: JaegerTag[] = [tag('process.pid', p.pid), tag('process.executable.name', p.executableName)];
  if (p.commandLine !== undefined) tags.push(tag('process.command_line', p.commandLine));
  if (p.containerId !== undefined) tags.push(tag('container.id', p.containerId));
  tags.push(tag('host.name', p.hostName), tag('wiretrace.service_name.source', p.serviceNameSource));
  return tags;
}

function processIdentity(span: Span): string {
  const p = span.process;
  return JSON.stringify([span.service, p.hostName, p.pid, p.executableName, p.commandLine ?? null, p.containerId ?? null]);
}

function spanWarnings(span: Span, spanIds: ReadonlySet<string>): string[] | null {
  const warnings: string[] = [];
  if (span.parentSpanId && !spanIds.has(span.parentSpanId)) {
    warnings.push(`parent span ${span.parentSpanId} was not captured (the caller is outside wiretrace's view)`);
  }
  if (span.network?.truncated) {
    warnings.push('payload beyond the capture limit was not seen: sizes are exact, headers and attributes may be incomplete');
  }
  return warnings.length > 0 ? warnings : null;
}

/**
 * One Jaeger trace from the spans of one trace, already assembled (parents
 * resolved) and in the order to serve them. Process ids p1, p2... follow
 * first appearance, so they are stable for a given input.
 */
export function toJaegerTrace(traceId: string, spans: readonly Span[]): JaegerTrace {
  const processes: Record<string, JaegerProcess> = {};
  const processIds = new Map<string, string>();
  const spanIds = new Set(spans.map((s) => s.spanId));
  const jaegerSpans = spans.map((span): JaegerSpan => {
    const identity = processIdentity(span);
    let processID = processIds.get(identity);
    if (processID === undefined) {
      processID = `p${processIds.size + 1}`;
      processIds.set(identity, processID);
      processes[processID] = { serviceName: span.service, tags: processTags(span.process) };
    }
    return {
      traceID: span.traceId,
      spanID: span.spanId,
      flags: span.traceContext?.sampled === false ? 0 : 1,
      operationName: span.name,
      references: span.parentSpanId ? [{ refType: 'CHILD_OF', traceID: span.traceId, spanID: span.parentSpanId }] : [],
      startTime: Math.floor(span.startTimeUs),
      duration: durationMicros(span.durationNs),
      tags: spanTags(span),
      logs: [],
      processID,
      warnings: spanWarnings(span, spanIds),
    };
  });
  return { traceID: traceId, spans: jaegerSpans, processes, warnings: null };
}
