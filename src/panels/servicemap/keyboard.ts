/**
 * Keyboard navigation of the service map: which service an arrow key moves
 * to. Pure (centres in drawing coordinates in, an id out).
 */
export type Direction = 'left' | 'right' | 'up' | 'down';

export interface Spot {
  id: string;
  x: number;
  y: number;
}

export const ARROWS: Readonly<Record<string, Direction>> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };

/**
 * The nearest spot in a direction: among spots strictly on that side, the one
 * with the least distance along the direction plus twice the sideways offset
 * (so a node straight ahead beats a closer one far off to the side, and
 * moving right along a row stays in that row). Ties by id. Undefined when
 * nothing lies that way.
 */
export function nearestInDirection(from: Spot, spots: readonly Spot[], dir: Direction): string | undefined {
  // Within 70 degrees of the direction first; anything on that side only when nothing is.
  return nearest(from, spots, dir, 1 / Math.tan((70 * Math.PI) / 180)) ?? nearest(from, spots, dir, 0);
}

function nearest(from: Spot, spots: readonly Spot[], dir: Direction, cone: number): string | undefined {
  let best: Spot | undefined;
  let bestScore = Infinity;
  for (const s of spots) {
    if (s.id === from.id) continue;
    const dx = s.x - from.x;
    const dy = s.y - from.y;
    const along = dir === 'right' ? dx : dir === 'left' ? -dx : dir === 'down' ? dy : -dy;
    const side = dir === 'right' || dir === 'left' ? Math.abs(dy) : Math.abs(dx);
    if (along <= 0.5 || along < side * cone) continue;
    const score = along + 2 * side;
    if (score < bestScore || (score === bestScore && best !== undefined && s.id < best.id)) {
      best = s;
      bestScore = score;
    }
  }
  return best?.id;
}

/** Where focus enters the map: the top-left service (reading order), ties by id. */
export function firstSpot(spots: readonly Spot[]): string | undefined {
  let best: Spot | undefined;
  for (const s of spots) if (!best || s.x < best.x || (s.x === best.x && (s.y < best.y || (s.y === best.y && s.id < best.id)))) best = s;
  return best?.id;
}
