/**
 * Service-graph edges -> the nodes and edges frames Grafana's Node Graph
 * panel reads (NodeGraphDataFrameFieldNames). Node stats describe the calls a
 * service received (its server side); edge stats the calls along the edge.
 */
import { createDataFrame, FieldType, NodeGraphDataFrameFieldNames as F, type DataFrame } from '@grafana/data';
import type { DependencyStats } from '../agents/native-api';
import { edgeLatency } from './edge-merge';

const NS_PER_MS = 1e6;

interface NodeStats {
  id: string;
  calls: number;
  errors: number;
  /** Largest p95 of the calls received, ns; undefined when it received none. */
  p95Ns?: number;
  /** True when the node is a service wiretrace saw, not just a peer address. */
  observed: boolean;
}

/** Peers wiretrace did not identify as a service are shown as addresses (`10.0.0.9`, `10.0.0.9:8080`). */
function looksLikeAddress(name: string): boolean {
  return /^\[?[0-9a-f:.]+\]?(:\d+)?$/i.test(name) && /[.:]/.test(name);
}

function nodeStats(edges: readonly DependencyStats[]): NodeStats[] {
  const nodes = new Map<string, NodeStats>();
  const node = (id: string) => {
    let n = nodes.get(id);
    if (!n) nodes.set(id, (n = { id, calls: 0, errors: 0, observed: !looksLikeAddress(id) }));
    return n;
  };
  for (const e of edges) {
    node(e.parent);
    const child = node(e.child);
    child.calls += e.callCount;
    child.errors += e.errorCount;
    const p95 = (e.server ?? e.client)?.p95Ns;
    if (p95 !== undefined) child.p95Ns = Math.max(child.p95Ns ?? 0, p95);
  }
  return [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** The application protocols of an edge's calls (`http/1.1`, `grpc`, `postgresql`...), or null when unknown. */
function edgeProtocol(e: DependencyStats): string | null {
  return e.protocol ? e.protocol : null;
}

export interface GraphOptions {
  /** Length of the queried range, seconds: turns counts into rates. */
  rangeSeconds: number;
  refId?: string;
}

export function serviceGraphFrames(edges: readonly DependencyStats[], opts: GraphOptions): [DataFrame, DataFrame] {
  const seconds = Math.max(opts.rangeSeconds, 1e-9);
  const nodes = nodeStats(edges);
  const refId = opts.refId !== undefined ? { refId: opts.refId } : {};
  const nodeFrame = createDataFrame({
    name: 'nodes',
    ...refId,
    meta: { preferredVisualisationType: 'nodeGraph' },
    fields: [
      { name: F.id, type: FieldType.string, values: nodes.map((n) => n.id) },
      { name: F.title, type: FieldType.string, values: nodes.map((n) => n.id) },
      { name: F.subTitle, type: FieldType.string, values: nodes.map((n) => (n.observed ? 'service' : 'peer address')) },
      {
        name: F.mainStat,
        type: FieldType.number,
        values: nodes.map((n) => (n.p95Ns === undefined ? null : n.p95Ns / NS_PER_MS)),
        config: { unit: 'ms', displayName: 'p95 latency' },
      },
      {
        name: F.secondaryStat,
        type: FieldType.number,
        values: nodes.map((n) => n.calls / seconds),
        config: { unit: 'reqps', displayName: 'Requests/s' },
      },
      {
        // Arcs must sum to 1 per node; a node that received no calls has none.
        name: `${F.arc}success`,
        type: FieldType.number,
        values: nodes.map((n) => (n.calls === 0 ? 0 : (n.calls - n.errors) / n.calls)),
        config: { color: { mode: 'fixed', fixedColor: 'green' }, displayName: 'Success' },
      },
      {
        name: `${F.arc}errors`,
        type: FieldType.number,
        values: nodes.map((n) => (n.calls === 0 ? 0 : n.errors / n.calls)),
        config: { color: { mode: 'fixed', fixedColor: 'red' }, displayName: 'Errors' },
      },
      { name: `${F.detail}calls`, type: FieldType.number, values: nodes.map((n) => n.calls), config: { displayName: 'Calls received' } },
      { name: `${F.detail}errors`, type: FieldType.number, values: nodes.map((n) => n.errors), config: { displayName: 'Errors' } },
    ],
  });
  const edgeFrame = createDataFrame({
    name: 'edges',
    ...refId,
    meta: { preferredVisualisationType: 'nodeGraph' },
    fields: [
      { name: F.id, type: FieldType.string, values: edges.map((e) => `${e.parent}->${e.child}`) },
      { name: F.source, type: FieldType.string, values: edges.map((e) => e.parent) },
      { name: F.target, type: FieldType.string, values: edges.map((e) => e.child) },
      {
        name: F.mainStat,
        type: FieldType.number,
        values: edges.map((e) => {
          const l = edgeLatency(e);
          return l === undefined ? null : l.p95Ns / NS_PER_MS;
        }),
        config: { unit: 'ms', displayName: 'p95 latency' },
      },
      {
        name: F.secondaryStat,
        type: FieldType.number,
        values: edges.map((e) => e.callCount / seconds),
        config: { unit: 'reqps', displayName: 'Requests/s' },
      },
      { name: `${F.detail}calls`, type: FieldType.number, values: edges.map((e) => e.callCount), config: { displayName: 'Calls' } },
      { name: `${F.detail}errors`, type: FieldType.number, values: edges.map((e) => e.errorCount), config: { displayName: 'Errors' } },
      {
        name: `${F.detail}error_ratio`,
        type: FieldType.number,
        values: edges.map((e) => (e.callCount === 0 ? 0 : e.errorCount / e.callCount)),
        config: { unit: 'percentunit', displayName: 'Error ratio' },
      },
      {
        name: `${F.detail}p50`,
        type: FieldType.number,
        values: edges.map((e) => {
          const l = edgeLatency(e);
          return l === undefined ? null : l.p50Ns / NS_PER_MS;
        }),
        config: { unit: 'ms', displayName: 'p50 latency' },
      },
      {
        name: `${F.detail}p99`,
        type: FieldType.number,
        values: edges.map((e) => {
          const l = edgeLatency(e);
          return l === undefined ? null : l.p99Ns / NS_PER_MS;
        }),
        config: { unit: 'ms', displayName: 'p99 latency' },
      },
      {
        // Client-observed minus server-observed median: what the network (and kernel queues) added.
        name: `${F.detail}network_time`,
        type: FieldType.number,
        values: edges.map((e) => (e.networkTimeNs === undefined ? null : e.networkTimeNs / NS_PER_MS)),
        config: { unit: 'ms', displayName: 'Network time' },
      },
      { name: `${F.detail}protocol`, type: FieldType.string, values: edges.map(edgeProtocol), config: { displayName: 'Protocol' } },
      {
        name: `${F.detail}bytes_per_call`,
        type: FieldType.number,
        values: edges.map((e) => (e.callCount === 0 ? null : ((e.requestBytes ?? 0) + (e.responseBytes ?? 0)) / e.callCount)),
        config: { unit: 'bytes', displayName: 'Bytes per call' },
      },
    ],
  });
  return [nodeFrame, edgeFrame];
}
