/**
 * The trace frame -> waterfall rows: the span tree in depth-first order,
 * children by start time, with each RPC's network gap (the server side's
 * parent is its client side) and the critical path. Pure, so the tree
 * building is testable without a browser.
 */
import type { DataFrame } from '@grafana/data';
import { criticalPath, type CriticalSegment } from './critical-path';
import { isTraceFrame, readSpans, REQUIRED_FIELDS, type RawSpan } from './spans';

/**
 * One RPC's two sides: this (server) row's parent is the client span of the
 * same call. The gap is what the client waited beyond what the server spent:
 * the request on the wire and in kernel queues before the server saw it, and
 * the response on its way back after the server finished.
 */
export interface NetworkGap {
  clientSpanId: string;
  /** Client start -> server start, ms (negative when the clocks or capture disagree). */
  beforeMs: number;
  /** Server end -> client end, ms. */
  afterMs: number;
  /** Client duration minus server duration, ms. */
  totalMs: number;
  /** The client side's offset and duration, so the server row can draw both. */
  clientOffsetMs: number;
  clientDurationMs: number;
}

export interface SpanRow extends Omit<RawSpan, 'startMs'> {
  /** Position in the depth-first order (rows[index] === this). */
  index: number;
  /** Index of the parent row, -1 for a root. */
  parentIndex: number;
  /** ms since the trace's first span started. */
  offsetMs: number;
  depth: number;
  childCount: number;
  /** Rows below this one in its subtree: rows[index+1 .. index+descendants]. */
  descendants: number;
  gap?: NetworkGap;
  /** Sections of this span's time on the critical path (offsets, ms). */
  critical: CriticalSegment[];
  /** Lower-cased text the in-trace search looks in. */
  searchText: string;
}

export interface Waterfall {
  traceId: string;
  rows: SpanRow[];
  totalMs: number;
}

export type WaterfallResult = { ok: true; waterfall: Waterfall } | { ok: false; message: string };

function searchTextOf(s: RawSpan): string {
  const parts = [s.spanId, s.service, s.operation, s.kind, s.peer ?? '', s.statusMessage ?? '', s.link?.method ?? ''];
  for (const t of s.tags) parts.push(`${t.key}=${String(t.value)}`);
  for (const t of s.processTags) parts.push(`${t.key}=${String(t.value)}`);
  return parts.join('\n').toLowerCase();
}

export function buildWaterfall(traceId: string, raw: readonly RawSpan[]): Waterfall {
  if (raw.length === 0) return { traceId, rows: [], totalMs: 1e-6 };
  let t0 = Infinity;
  let end = -Infinity;
  for (const r of raw) {
    t0 = Math.min(t0, r.startMs);
    end = Math.max(end, r.startMs + r.durationMs);
  }
  const ids = new Set(raw.map((r) => r.spanId));
  const children = new Map<string | undefined, RawSpan[]>();
  for (const r of raw) {
    // A parent outside the frame (not captured) makes the span a root, not an orphan lost from view.
    const key = r.parentSpanId !== undefined && ids.has(r.parentSpanId) && r.parentSpanId !== r.spanId ? r.parentSpanId : undefined;
    (children.get(key) ?? children.set(key, []).get(key)!).push(r);
  }
  // Client before server at equal starts: the client side opens the call.
  const sideRank = (k: string) => (k === 'client' ? 0 : k === 'server' ? 1 : 2);
  for (const list of children.values()) {
    list.sort((a, b) => a.startMs - b.startMs || sideRank(a.kind) - sideRank(b.kind) || a.spanId.localeCompare(b.spanId));
  }
  const rows: SpanRow[] = [];
  const placed = new Set<string>();
  const place = (r: RawSpan, depth: number, parentIndex: number) => {
    placed.add(r.spanId);
    const { startMs, ...rest } = r;
    rows.push({
      ...rest,
      index: rows.length,
      parentIndex,
      offsetMs: startMs - t0,
      depth,
      childCount: 0,
      descendants: 0,
      critical: [],
      searchText: searchTextOf(r),
    });
  };
  // Iterative DFS: 5,000-span traces (and deep chains) must not hit the call-stack limit.
  const stack: Array<{ r: RawSpan; depth: number; parent: number }> = (children.get(undefined) ?? [])
    .map((r) => ({ r, depth: 0, parent: -1 }))
    .reverse();
  while (stack.length > 0) {
    const { r, depth, parent } = stack.pop()!;
    if (placed.has(r.spanId)) continue; // a duplicate span id: keep the first
    place(r, depth, parent);
    const me = rows.length - 1;
    const kids = children.get(r.spanId) ?? [];
    for (let k = kids.length - 1; k >= 0; k--) stack.push({ r: kids[k]!, depth: depth + 1, parent: me });
  }
  // Spans in a parent cycle are reachable from no root: list them at the end rather than drop them.
  for (const r of raw) if (!placed.has(r.spanId)) place(r, 0, -1);

  // Subtree sizes bottom-up: DFS order puts every descendant after its ancestor.
  for (let i = rows.length - 1; i >= 0; i--) {
    const p = rows[i]!.parentIndex;
    if (p >= 0) {
      rows[p]!.childCount++;
      rows[p]!.descendants += rows[i]!.descendants + 1;
    }
  }
  for (const row of rows) {
    if (row.parentIndex < 0 || row.kind !== 'server') continue;
    const client = rows[row.parentIndex]!;
    if (client.kind !== 'client') continue;
    const beforeMs = row.offsetMs - client.offsetMs;
    const afterMs = client.offsetMs + client.durationMs - (row.offsetMs + row.durationMs);
    row.gap = {
      clientSpanId: client.spanId,
      beforeMs,
      afterMs,
      totalMs: client.durationMs - row.durationMs,
      clientOffsetMs: client.offsetMs,
      clientDurationMs: client.durationMs,
    };
  }
  const totalMs = Math.max(end - t0, 1e-6);
  for (const seg of criticalPath(rows)) rows[seg.index]!.critical.push(seg);
  return { traceId, rows, totalMs };
}

export function readWaterfall(frames: readonly DataFrame[]): WaterfallResult {
  const frame = frames.find((f) => f.meta?.preferredVisualisationType === 'trace' && isTraceFrame(f)) ?? frames.find(isTraceFrame);
  if (!frame) {
    return {
      ok: false,
      message:
        frames.length === 0
          ? 'No trace. Query the wiretrace data source by trace ID.'
          : `This panel draws one trace (a trace frame with ${REQUIRED_FIELDS.join(', ')}); got ${frames.map((f) => f.name ?? f.refId ?? 'frame').join(', ')}.`,
    };
  }
  const { traceId, spans } = readSpans(frame);
  if (spans.length === 0) return { ok: false, message: 'The trace has no spans.' };
  return { ok: true, waterfall: buildWaterfall(traceId, spans) };
}
