/**
 * Trace summaries from several agents -> one table, a row per trace, the
 * traceID cell linking to the trace view. A trace seen by several agents
 * (its services run on several nodes) becomes one row.
 */
import { createDataFrame, FieldType, type DataFrame } from '@grafana/data';
import type { TraceSummary } from '../agents/native-api';
import { traceLink, type DataSourceRef } from './trace-link';

/** A trace summary merged over the agents that saw part of the trace. */
export interface MergedTraceSummary extends TraceSummary {
  /** From the earliest start to the latest end seen by any agent, ns. */
  durationNs: number;
  agents: string[];
}

export function mergeTraceSummaries(perAgent: ReadonlyArray<{ agent: string; traces: readonly TraceSummary[] }>, limit: number): MergedTraceSummary[] {
  const byId = new Map<string, MergedTraceSummary>();
  for (const { agent, traces } of perAgent) {
    for (const t of traces) {
      const seen = byId.get(t.traceId);
      if (!seen) {
        byId.set(t.traceId, { ...t, services: [...t.services], agents: [agent] });
        continue;
      }
      // Both parts measured from the earlier start: the trace ends where the later-ending part ends.
      const startUs = Math.min(seen.startTimeUs, t.startTimeUs);
      const endNs = Math.max((seen.startTimeUs - startUs) * 1000 + seen.durationNs, (t.startTimeUs - startUs) * 1000 + t.durationNs);
      if (t.startTimeUs < seen.startTimeUs) {
        // The earlier part of the trace names the root.
        seen.rootService = t.rootService;
        seen.rootName = t.rootName;
        seen.startTimeUs = t.startTimeUs;
      }
      seen.durationNs = endNs;
      seen.spanCount += t.spanCount;
      seen.errorCount += t.errorCount;
      seen.services = [...new Set([...seen.services, ...t.services])].sort();
      seen.agents.push(agent);
    }
  }
  return [...byId.values()].sort((a, b) => b.startTimeUs - a.startTimeUs).slice(0, limit);
}

export function searchFrame(traces: readonly MergedTraceSummary[], ds: DataSourceRef, refId?: string): DataFrame {
  return createDataFrame({
    name: 'Traces',
    ...(refId !== undefined ? { refId } : {}),
    meta: { preferredVisualisationType: 'table' },
    fields: [
      { name: 'traceID', type: FieldType.string, values: traces.map((t) => t.traceId), config: { displayName: 'Trace ID', links: [traceLink(ds)] } },
      { name: 'traceName', type: FieldType.string, values: traces.map((t) => `${t.rootService}: ${t.rootName}`), config: { displayName: 'Trace name' } },
      { name: 'startTime', type: FieldType.time, values: traces.map((t) => t.startTimeUs / 1000), config: { displayName: 'Start time' } },
      { name: 'duration', type: FieldType.number, values: traces.map((t) => t.durationNs / 1e6), config: { displayName: 'Duration', unit: 'ms' } },
      { name: 'spans', type: FieldType.number, values: traces.map((t) => t.spanCount), config: { displayName: 'Spans' } },
      { name: 'errors', type: FieldType.number, values: traces.map((t) => t.errorCount), config: { displayName: 'Errors' } },
      { name: 'services', type: FieldType.string, values: traces.map((t) => t.services.join(', ')), config: { displayName: 'Services' } },
      { name: 'agents', type: FieldType.string, values: traces.map((t) => t.agents.join(', ')), config: { displayName: 'Agents' } },
    ],
  });
}
