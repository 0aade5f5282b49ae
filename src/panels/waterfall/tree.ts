/**
 * The trace frame (Grafana Traces contract, ms units) -> waterfall rows: the
 * span tree in depth-first order, children by start time. Pure, so the tree
 * building is testable without a browser.
 */
import type { DataFrame, Field } from '@grafana/data';

export interface SpanRow {
  spanId: string;
  parentSpanId?: string;
  service: string;
  operation: string;
  kind: string;
  /** ms since the trace's first span started. */
  offsetMs: number;
  durationMs: number;
  error: boolean;
  depth: number;
}

export interface Waterfall {
  traceId: string;
  rows: SpanRow[];
  totalMs: number;
}

export type WaterfallResult = { ok: true; waterfall: Waterfall } | { ok: false; message: string };

const REQUIRED = ['traceID', 'spanID', 'parentSpanID', 'startTime', 'duration'];

function col(frame: DataFrame, name: string): Field | undefined {
  return frame.fields.find((f) => f.name === name);
}

function isTraceFrame(frame: DataFrame): boolean {
  return frame.meta?.preferredVisualisationType === 'trace' || REQUIRED.every((n) => col(frame, n) !== undefined);
}

export function readWaterfall(frames: readonly DataFrame[]): WaterfallResult {
  const frame = frames.find(isTraceFrame);
  if (!frame || REQUIRED.some((n) => col(frame, n) === undefined)) {
    return {
      ok: false,
      message:
        frames.length === 0
          ? 'No trace. Query the wiretrace data source by trace ID.'
          : `This panel draws one trace (a trace frame with ${REQUIRED.join(', ')}); got ${frames.map((f) => f.name ?? f.refId ?? 'frame').join(', ')}.`,
    };
  }
  const get = (name: string, i: number): unknown => col(frame, name)?.values[i];
  const text = (name: string, i: number) => {
    const v = get(name, i);
    return v === null || v === undefined ? '' : String(v);
  };
  interface Raw extends Omit<SpanRow, 'offsetMs' | 'depth'> {
    startMs: number;
  }
  const raw: Raw[] = [];
  for (let i = 0; i < frame.length; i++) {
    const r: Raw = {
      spanId: text('spanID', i),
      service: text('serviceName', i),
      operation: text('operationName', i),
      kind: text('kind', i),
      startMs: Number(get('startTime', i)),
      durationMs: Number(get('duration', i)),
      error: get('statusCode', i) === 2,
    };
    const parent = text('parentSpanID', i);
    if (parent !== '') r.parentSpanId = parent;
    raw.push(r);
  }
  const t0 = Math.min(...raw.map((r) => r.startMs));
  const end = Math.max(...raw.map((r) => r.startMs + r.durationMs));
  const ids = new Set(raw.map((r) => r.spanId));
  const children = new Map<string | undefined, Raw[]>();
  for (const r of raw) {
    // A parent outside the frame (not captured) makes the span a root, not an orphan lost from view.
    const key = r.parentSpanId !== undefined && ids.has(r.parentSpanId) && r.parentSpanId !== r.spanId ? r.parentSpanId : undefined;
    (children.get(key) ?? children.set(key, []).get(key)!).push(r);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs || a.spanId.localeCompare(b.spanId));
  const rows: SpanRow[] = [];
  const placed = new Set<string>();
  // Iterative DFS: 5,000-span traces must not hit the call-stack limit.
  const stack: Array<{ r: Raw; depth: number }> = (children.get(undefined) ?? []).map((r) => ({ r, depth: 0 })).reverse();
  while (stack.length > 0) {
    const { r, depth } = stack.pop()!;
    if (placed.has(r.spanId)) continue;
    placed.add(r.spanId);
    const { startMs, ...rest } = r;
    rows.push({ ...rest, offsetMs: startMs - t0, depth });
    const kids = children.get(r.spanId) ?? [];
    for (let k = kids.length - 1; k >= 0; k--) stack.push({ r: kids[k]!, depth: depth + 1 });
  }
  // Spans in a parent cycle are reachable from no root: list them at the end rather than drop them.
  for (const r of raw) {
    if (placed.has(r.spanId)) continue;
    placed.add(r.spanId);
    const { startMs, ...rest } = r;
    rows.push({ ...rest, offsetMs: startMs - t0, depth: 0 });
  }
  return { ok: true, waterfall: { traceId: text('traceID', 0), rows, totalMs: Math.max(end - t0, 1e-6) } };
}
