/**
 * Parsing one message head (start line + header lines) that the stream
 * parser has already delimited. Only this small region is decoded to
 * strings; bodies never are.
 */
import {
  COLON,
  bytesEqualAt,
  CR,
  LF,
  SP,
  isDigitByte,
  isOptionalWhitespace,
  isTokenByte,
  latin1,
} from './ascii.js';
import { describeFraming, type FramingHeaders } from './framing.js';
import type { MessageKind } from './start-line.js';
import type { HeaderField } from './types.js';

export interface ParsedRequestHead extends FramingHeaders {
  kind: 'request';
  method: string;
  target: string;
  version: string;
  headers: HeaderField[];
}

export interface ParsedResponseHead extends FramingHeaders {
  kind: 'response';
  statusCode: number;
  reason: string;
  version: string;
  headers: HeaderField[];
}

export type ParsedHead = ParsedRequestHead | ParsedResponseHead;

/**
 * Parses buf[start, end). Strict mode: the region ends with the empty line
 * and every line must be well formed, else undefined. Lenient mode (a head
 * cut short by uncaptured bytes): whole lines only, stopping at the first one
 * that does not parse; only the start line is required.
 */
export function parseHead(kind: MessageKind, buf: Buffer, start: number, end: number, lenient: boolean): ParsedHead | undefined {
  let firstLf = buf.indexOf(LF, start);
  if (firstLf < 0 || firstLf >= end) {
    // A cut head may end inside the start line's CRLF: the line itself is whole.
    if (!lenient) return undefined;
    firstLf = end;
  }
  const startLineEnd = firstLf > start && buf[firstLf - 1] === CR ? firstLf - 1 : firstLf;
  const headers: HeaderField[] = [];
  if (firstLf < end && !parseHeaderLines(buf, firstLf + 1, end, headers, lenient)) return undefined;
  if (kind === 'request') {
    const line = parseRequestLine(buf, start, startLineEnd);
    return line ? { kind, ...line, headers, ...describeFraming(headers) } : undefined;
  }
  const line = parseStatusLine(buf, start, startLineEnd);
  return line ? { kind, ...line, headers, ...describeFraming(headers) } : undefined;
}

function parseRequestLine(buf: Buffer, start: number, end: number): { method: string; target: string; version: string } | undefined {
  const sp1 = buf.indexOf(SP, start);
  if (sp1 <= start || sp1 >= end) return undefined;
  // The version is the last 8 bytes; the target is everything between (it has no SP when valid).
  const versionStart = end - 8;
  if (versionStart <= sp1 + 1 || buf[versionStart - 1] !== SP) return undefined;
  const version = parseVersion(buf, versionStart);
  if (version === undefined) return undefined;
  return { method: latin1(buf, start, sp1), target: latin1(buf, sp1 + 1, versionStart - 1), version };
}

function parseStatusLine(buf: Buffer, start: number, end: number): { statusCode: number; reason: string; version: string } | undefined {
  if (end - start < 12) return undefined;
  const version = parseVersion(buf, start);
  if (version === undefined || buf[start + 8] !== SP) return undefined;
  let statusCode = 0;
  for (let i = start + 9; i < start + 12; i++) {
    const b = buf[i] as number;
    if (!isDigitByte(b)) return undefined;
    statusCode = statusCode * 10 + (b - 0x30);
  }
  if (end > start + 12 && buf[start + 12] !== SP) return undefined;
  const reason = end > start + 13 ? latin1(buf, start + 13, end) : '';
  return { statusCode, reason, version };
}

/** Header lines in buf[start, end), leniently (trailers of a chunked body): whole valid lines up to the first bad one. */
export function parseFieldLines(buf: Buffer, start: number, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  parseHeaderLines(buf, start, end, fields, true);
  return fields;
}

const HTTP1_SLASH = Buffer.from('HTTP/1.', 'latin1');

/** "HTTP/1.d" at `at` -> "1.d". */
function parseVersion(buf: Buffer, at: number): string | undefined {
  if (!bytesEqualAt(buf, at, HTTP1_SLASH)) return undefined;
  const minor = buf[at + 7];
  if (minor === undefined || !isDigitByte(minor)) return undefined;
  return `1.${minor - 0x30}`;
}

/**
 * Header lines in buf[from, end) into `out`. Stops at the empty line. obs-fold
 * continuation lines (RFC 9112 section 5.2) are joined with one space, as a
 * recipient should.
 */
function parseHeaderLines(buf: Buffer, from: number, end: number, out: HeaderField[], lenient: boolean): boolean {
  let pos = from;
  while (pos < end) {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0 || lf >= end) return lenient; // an unfinished line: only acceptable when the head was cut
    const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
    if (lineEnd === pos) return true; // the empty line ending the head
    if (!parseHeaderLine(buf, pos, lineEnd, out)) return lenient;
    pos = lf + 1;
  }
  return lenient;
}

function parseHeaderLine(buf: Buffer, start: number, end: number, out: HeaderField[]): boolean {
  const first = buf[start] as number;
  if (isOptionalWhitespace(first)) {
    const previous = out[out.length - 1];
    if (!previous) return false;
    const [vs, ve] = trimmed(buf, start, end);
    if (ve > vs) previous[1] = previous[1] ? `${previous[1]} ${latin1(buf, vs, ve)}` : latin1(buf, vs, ve);
    return true;
  }
  const colon = buf.indexOf(COLON, start);
  if (colon <= start || colon >= end) return false;
  // No whitespace between name and colon (RFC 9112 section 5.1): a smuggling vector, and a sign of garbage.
  for (let i = start; i < colon; i++) if (!isTokenByte(buf[i] as number)) return false;
  const [vs, ve] = trimmed(buf, colon + 1, end);
  out.push([latin1(buf, start, colon).toLowerCase(), latin1(buf, vs, ve)]);
  return true;
}

function trimmed(buf: Buffer, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && isOptionalWhitespace(buf[s] as number)) s++;
  while (e > s && isOptionalWhitespace(buf[e - 1] as number)) e--;
  return [s, e];
}
