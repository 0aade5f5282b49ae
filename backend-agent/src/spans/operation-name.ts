/**
 * Operation names must stay low-cardinality: they become service-graph keys,
 * search facets and (later) metric labels. Path segments that look like ids
 * are replaced by `{id}`, so `/orders/1234` and `/orders/98` are one operation.
 *
 * Runs once per span, so the path is walked in place: no split, no regular
 * expressions, and the path itself is returned when nothing changes.
 */

/** Segments kept (the empty one before the leading `/` counts); deeper paths end in `/…`. */
const MAX_SEGMENTS = 8;
const ID = '{id}';

/**
 * Whether path[start, end) (non-empty) is an id: all digits; a UUID; 8+ hex
 * digits with at least one decimal digit (hex ids, hashes); or 16+ characters
 * of [A-Za-z0-9_-] with both a digit and a letter (opaque tokens).
 */
export function isIdSegment(path: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === UUID_LENGTH && isUuid(path, start)) return true;
  let digits = 0;
  let hexLetters = 0;
  let otherLetters = 0;
  let tokenOther = 0;
  for (let i = start; i < end; i++) {
    const c = path.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if ((c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)) hexLetters++;
    else if ((c >= 0x67 && c <= 0x7a) || (c >= 0x47 && c <= 0x5a)) otherLetters++;
    else if (c === 0x5f || c === 0x2d) tokenOther++;
    else return false; // outside every id alphabet
  }
  if (digits === 0) return false;
  if (digits === length) return true;
  if (length >= 8 && hexLetters + digits === length) return true;
  return length >= 16 && hexLetters + otherLetters > 0;
}

const UUID_LENGTH = 36;

function isUuid(s: string, at: number): boolean {
  for (let i = 0; i < UUID_LENGTH; i++) {
    const c = s.charCodeAt(at + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) {
      return false;
    }
  }
  return true;
}

export function normalisePath(path: string): string {
  let out = '';
  // path[copiedTo..] is not yet in `out`; nothing is built until a segment changes.
  let copiedTo = 0;
  let start = 0;
  for (let count = 1; ; count++) {
    if (count > MAX_SEGMENTS + 1) {
      // More segments than kept: the first ones, then a marker.
      return `${out}${path.slice(copiedTo, start - 1)}/…`;
    }
    const slash = path.indexOf('/', start);
    const end = slash < 0 ? path.length : slash;
    if (end > start && isIdSegment(path, start, end)) {
      out += path.slice(copiedTo, start) + ID;
      copiedTo = end;
    }
    if (slash < 0) break;
    start = slash + 1;
  }
  const result = copiedTo === 0 ? path : out + path.slice(copiedTo);
  return result || '/';
}

export function operationName(method: string, path: string): string {
  return `${method} ${normalisePath(path)}`;
}
