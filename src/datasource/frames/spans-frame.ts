/** Raw spans from several agents -> one table for ad-hoc digging, newest first. */
import { createDataFrame, FieldType, type DataFrame } from '@grafana/data';
import type { Span } from '../agents/native-api';
import { traceLink, type DataSourceRef } from './trace-link';

export interface AgentSpan {
  agent: string;
  span: Span;
}

export function mergeSpans(perAgent: ReadonlyArray<{ agent: string; spans: readonly Span[] }>, limit: number): AgentSpan[] {
  const rows = perAgent.flatMap(({ agent, spans }) => spans.map((span) => ({ agent, span })));
  return rows.sort((a, b) => b.span.startTimeUs - a.span.startTimeUs).slice(0, limit);
}

export function spansFrame(rows: readonly AgentSpan[], ds: DataSourceRef, refId?: string): DataFrame {
  const col = <T>(f: (s: Span) => T) => rows.map((r) => f(r.span));
  return createDataFrame({
    name: 'Spans',
    ...(refId !== undefined ? { refId } : {}),
    meta: { preferredVisualisationType: 'table' },
    fields: [
      { name: 'startTime', type: FieldType.time, values: col((s) => s.startTimeUs / 1000) },
      { name: 'traceID', type: FieldType.string, values: col((s) => s.traceId), config: { links: [traceLink(ds)] } },
      { name: 'spanID', type: FieldType.string, values: col((s) => s.spanId) },
      { name: 'parentSpanID', type: FieldType.string, values: col((s) => s.parentSpanId ?? '') },
      { name: 'service', type: FieldType.string, values: col((s) => s.service) },
      { name: 'kind', type: FieldType.string, values: col((s) => s.kind) },
      { name: 'name', type: FieldType.string, values: col((s) => s.name) },
      { name: 'peer', type: FieldType.string, values: col((s) => s.peerService) },
      { name: 'duration', type: FieldType.number, values: col((s) => s.durationNs / 1e6), config: { unit: 'ms' } },
      { name: 'status', type: FieldType.string, values: col((s) => s.status) },
      {
        name: 'httpStatus',
        type: FieldType.number,
        values: col((s) => {
          const v = s.attributes['http.response.status_code'];
          return typeof v === 'number' ? v : null;
        }),
      },
      { name: 'host', type: FieldType.string, values: col((s) => s.process.hostName) },
      { name: 'agent', type: FieldType.string, values: rows.map((r) => r.agent) },
    ],
  });
}
