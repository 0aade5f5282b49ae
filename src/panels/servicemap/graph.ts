/**
 * Reads the nodes/edges frames of the wiretrace data source's service graph
 * (Node Graph field names) into a plain model the panel draws. Pure: no React,
 * so the layout and the frame reading are testable in Node.
 */
import { NodeGraphDataFrameFieldNames as F, type DataFrame, type Field } from '@grafana/data';

export interface MapNode {
  id: string;
  title: string;
  /** A peer address wiretrace did not identify as a local service. */
  external: boolean;
  p95Ms?: number;
  ratePerSec?: number;
  errorRatio?: number;
  /** detail__* fields, by display name, for the hover card. */
  details: Array<[string, string]>;
}

export interface MapEdge {
  id: string;
  source: string;
  target: string;
  p95Ms?: number;
  p50Ms?: number;
  p99Ms?: number;
  ratePerSec?: number;
  errorRatio?: number;
  /** Application protocol (`http`, `grpc`, `postgresql`...): field `protocol` or `detail__protocol`; absent from older agents and other sources. */
  protocol?: string;
  /** Client-observed minus server-observed latency, ms: field `detail__network_time` (or `networkTime`). */
  networkTimeMs?: number;
  details: Array<[string, string]>;
}

export interface ServiceGraph {
  nodes: MapNode[];
  edges: MapEdge[];
}

export type GraphResult = { ok: true; graph: ServiceGraph } | { ok: false; message: string };

function field(frame: DataFrame, name: string): Field | undefined {
  return frame.fields.find((f) => f.name === name);
}

function num(f: Field | undefined, i: number): number | undefined {
  const v: unknown = f?.values[i];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(f: Field | undefined, i: number): string | undefined {
  const v: unknown = f?.values[i];
  return v === null || v === undefined ? undefined : String(v);
}

export function formatValue(v: unknown, unit: string | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return v === null || v === undefined ? '–' : String(v);
  if (unit === 'ms') return formatMs(v);
  if (unit === 'percentunit') return formatRatio(v);
  if (unit === 'reqps') return formatRate(v);
  if (unit === 'bytes' || unit === 'decbytes') return v >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v.toFixed(0)} B`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(ms >= 1 ? 1 : 2)} ms`;
}

export function formatRate(perSec: number): string {
  if (perSec >= 100) return `${perSec.toFixed(0)}/s`;
  if (perSec >= 0.1) return `${perSec.toFixed(perSec >= 10 ? 1 : 2)}/s`;
  // Sparse edges in long ranges: per-minute reads better than 0.00/s.
  return `${(perSec * 60).toFixed(perSec * 60 >= 1 ? 1 : 2)}/min`;
}

export function formatRatio(r: number): string {
  return `${(r * 100).toFixed(r === 0 || r >= 0.1 ? 0 : 1)}%`;
}

function details(frame: DataFrame, i: number): Array<[string, string]> {
  return frame.fields
    // An empty detail (a protocol the agent did not report) is left out rather than shown as a dash.
    .filter((f) => f.name.startsWith(F.detail) && f.values[i] !== null && f.values[i] !== undefined && f.values[i] !== '')
    .map((f) => [f.config.displayName ?? f.name.slice(F.detail.length), formatValue(f.values[i], f.config.unit)]);
}

function isEdgeFrame(frame: DataFrame): boolean {
  return field(frame, F.source) !== undefined && field(frame, F.target) !== undefined;
}

function isNodeFrame(frame: DataFrame): boolean {
  return !isEdgeFrame(frame) && field(frame, F.id) !== undefined && (frame.name === 'nodes' || field(frame, F.title) !== undefined);
}

function describe(frames: readonly DataFrame[]): string {
  if (frames.length === 0) return 'no data';
  return frames
    .slice(0, 4)
    .map((f) => `${f.name ?? f.refId ?? 'frame'} (${f.fields.map((x) => x.name).slice(0, 5).join(', ')})`)
    .join('; ');
}

/**
 * The service graph in `frames`, or a message saying why there is none. Edges
 * are what matter: a node frame is optional (nodes then come from the edges).
 */
