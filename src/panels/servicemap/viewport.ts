/**
 * Zoom and pan of the service map: a view is a scale and a translation
 * applied to the whole drawing (one transform attribute, so panning and
 * zooming never re-render the nodes and edges). Pure.
 */
export interface View {
  k: number;
  x: number;
  y: number;
  /**
   * The view the drawing and its labels were last rendered at, while a wheel
   * gesture is under way (undefined otherwise: they follow the view). A
   * scale change makes the browser lay out every SVG shape again and the
   * labels be placed again, far more work than one wheel step deserves; so
   * during the gesture the panel shows that rendering scaled by a CSS
   * transform (composited, no layout) and renders anew only when the zoom
   * has moved by REPLACE_FACTOR or the wheel has rested.
   */
  placed?: { k: number; x: number; y: number };
}

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 3;

/** Padding the fitted view keeps around the map, px. */
export const FIT_PAD = 8;

/** The view that fits a drawing of `w` x `h` into the panel, centred, never enlarged past 1.4x. */
export function fitView(w: number, h: number, panelW: number, panelH: number, pad = FIT_PAD): View {
  const k = Math.max(MIN_ZOOM, Math.min(1.4, (panelW - 2 * pad) / Math.max(w, 1), (panelH - 2 * pad) / Math.max(h, 1)));
  return { k, x: (panelW - w * k) / 2, y: Math.max(pad, (panelH - h * k) / 2) };
}

/** Zoom by `factor` keeping the drawing point under (px, py) in place. */
export function zoomAt(v: View, factor: number, px: number, py: number): View {
  const k = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, v.k * factor));
  const f = k / v.k;
  return { k, x: px - (px - v.x) * f, y: py - (py - v.y) * f };
}

/** How far the zoom may drift from the labels' placement during a wheel gesture before they are re-placed (their size then being 12 px times this, or divided by it). */
export const REPLACE_FACTOR = 1.4;
/** The wheel has rested after this many ms without an event: labels are re-placed at the final zoom. */
export const WHEEL_SETTLE_MS = 150;

/** A wheel step: like zoomAt, keeping the rendered view while the zoom stays within REPLACE_FACTOR of it. */
export function wheelZoomAt(v: View, factor: number, px: number, py: number): View {
  const next = zoomAt(v, factor, px, py);
  const placed = v.placed ?? { k: v.k, x: v.x, y: v.y };
  const drift = Math.max(next.k / placed.k, placed.k / next.k);
  return drift > REPLACE_FACTOR ? { ...next, placed: { ...next } } : { ...next, placed };
}

/** The view the drawing and labels are rendered at (labels are placed and sized for its zoom). */
export function renderedView(v: View): { k: number; x: number; y: number } {
  return v.placed ?? { k: v.k, x: v.x, y: v.y };
}

/** The CSS transform that shows a rendering made at `placed` as the view `v` (none when they agree). */
export function interimTransform(v: View): string | undefined {
  const p = v.placed;
  if (!p || (p.k === v.k && p.x === v.x && p.y === v.y)) return undefined;
  const s = v.k / p.k;
  return `translate(${v.x - p.x * s}px, ${v.y - p.y * s}px) scale(${s})`;
}

/** The same view, rendered at itself (the wheel has rested). */
export function settleLabels(v: View): View {
  return v.placed === undefined ? v : { k: v.k, x: v.x, y: v.y };
}

/**
 * The shape (width / height) of the room the fitted map has in a panel, as
 * the layout is asked to fill it: in steps of 1/8 of a doubling, so that
 * resizing a panel by a few pixels does not lay the map out again.
 */
export function layoutAspect(panelW: number, panelH: number, pad = FIT_PAD): number {
  const a = Math.max(1, panelW - 2 * pad) / Math.max(1, panelH - 2 * pad);
  return 2 ** (Math.round(Math.log2(a) * 8) / 8);
}
