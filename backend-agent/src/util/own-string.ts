/**
 * A copy of `s` that shares no memory with the string it was cut from.
 *
 * V8 makes `slice`/`substring` of 13 or more characters a view that keeps its
 * whole parent alive. The HTTP/1 parser cuts every field out of one decoded
 * head (protocols/http1/head.ts), so a field that outlives the parser (a cache
 * key, a span attribute waiting for its batch) would otherwise pin the whole
 * head: up to 64 KiB for a head assembled from many reads.
 */
const SLICE_MIN_LENGTH = 13;

export function ownString(s: string): string {
  // Shorter cuts are copies already; latin1 round-trips every code unit a head can hold (0-255).
  return s.length < SLICE_MIN_LENGTH ? s : Buffer.from(s, 'latin1').toString('latin1');
}

/**
 * Bounded caches keyed by text from the wire store only keys up to this long
 * (as copies): a longer key is rarer than it is worth keeping.
 */
export const MAX_CACHED_KEY_LENGTH = 64;
