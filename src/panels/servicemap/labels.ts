/**
 * Label level-of-detail for the service map. Labels are drawn at a constant
 * on-screen size whatever the zoom, so whether one fits is a question asked
 * in screen pixels: a box is placed greedily, most important first, and left
 * out when it would overlap a box already placed (or an obstacle such as a
 * node's box). Deterministic (ties by id), so the same data and zoom label
 * the same things; a spatial grid keeps it near-linear for 1,000 labels.
 * Pure: no DOM, widths come from a measuring function the caller supplies.
 */
export interface LabelBox {
  id: string;
  /** Centre x and top y of the label, in the coordinates the boxes are compared in. */
  x: number;
  y: number;
  w: number;
  h: number;
  priority: number;
}

const CELL = 64;

/** Boxes placed so far, on a spatial grid; `gap` is the clear space kept between two boxes. */
export class LabelGrid {
  private readonly grid = new Map<string, LabelBox[]>();
  constructor(private readonly gap = 0) {}

  private cells(b: LabelBox): string[] {
    const g = this.gap;
    const out: string[] = [];
    for (let cx = Math.floor((b.x - b.w / 2 - g) / CELL); cx <= Math.floor((b.x + b.w / 2 + g) / CELL); cx++)
      for (let cy = Math.floor((b.y - g) / CELL); cy <= Math.floor((b.y + b.h + g) / CELL); cy++) out.push(`${cx},${cy}`);
    return out;
  }

  fits(b: LabelBox): boolean {
    const g = this.gap;
    const overlaps = (o: LabelBox) => Math.abs(b.x - o.x) * 2 < b.w + o.w + 2 * g && b.y < o.y + o.h + g && o.y < b.y + b.h + g;
    return !this.cells(b).some((k) => (this.grid.get(k) ?? []).some(overlaps));
  }

  add(b: LabelBox): void {
    for (const k of this.cells(b)) (this.grid.get(k) ?? this.grid.set(k, []).get(k)!).push(b);
  }
}

function byPriority(a: { id: string; priority: number }, b: { id: string; priority: number }): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Greedy placement: ids of the boxes kept. `blocked` boxes are in place
 * before any label (their ids are not returned).
 */
export function placeLabels(boxes: readonly LabelBox[], blocked: readonly LabelBox[] = [], gap = 0): Set<string> {
  const grid = new LabelGrid(gap);
  for (const b of blocked) grid.add(b);
  const placed = new Set<string>();
  for (const b of [...boxes].sort(byPriority)) {
    if (!grid.fits(b)) continue;
    placed.add(b.id);
    grid.add(b);
  }
  return placed;
}

/** Width of a line of text at a font size, px: the caller's measure, else an estimate for proportional sans-serif text. */
export type Measure = (text: string, fontPx: number, bold?: boolean) => number;

export const estimateWidth: Measure = (text, fontPx, bold = false) => text.length * fontPx * (bold ? 0.6 : 0.56);

/** Approximate size of a two-line edge label at 11 px (kept for callers without a measure). */
export function labelSize(l1: string, l2: string, measure: Measure = estimateWidth): { w: number; h: number } {
  return { w: Math.max(measure(l1, 11), measure(l2, 11)) + 6, h: l2 ? 28 : 15 };
}

export interface NodeLabelInput {
  id: string;
  /** Top-left of the node's box, drawing coordinates. */
  x: number;
  y: number;
  title: string;
  ratePerSec?: number;
  errorRatio?: number;
  /** The compact label and its width, when the caller has them already (see withLabelWidths): measured once per graph, not per zoom. */
  text?: string;
  textW?: number;
}

export interface EdgeLabelInput {
  id: string;
  /** Anchor (centre of the label's first line), drawing coordinates. */
  x: number;
  y: number;
  lines: [string, string];
  ratePerSec?: number;
  errorRatio?: number;
  /** Horizontal room the edge has for its label, drawing units (the gap between columns). */
  room: number;
  /** The label's width, px, when the caller has it already. */
  w?: number;
  /** Its first line's width (the p95 alone), px, when the caller has it already. */
  w1?: number;
}

