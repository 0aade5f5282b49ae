/**
 * Text widths for label placement, measured the way the browser will draw
 * them (a canvas with the panel's font), cached; an estimate where there is
 * no canvas (jsdom, Node).
 */
import { estimateWidth, type Measure } from './labels';

interface Ctx {
  font: string;
  measureText(t: string): { width: number };
}

/**
 * Entries kept before the cache starts over. Edge labels carry live figures
 * (p95, rate), so every refresh brings new texts: unbounded, a wall dashboard
 * would grow it for as long as it stays open.
 */
export const MEASURE_CACHE_MAX = 4096;

export function canvasMeasure(fontFamily: string): Measure {
  let ctx: Ctx | null = null;
  if (typeof OffscreenCanvas !== 'undefined') ctx = new OffscreenCanvas(1, 1).getContext('2d') as Ctx | null;
  if (!ctx) return estimateWidth;
  const c = ctx;
  const cache = new Map<string, number>();
  return (text, px, bold = false) => {
    const key = `${px}|${bold ? 1 : 0}|${text}`;
    let w = cache.get(key);
    if (w === undefined) {
      c.font = `${bold ? 500 : 400} ${px}px ${fontFamily}`;
      w = c.measureText(text).width;
      if (cache.size >= MEASURE_CACHE_MAX) cache.clear();
      cache.set(key, w);
    }
    return w;
  };
}
