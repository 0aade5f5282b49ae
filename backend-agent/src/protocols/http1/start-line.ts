/**
 * Finding where an HTTP/1 message starts in bytes of unknown meaning: after
 * joining a connection mid-stream, after lost bytes, or past garbage.
 *
 * The answer is the earliest offset that either holds a start line validated
 * far enough to commit to, or holds the beginning of one that runs to the end
 * of the bytes we have (so the caller keeps it and waits for more). Because it
 * depends only on the bytes and never on how they were chunked, feeding a
 * stream byte by byte finds the same messages as feeding it whole.
 *
 *   request:  METHOD SP target SP HTTP/1.d (CR|LF)   (METHOD from methods.ts)
 *   response: HTTP/1.d SP ddd (SP|CR|LF)
 */
import { CR, LF, SP, isDigitByte, isTargetByte } from './ascii.js';
import { MAX_METHOD_LENGTH, isKnownMethod, isKnownMethodPrefix, isMethodByte, longestKnownMethodEndingAt } from './methods.js';

export type MessageKind = 'request' | 'response';

const HTTP1_PREFIX = Buffer.from('HTTP/1.', 'latin1');
/** "HTTP/1.1" */
const VERSION_LENGTH = 8;
/** "HTTP/1.1 200": a response start line is committed to once the byte after this is seen. */
const STATUS_PREFIX_LENGTH = 12;

export interface StartLineCandidate {
  /** Offset of the first byte of the start line. */
  index: number;
  /** True: validated, parse from here. False: a possible start line cut by the end of the bytes. */
  complete: boolean;
}

/**
 * Earliest start line of `kind` in buf[from, buf.length), or undefined when
 * no byte there can begin one (the caller may then drop all of them).
 * Request lines longer than maxLineBytes are not recognised, which bounds
 * both the work and what a caller has to keep between chunks.
 */
export function findStartLine(
  kind: MessageKind,
  buf: Buffer,
  from: number,
  maxLineBytes: number,
): StartLineCandidate | undefined {
  if (from >= buf.length) return undefined;
  // Nearly always the bytes start with the next message: then that line is the earliest, found without a search.
  if (kind === 'request' ? isCompleteRequestLineAt(buf, from, maxLineBytes) : isCompleteStatusLineAt(buf, from)) return { index: from, complete: true };
  return searchStartLine(kind, buf, from, maxLineBytes);
}

/** findStartLine without the check at `from` first: the same answer (tests compare them), by searching. */
export function searchStartLine(kind: MessageKind, buf: Buffer, from: number, maxLineBytes: number): StartLineCandidate | undefined {
  if (from >= buf.length) return undefined;
  const complete = kind === 'request' ? findCompleteRequestLine(buf, from, maxLineBytes) : findCompleteStatusLine(buf, from);
  if (complete >= 0) return { index: complete, complete: true };
  const partial = findPartialStartLine(kind, buf, from, maxLineBytes);
  return partial >= 0 ? { index: partial, complete: false } : undefined;
}

function findCompleteStatusLine(buf: Buffer, from: number): number {
  for (let at = buf.indexOf(HTTP1_PREFIX, from); at >= 0; at = buf.indexOf(HTTP1_PREFIX, at + 1)) {
    if (at + STATUS_PREFIX_LENGTH >= buf.length) return -1;
    if (isStatusLinePrefix(buf, at, at + STATUS_PREFIX_LENGTH)) {
      const after = buf[at + STATUS_PREFIX_LENGTH];
      if (after === SP || after === CR || after === LF) return at;
    }
  }
  return -1;
}

/** What findCompleteStatusLine accepts, at `at` only. */
function isCompleteStatusLineAt(buf: Buffer, at: number): boolean {
  if (at + STATUS_PREFIX_LENGTH >= buf.length || !isStatusLinePrefix(buf, at, at + STATUS_PREFIX_LENGTH)) return false;
  const after = buf[at + STATUS_PREFIX_LENGTH];
  return after === SP || after === CR || after === LF;
}

/**
 * What findCompleteRequestLine would return `at` for, read forwards: a known
 * method exactly, SP, a target, SP, "HTTP/1.d", CR or LF, the method starting
 * no more than maxLineBytes before the version. (A longer known method
 * ending at the same SP would have to start before `at`, so the backward
 * reading finds this one too.)
 */