export interface LodInput {
  nodes: readonly NodeLabelInput[];
  edges: readonly EdgeLabelInput[];
  nodeW: number;
  nodeH: number;
  /** Zoom: screen px per drawing unit. */
  k: number;
  /** Services labelled first whatever their traffic (the hovered or focused one's neighbours, a focused call's ends). */
  pinned: ReadonlySet<string>;
  /** The hovered or focused service: labelled before anything else. */
  primary?: string;
  errorWarnRatio: number;
  errorCritRatio: number;
  showEdgeLabels: boolean;
  measure: Measure;
  /** The drawing's width, drawing units: names are kept within it (a name left of the first column would fall off a fitted map). */
  width?: number;
}

/** How a node is labelled: the full card inside its box when the box is big enough on screen, else its name beside it. */
export type NodeLabelMode = 'full' | 'compact';

/** Where a compact label sits: on its box, or beside it (right or left) when the centre is taken. */
export type LabelSide = 'centre' | 'right' | 'left';

export interface NodeLabel {
  /** The title as shown (shortened when long). */
  text: string;
  side: LabelSide;
  /** A centred name moved this many screen px sideways to stay within the drawing (still over its box). */
  dx?: number;
}

export interface Lod {
  nodeMode: NodeLabelMode;
  /** Node ids labelled. */
  nodes: Map<string, NodeLabel>;
  edges: Set<string>;
  /** Of those, the ones drawn with their first line only (p95): the whole label did not fit the edge's room. */
  edgesShort: Set<string>;
}

/** Screen px between a box and a label beside it. */
export const SIDE_GAP = 3;

export const NODE_FONT = 12;
export const EDGE_FONT = 11;
/** Screen px kept clear between two labels. */
export const LABEL_GAP = 3;
/** A compact label never grows past this many px (a long name is shortened with an ellipsis). */
const MAX_COMPACT_W = 150;
/** The node box must be at least this tall on screen to hold the two-line card at constant size. */
const FULL_MIN_H = 40;

/**
 * Importance: pinned first, then services or calls over the error thresholds,
 * then traffic. Rates are bucketed (quarter-decades) so that the small
 * changes between two refreshes do not swap which of two neighbours is
 * labelled: the id breaks ties, the same way every time.
 */
export function importance(rate: number | undefined, errorRatio: number | undefined, pinned: boolean, warn: number, crit: number): number {
  const tier = pinned ? 3 : errorRatio !== undefined && errorRatio > 0 && errorRatio >= crit ? 2 : errorRatio !== undefined && errorRatio > 0 && errorRatio >= warn ? 1 : 0;
  const bucket = rate === undefined || rate <= 0 ? 0 : Math.max(0, Math.round(Math.log10(rate) * 4) + 40);
  return tier * 1000 + bucket;
}

/** Shortens a name to at most `maxW` px with an ellipsis. */
export function fitText(text: string, maxW: number, fontPx: number, measure: Measure, bold = false): string {
  if (measure(text, fontPx, bold) <= maxW) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(`${text.slice(0, mid)}…`, fontPx, bold) <= maxW) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

/** A service's name as its compact label shows it (shortened when long). */
export function compactText(title: string, measure: Measure): string {
  return fitText(title, MAX_COMPACT_W, NODE_FONT, measure, true);
}

function edgeLabelWidth(lines: readonly [string, string], measure: Measure): number {
  return Math.max(measure(lines[0], EDGE_FONT), measure(lines[1], EDGE_FONT));
}

/**
 * The inputs with their label texts and widths filled in: they depend on the
 * graph and the font, not on the zoom, so a caller placing labels at many
 * zooms measures them once.
 */
export function withLabelWidths(nodes: readonly NodeLabelInput[], edges: readonly EdgeLabelInput[], measure: Measure): { nodes: NodeLabelInput[]; edges: EdgeLabelInput[] } {
  return {
    nodes: nodes.map((n) => {
      const text = compactText(n.title, measure);
      return { ...n, text, textW: measure(text, NODE_FONT, true) };
    }),
    edges: edges.map((e) => ({ ...e, w: edgeLabelWidth(e.lines, measure), w1: measure(e.lines[0], EDGE_FONT) })),
  };
}

