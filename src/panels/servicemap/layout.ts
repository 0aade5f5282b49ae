/**
 * Deterministic layered layout: a node's column is its call depth (longest
 * path from a caller-less node, back edges of cycles ignored), rows within a
 * column ordered by the mean row of their callers, ties by name. The same
 * graph always gets the same positions, so the map does not jump between
 * refreshes (unlike a force layout).
 */
import type { ServiceGraph } from './graph';

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  /** Top-left corner of each node's box, by node id. */
  positions: Map<string, Point>;
  columns: number;
  width: number;
  height: number;
}

export const NODE_W = 170;
export const NODE_H = 48;
export const COL_GAP = 150;
export const ROW_GAP = 34;
export const MARGIN = 20;

export function callDepths(graph: ServiceGraph): Map<string, number> {
  const out = new Map<string, string[]>();
  const hasCaller = new Set<string>();
  for (const n of graph.nodes) out.set(n.id, []);
  for (const e of graph.edges) {
    if (e.source === e.target) continue;
    out.get(e.source)?.push(e.target);
    hasCaller.add(e.target);
  }
  for (const list of out.values()) list.sort();
  const ids = graph.nodes.map((n) => n.id).sort();
  const depth = new Map<string, number>();
  // Order: DFS post-order from roots (then any node left, i.e. pure cycles), so
  // back edges are the ones found to a node still on the stack.
  const state = new Map<string, 'open' | 'done'>();
  const order: string[] = [];
  const back = new Set<string>();
  const visit = (start: string) => {
    // Iterative DFS: call chains of thousands of services must not overflow the stack.
    const stack: Array<{ id: string; next: number }> = [{ id: start, next: 0 }];
    state.set(start, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const kids = out.get(top.id) ?? [];
      if (top.next < kids.length) {
        const kid = kids[top.next++]!;
        const s = state.get(kid);
        if (s === 'open') back.add(`${top.id}\u0000${kid}`);
        else if (s === undefined) {
          state.set(kid, 'open');
          stack.push({ id: kid, next: 0 });
        }
      } else {
        state.set(top.id, 'done');
        order.push(top.id);
        stack.pop();
      }
    }
  };
  for (const id of ids) if (!hasCaller.has(id) && !state.has(id)) visit(id);
  for (const id of ids) if (!state.has(id)) visit(id);
  // Reverse post-order is a topological order of the graph without back edges.
  for (const id of order.reverse()) {
    const d = depth.get(id) ?? 0;
    depth.set(id, d);
    for (const kid of out.get(id) ?? []) {
      if (back.has(`${id}\u0000${kid}`)) continue;
      depth.set(kid, Math.max(depth.get(kid) ?? 0, d + 1));
    }
  }
  return depth;
}

export function layoutGraph(graph: ServiceGraph): Layout {
  const depth = callDepths(graph);
  const columns: string[][] = [];
  for (const n of graph.nodes) {
    const d = depth.get(n.id) ?? 0;
    (columns[d] ??= []).push(n.id);
  }
  const callers = new Map<string, string[]>();
  for (const e of graph.edges) (callers.get(e.target) ?? callers.set(e.target, []).get(e.target)!).push(e.source);
  const row = new Map<string, number>();
  columns.forEach((col, c) => {
    const key = (id: string) => {
      // Callers in earlier columns already have rows; keeping children near them shortens edges.
      const rows = (callers.get(id) ?? []).map((p) => row.get(p)).filter((r): r is number => r !== undefined);
      return rows.length === 0 ? Number.POSITIVE_INFINITY : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    const keyed = col.map((id) => ({ id, k: c === 0 ? 0 : key(id) }));
    keyed.sort((a, b) => a.k - b.k || a.id.localeCompare(b.id));
    keyed.forEach((k, r) => row.set(k.id, r));
    columns[c] = keyed.map((k) => k.id);
  });
  const tallest = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  const fullHeight = tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const positions = new Map<string, Point>();
  columns.forEach((col, c) => {
    const h = col.length * NODE_H + (col.length - 1) * ROW_GAP;
    // Centre shorter columns vertically against the tallest one.
    const top = MARGIN + (fullHeight - h) / 2;
    col.forEach((id, r) => positions.set(id, { x: MARGIN + c * (NODE_W + COL_GAP), y: top + r * (NODE_H + ROW_GAP) }));
  });
  const n = Math.max(1, columns.length);
  return {
    positions,
    columns: columns.length,
    width: MARGIN * 2 + n * NODE_W + (n - 1) * COL_GAP,
    height: MARGIN * 2 + fullHeight,
  };
}
