/**
 * One trace frame (Grafana's Traces contract: TraceSpanRow, ms units) -> plain
 * span records with what the network shows pulled out of the tags. Works on
 * the wiretrace data source's frames and, minus the wiretrace.* tags, on the
 * frames of Grafana's Jaeger and Tempo sources. Pure: no React.
 */
import type { DataFrame, Field } from '@grafana/data';

export interface KeyValue {
  key: string;
  value: string | number | boolean;
}

/** How the span's parent link was made (wiretrace.link.* tags); absent on other sources. */
export interface LinkInfo {
  method: string;
  /** false for header links: only inferred links are drawn differently. */
  inferred: boolean;
  confidence?: number;
  alternatives?: number;
  networkTimeMs?: number;
}

/** What the connection shows (wiretrace tags and OTel network.* attributes). */
export interface ConnectionInfo {
  connectionId?: string;
  /** >0: the exchange reused a keep-alive connection. */
  exchangeIndex?: number;
  local?: string;
  remote?: string;
  captureSource?: string;
  requestBytes?: number;
  responseBytes?: number;
  requestTransferMs?: number;
  responseTransferMs?: number;
  protocol?: string;
  truncated: boolean;
}

export interface RawSpan {
  spanId: string;
  parentSpanId?: string;
  service: string;
  operation: string;
  /** client, server, internal...; '' when the source did not say. */
  kind: string;
  startMs: number;
  durationMs: number;
  error: boolean;
  statusMessage?: string;
  peer?: string;
  link?: LinkInfo;
  connection: ConnectionInfo;
  tags: KeyValue[];
  processTags: KeyValue[];
  warnings: string[];
}

export const REQUIRED_FIELDS = ['traceID', 'spanID', 'parentSpanID', 'startTime', 'duration'];

export function col(frame: DataFrame, name: string): Field | undefined {
  return frame.fields.find((f) => f.name === name);
}

export function isTraceFrame(frame: DataFrame): boolean {
  return REQUIRED_FIELDS.every((n) => col(frame, n) !== undefined);
}

function isKeyValue(v: unknown): v is KeyValue {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { key?: unknown; value?: unknown };
  return typeof o.key === 'string' && (typeof o.value === 'string' || typeof o.value === 'number' || typeof o.value === 'boolean');
}

/** Tags as Grafana's frames carry them: arrays of {key, value}; anything else is ignored rather than fatal. */
function keyValues(v: unknown): KeyValue[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isKeyValue).map((kv) => ({ key: kv.key, value: kv.value }));
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Tempo says SPAN_KIND_SERVER or Server, Jaeger server: one spelling for the panel. */
export function normaliseKind(kind: string): string {
  return kind.toLowerCase().replace(/^span_kind_/, '');
}

function tagMap(tags: readonly KeyValue[]): Map<string, KeyValue['value']> {
  const m = new Map<string, KeyValue['value']>();
  for (const t of tags) if (!m.has(t.key)) m.set(t.key, t.value);
  return m;
}

function numberOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function textOf(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function endpoint(address: unknown, port: unknown): string | undefined {
  const a = textOf(address);
  if (a === undefined) return undefined;
  const p = textOf(port);
  return p === undefined ? a : `${a.includes(':') ? `[${a}]` : a}:${p}`;
}

function linkOf(tags: Map<string, KeyValue['value']>): LinkInfo | undefined {
  const method = textOf(tags.get('wiretrace.link.method'));
  if (method === undefined) return undefined;
  const link: LinkInfo = { method, inferred: method !== 'header' };
  const confidence = numberOf(tags.get('wiretrace.link.confidence'));
  if (confidence !== undefined) link.confidence = confidence;
  const alternatives = numberOf(tags.get('wiretrace.link.alternatives'));
  if (alternatives !== undefined) link.alternatives = alternatives;
  const net = numberOf(tags.get('wiretrace.network_time_ns'));
  if (net !== undefined) link.networkTimeMs = net / 1e6;
  return link;
}

function connectionOf(tags: Map<string, KeyValue['value']>): ConnectionInfo {
  const c: ConnectionInfo = { truncated: tags.get('wiretrace.truncated') === true };
  const set = <K extends keyof ConnectionInfo>(k: K, v: ConnectionInfo[K] | undefined) => {
    if (v !== undefined) c[k] = v;
  };
  set('connectionId', textOf(tags.get('net.connection.id')));
  set('exchangeIndex', numberOf(tags.get('wiretrace.exchange_index')));
  set('local', endpoint(tags.get('network.local.address'), tags.get('network.local.port')));
  set('remote', endpoint(tags.get('network.peer.address'), tags.get('network.peer.port')));
  set('captureSource', textOf(tags.get('wiretrace.capture_source')));
  set('requestBytes', numberOf(tags.get('http.request.size') ?? tags.get('rpc.request.size') ?? tags.get('wiretrace.request.size')));
  set('responseBytes', numberOf(tags.get('http.response.size') ?? tags.get('rpc.response.size') ?? tags.get('wiretrace.response.size')));
  const reqNs = numberOf(tags.get('wiretrace.request.transfer_ns'));
  if (reqNs !== undefined) c.requestTransferMs = reqNs / 1e6;
  const resNs = numberOf(tags.get('wiretrace.response.transfer_ns'));
  if (resNs !== undefined) c.responseTransferMs = resNs / 1e6;
  set('protocol', textOf(tags.get('network.protocol.name') ?? tags.get('rpc.system') ?? tags.get('db.system')));
  return c;
}

/** The first trace frame's spans, in frame order. */
export function readSpans(frame: DataFrame): { traceId: string; spans: RawSpan[] } {
  const f = (name: string) => col(frame, name);
  const fields = {
    spanID: f('spanID'),
    parentSpanID: f('parentSpanID'),
    operationName: f('operationName'),
    serviceName: f('serviceName'),
    serviceTags: f('serviceTags'),
    startTime: f('startTime'),
    duration: f('duration'),
    tags: f('tags'),
    kind: f('kind'),
    statusCode: f('statusCode'),
    statusMessage: f('statusMessage'),
    warnings: f('warnings'),
  };
  const at = (field: Field | undefined, i: number): unknown => field?.values[i];
  const spans: RawSpan[] = [];
  for (let i = 0; i < frame.length; i++) {
    const tags = keyValues(at(fields.tags, i));
    const tm = tagMap(tags);
    const kindText = textOf(at(fields.kind, i)) ?? textOf(tm.get('span.kind')) ?? '';
    // wiretrace.duration_ns is exact; the ms field rounds loopback calls Jaeger-style on other paths.
    const exactNs = numberOf(tm.get('wiretrace.duration_ns'));
    const durationMs = exactNs !== undefined ? exactNs / 1e6 : (numberOf(at(fields.duration, i)) ?? 0);
    const statusCode = numberOf(at(fields.statusCode, i));
    const s: RawSpan = {
      spanId: textOf(at(fields.spanID, i)) ?? `row-${i}`,
      service: textOf(at(fields.serviceName, i)) ?? '',
      operation: textOf(at(fields.operationName, i)) ?? '',
      kind: normaliseKind(kindText),
      startMs: numberOf(at(fields.startTime, i)) ?? 0,
      durationMs: Math.max(0, durationMs),
      error: statusCode === 2 || tm.get('error') === true || tm.get('error') === 'true',
      connection: connectionOf(tm),
      tags,
      processTags: keyValues(at(fields.serviceTags, i)),
      warnings: strings(at(fields.warnings, i)),
    };
    const parent = textOf(at(fields.parentSpanID, i));
    if (parent !== undefined) s.parentSpanId = parent;
    const msg = textOf(at(fields.statusMessage, i));
    if (msg !== undefined) s.statusMessage = msg;
    const peer = textOf(tm.get('peer.service'));
    if (peer !== undefined) s.peer = peer;
    const link = linkOf(tm);
    if (link) s.link = link;
    spans.push(s);
  }
  return { traceId: textOf(at(f('traceID'), 0)) ?? '', spans };
}
