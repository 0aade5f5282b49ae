/**
 * Zoom and pan of the service map: a view is a scale and a translation
 * applied to the whole drawing (one transform attribute, so panning and
 * zooming never re-render the nodes and edges). Pure.
 */
export interface View {
  k: number;
  x: number;
  y: number;
}

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 3;

/** The view that fits a drawing of `w` x `h` into the panel, centred, never enlarged past 1.4x. */
export function fitView(w: number, h: number, panelW: number, panelH: number, pad = 8): View {
  const k = Math.max(MIN_ZOOM, Math.min(1.4, (panelW - 2 * pad) / Math.max(w, 1), (panelH - 2 * pad) / Math.max(h, 1)));
  return { k, x: (panelW - w * k) / 2, y: Math.max(pad, (panelH - h * k) / 2) };
}

/** Zoom by `factor` keeping the drawing point under (px, py) in place. */
export function zoomAt(v: View, factor: number, px: number, py: number): View {
  const k = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, v.k * factor));
  const f = k / v.k;
  return { k, x: px - (px - v.x) * f, y: py - (py - v.y) * f };
}