function isCompleteRequestLineAt(buf: Buffer, at: number, maxLineBytes: number): boolean {
  const end = buf.length;
  let i = at;
  while (i < end && i - at <= MAX_METHOD_LENGTH && isMethodByte(buf[i] as number)) i++;
  if (i === at || i >= end || buf[i] !== SP || !isKnownMethod(buf, at, i)) return false;
  const targetStart = ++i;
  while (i < end && isTargetByte(buf[i] as number)) i++;
  if (i === targetStart || i >= end || buf[i] !== SP) return false;
  const versionAt = i + 1;
  if (versionAt - at > maxLineBytes || versionAt + VERSION_LENGTH >= end) return false;
  for (let k = 0; k < HTTP1_PREFIX.length; k++) if (buf[versionAt + k] !== HTTP1_PREFIX[k]) return false;
  if (!isDigitByte(buf[versionAt + VERSION_LENGTH - 1] as number)) return false;
  const t = buf[versionAt + VERSION_LENGTH];
  return t === CR || t === LF;
}

/** buf[start, end) matches the beginning of "HTTP/1.d SP ddd" (end - start <= 12). */
function isStatusLinePrefix(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const k = i - start;
    const b = buf[i] as number;
    if (k < HTTP1_PREFIX.length) {
      if (b !== HTTP1_PREFIX[k]) return false;
    } else if (k === VERSION_LENGTH) {
      if (b !== SP) return false;
    } else if (!isDigitByte(b)) {
      return false;
    }
  }
  return true;
}

/**
 * Anchors on "HTTP/1." (found with the native indexOf), then checks the line
 * backwards: SP, target, SP, a known method. The first anchor that passes
 * gives the earliest line, since a request line holds no CR/LF and so cannot
 * straddle an earlier anchor's line end.
 */
function findCompleteRequestLine(buf: Buffer, from: number, maxLineBytes: number): number {
  for (let at = buf.indexOf(HTTP1_PREFIX, from); at >= 0; at = buf.indexOf(HTTP1_PREFIX, at + 1)) {
    const terminator = at + VERSION_LENGTH;
    if (terminator >= buf.length) return -1;
    if (!isDigitByte(buf[at + VERSION_LENGTH - 1] as number)) continue;
    const t = buf[terminator];
    if (t !== CR && t !== LF) continue;
    const start = requestLineStartBefore(buf, from, at, maxLineBytes);
    if (start >= 0) return start;
  }
  return -1;
}

/** Start of "METHOD SP target SP" ending right before `versionAt`, or -1. */
function requestLineStartBefore(buf: Buffer, from: number, versionAt: number, maxLineBytes: number): number {
  const secondSpace = versionAt - 1;
  if (secondSpace <= from || buf[secondSpace] !== SP) return -1;
  const floor = Math.max(from, versionAt - maxLineBytes);
  let t = secondSpace - 1;
  while (t >= floor && isTargetByte(buf[t] as number)) t--;
  // t is now the first space (or out of range); the target must not be empty.
  if (t < floor || t === secondSpace - 1 || buf[t] !== SP) return -1;
  const methodLength = longestKnownMethodEndingAt(buf, floor, t);
  return methodLength > 0 ? t - methodLength : -1;
}

/**
 * Earliest offset whose bytes up to the end are the unfinished beginning of
 * a start line. Such a line has no CR/LF, so only the bytes after the last
 * line break can hold it.
 */
function findPartialStartLine(kind: MessageKind, buf: Buffer, from: number, maxLineBytes: number): number {
  const end = buf.length;
  const window = kind === 'request' ? maxLineBytes : STATUS_PREFIX_LENGTH + 1;
  let floor = Math.max(from, end - window);
  const lastBreak = Math.max(buf.lastIndexOf(LF, end - 1), buf.lastIndexOf(CR, end - 1));
  if (lastBreak >= floor) floor = lastBreak + 1;
  for (let p = floor; p < end; p++) {
    if (kind === 'response') {
      if (end - p <= STATUS_PREFIX_LENGTH && isStatusLinePrefix(buf, p, end)) return p;
    } else if (isUnfinishedRequestLine(buf, p, end)) {
      return p;
    }
  }
  return -1;
}

/** buf[p, end) is a request line that more bytes could still complete. */
function isUnfinishedRequestLine(buf: Buffer, p: number, end: number): boolean {
  let i = p;
  while (i < end && i - p <= MAX_METHOD_LENGTH && isMethodByte(buf[i] as number)) i++;
  if (i === p) return false;
  if (i === end) return isKnownMethodPrefix(buf, p, end);
  if (buf[i] !== SP || !isKnownMethod(buf, p, i)) return false;
  i++;
  const targetStart = i;
  while (i < end && isTargetByte(buf[i] as number)) i++;
  if (i === end) return true;
  if (buf[i] !== SP || i === targetStart) return false;
  i++;
  const versionStart = i;
  // Up to the whole version may be present; its terminator may not (that would be a complete line).
  if (end - versionStart > VERSION_LENGTH) return false;
  for (; i < end; i++) {
    const k = i - versionStart;
    const b = buf[i] as number;
    if (k < HTTP1_PREFIX.length ? b !== HTTP1_PREFIX[k] : !isDigitByte(b)) return false;
  }
  return true;
}
