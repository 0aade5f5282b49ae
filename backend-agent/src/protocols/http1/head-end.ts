/**
 * Locating the empty line that ends a message head. Walks line ends with the
 * native Buffer.indexOf, so the cost is per line, not per byte, and the walk
 * can resume at the last unfinished line when the head arrives in pieces.
 */
import { CR, LF } from './ascii.js';

export type HeadEndSearch =
  /** The head ends right before `end` (exclusive offset, after the empty line). */
  | { found: true; end: number }
  /** Not within the bound; resume later at `resumeAt`, the start of the unfinished line. */
  | { found: false; resumeAt: number };

/** Searches from `lineStart` (which must be the start of a line) for the empty line, within buf[.., bound). */
export function findHeadEnd(buf: Buffer, lineStart: number, bound: number): HeadEndSearch {
  let pos = lineStart;
  for (;;) {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0 || lf >= bound) return { found: false, resumeAt: pos };
    if (lf === pos || (lf === pos + 1 && buf[pos] === CR)) return { found: true, end: lf + 1 };
    pos = lf + 1;
  }
}