/**
 * Which nodes and edges carry a label at zoom `k`. Boxes are compared in
 * screen pixels (drawing coordinates times k; panning moves every label
 * alike, so the answer does not depend on the pan). Node labels go first,
 * then edge labels, which also keep clear of every node's box and only
 * appear where the edge has the room for them.
 */
export function levelOfDetail(inp: LodInput): Lod {
  const { k, measure } = inp;
  const boxW = inp.nodeW * k;
  const boxH = inp.nodeH * k;
  const nodeMode: NodeLabelMode = boxH >= FULL_MIN_H && boxW >= 90 ? 'full' : 'compact';
  const nodes = new Map<string, NodeLabel>();
  const nodeBoxes: LabelBox[] = inp.nodes.map((n) => ({ id: n.id, x: (n.x + inp.nodeW / 2) * k, y: n.y * k, w: boxW, h: boxH, priority: 0 }));
  const placedLabels: LabelBox[] = [];
  if (nodeMode === 'full') {
    // Every card fits inside its own box, and boxes never overlap (the layout's guarantee).
    for (const n of inp.nodes) nodes.set(n.id, { text: n.title, side: 'centre' });
  } else {
    const grid = new LabelGrid(LABEL_GAP);
    const order = inp.nodes
      .map((n) => ({ n, id: n.id, priority: n.id === inp.primary ? Infinity : importance(n.ratePerSec, n.errorRatio, inp.pinned.has(n.id), inp.errorWarnRatio, inp.errorCritRatio) }))
      .sort(byPriority);
    const h = NODE_FONT + 4;
    for (const { n } of order) {
      const text = n.text ?? compactText(n.title, measure);
      const w = (n.textW ?? measure(text, NODE_FONT, true)) + 6;
      const cx = (n.x + inp.nodeW / 2) * k;
      const y = (n.y + inp.nodeH / 2) * k - h / 2;
      // On its own box first; else beside it, where the name still points at its service.
      const tries: Array<[LabelSide, number]> = [
        ['centre', cx],
        ['right', cx + boxW / 2 + SIDE_GAP + w / 2],
        ['left', cx - boxW / 2 - SIDE_GAP - w / 2],
      ];
      for (const [side, at] of tries) {
        let x = at;
        if (inp.width !== undefined) {
          const [lo, hi] = [w / 2, inp.width * k - w / 2];
          // A name on its box may slide inward (it still covers the box); one beside it may not.
          if (side === 'centre') x = Math.min(Math.max(x, lo), Math.max(lo, hi));
          if (x < lo - 1e-9 || x > hi + 1e-9) continue;
        }
        const b: LabelBox = { id: n.id, x, y, w, h, priority: 0 };
        if (!grid.fits(b)) continue;
        grid.add(b);
        placedLabels.push(b);
        nodes.set(n.id, x === at ? { text, side } : { text, side, dx: x - at });
        break;
      }
    }
  }
  const edges = new Set<string>();
  const edgesShort = new Set<string>();
  if (inp.showEdgeLabels) {
    const cands: LabelBox[] = [];
    for (const e of inp.edges) {
      // Only where the edge has the room: a label wider than its edge's gap would sit on the boxes either side.
      // When the whole label does not fit, its first line (the p95) alone may: latency is what an edge must show.
      const full = (e.w ?? edgeLabelWidth(e.lines, measure)) + 6;
      const short = (e.w1 ?? measure(e.lines[0], EDGE_FONT)) + 6;
      const fitsFull = full <= e.room * k;
      if (!fitsFull && short > e.room * k) continue;
      if (!fitsFull) edgesShort.add(e.id);
      const w = fitsFull ? full : short;
      const h = fitsFull && e.lines[1] ? 2 * EDGE_FONT + 4 : EDGE_FONT + 4;
      cands.push({ id: e.id, x: e.x * k, y: e.y * k - EDGE_FONT, w, h, priority: importance(e.ratePerSec, e.errorRatio, false, inp.errorWarnRatio, inp.errorCritRatio) });
    }
    for (const id of placeLabels(cands, [...nodeBoxes, ...placedLabels], LABEL_GAP)) edges.add(id);
    for (const id of edgesShort) if (!edges.has(id)) edgesShort.delete(id);
  }
  return { nodeMode, nodes, edges, edgesShort };
}