export function readServiceGraph(frames: readonly DataFrame[]): GraphResult {
  const edgeFrame = frames.find(isEdgeFrame);
  if (!edgeFrame) {
    return {
      ok: false,
      message:
        frames.length === 0
          ? 'No service graph data. Query the wiretrace data source with the "Service graph" query type.'
          : `This panel draws a service graph (nodes and edges frames, as the wiretrace data source returns for its "Service graph" query); got ${describe(frames)}.`,
    };
  }
  const nodeFrame = frames.find(isNodeFrame);
  const nodes = new Map<string, MapNode>();
  if (nodeFrame) {
    const id = field(nodeFrame, F.id);
    const title = field(nodeFrame, F.title);
    const sub = field(nodeFrame, F.subTitle);
    const main = field(nodeFrame, F.mainStat);
    const second = field(nodeFrame, F.secondaryStat);
    const errArc = field(nodeFrame, `${F.arc}errors`);
    for (let i = 0; i < nodeFrame.length; i++) {
      const nid = str(id, i);
      if (nid === undefined) continue;
      const node: MapNode = {
        id: nid,
        title: str(title, i) ?? nid,
        external: str(sub, i) === 'peer address',
        details: details(nodeFrame, i),
      };
      const p95 = num(main, i);
      if (p95 !== undefined) node.p95Ms = p95;
      const rate = num(second, i);
      if (rate !== undefined) node.ratePerSec = rate;
      const err = num(errArc, i);
      if (err !== undefined) node.errorRatio = err;
      nodes.set(nid, node);
    }
  }
  const src = field(edgeFrame, F.source);
  const dst = field(edgeFrame, F.target);
  const eid = field(edgeFrame, F.id);
  const main = field(edgeFrame, F.mainStat);
  const second = field(edgeFrame, F.secondaryStat);
  const errRatio = field(edgeFrame, `${F.detail}error_ratio`);
  const p50 = field(edgeFrame, `${F.detail}p50`);
  const p99 = field(edgeFrame, `${F.detail}p99`);
  const protocol = field(edgeFrame, 'protocol') ?? field(edgeFrame, `${F.detail}protocol`);
  const network = field(edgeFrame, `${F.detail}network_time`) ?? field(edgeFrame, 'networkTime');
  const edges: MapEdge[] = [];
  const usedIds = new Set<string>();
  for (let i = 0; i < edgeFrame.length; i++) {
    const source = str(src, i);
    const target = str(dst, i);
    if (source === undefined || target === undefined) continue;
    for (const n of [source, target]) {
      // An edge to a node the node frame lacks (another source's frames): draw it anyway.
      if (!nodes.has(n)) nodes.set(n, { id: n, title: n, external: false, details: [] });
    }
    let id = str(eid, i) ?? `${source}->${target}`;
    // Ids key the layout's routes: another source's frame may repeat one.
    for (let k = 2; usedIds.has(id); k++) id = `${str(eid, i) ?? `${source}->${target}`}#${k}`;
    usedIds.add(id);
    const edge: MapEdge = { id, source, target, details: details(edgeFrame, i) };
    const p95 = num(main, i);
    if (p95 !== undefined) edge.p95Ms = p95;
    const rate = num(second, i);
    if (rate !== undefined) edge.ratePerSec = rate;
    const err = num(errRatio, i);
    if (err !== undefined) edge.errorRatio = err;
    const q50 = num(p50, i);
    if (q50 !== undefined) edge.p50Ms = q50;
    const q99 = num(p99, i);
    if (q99 !== undefined) edge.p99Ms = q99;
    const proto = str(protocol, i);
    if (proto !== undefined && proto !== '') edge.protocol = proto;
    const net = num(network, i);
    if (net !== undefined) edge.networkTimeMs = net;
    edges.push(edge);
  }
  const sortedNodes = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
  edges.sort((a, b) => a.source.localeCompare(b.source) || a.target.localeCompare(b.target));
  return { ok: true, graph: { nodes: sortedNodes, edges } };
}
