/**
 * Edge-label decluttering for big maps: labels are placed greedily, busiest
 * edge first, and a label that would overlap one already placed is left out
 * (its edge's hover card still has every figure). Deterministic: ties by id.
 * Pure; a spatial grid keeps it near-linear for 1,000 labels.
 */
export interface LabelBox {
  id: string;
  /** Centre x and top y of the label, in drawing coordinates. */
  x: number;
  y: number;
  w: number;
  h: number;
  priority: number;
}

const CELL = 64;

export function placeLabels(boxes: readonly LabelBox[]): Set<string> {
  const order = [...boxes].sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  const grid = new Map<string, LabelBox[]>();
  const placed = new Set<string>();
  const cells = (b: LabelBox) => {
    const out: string[] = [];
    for (let cx = Math.floor((b.x - b.w / 2) / CELL); cx <= Math.floor((b.x + b.w / 2) / CELL); cx++)
      for (let cy = Math.floor(b.y / CELL); cy <= Math.floor((b.y + b.h) / CELL); cy++) out.push(`${cx},${cy}`);
    return out;
  };
  const overlaps = (a: LabelBox, b: LabelBox) => Math.abs(a.x - b.x) * 2 < a.w + b.w && a.y < b.y + b.h && b.y < a.y + a.h;
  for (const b of order) {
    const keys = cells(b);
    if (keys.some((k) => (grid.get(k) ?? []).some((o) => overlaps(b, o)))) continue;
    placed.add(b.id);
    for (const k of keys) (grid.get(k) ?? grid.set(k, []).get(k)!).push(b);
  }
  return placed;
}

/** Approximate size of a two-line label at 11 px (no DOM measuring in a pure layout step). */
export function labelSize(l1: string, l2: string): { w: number; h: number } {
  return { w: Math.max(l1.length, l2.length) * 6.2 + 6, h: l2 ? 28 : 15 };
}
