/**
 * Parsing one message head (start line + header lines) that the stream
 * parser has already delimited. Only this small region is decoded to
 * strings; bodies never are.
 */
import { CR, SP, isDigitByte, isOptionalWhitespace, isTokenByte, latin1 } from './ascii.js';
import { describeFraming, type FramingHeaders } from './framing.js';
import type { MessageKind } from './start-line.js';
import type { HeaderField } from './types.js';
import { MAX_CACHED_KEY_LENGTH, ownString } from '../../util/own-string.js';

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
 *
 * The region is decoded to one string and cut up in JavaScript: a head has a
 * dozen fields, and a Buffer decode per field crossed into native code a
 * dozen times (about a tenth of the agent's pipeline time).
 */
export function parseHead(kind: MessageKind, buf: Buffer, start: number, end: number, lenient: boolean): ParsedHead | undefined {
  const text = latin1(buf, start, end);
  const length = text.length;
  let firstLf = text.indexOf('\n');
  if (firstLf < 0) {
    // A cut head may end inside the start line's CRLF: the line itself is whole.
    if (!lenient) return undefined;
    firstLf = length;
  }
  const startLineEnd = firstLf > 0 && text.charCodeAt(firstLf - 1) === CR ? firstLf - 1 : firstLf;
  const headers: HeaderField[] = [];
  if (firstLf < length && !parseHeaderLines(text, firstLf + 1, headers, lenient)) return undefined;
  const head = kind === 'request' ? parseRequestLine(text, startLineEnd, headers) : parseStatusLine(text, startLineEnd, headers);
  if (head && length > SHARED_HEAD_MAX) ownFields(head);
  return head;
}

/**
 * Fields cut from `text` keep all of it alive for as long as any of them
 * lives (util/own-string.ts), and some outlive the parser: span attributes,
 * ids and rows waiting for their batch. Up to this size a kept field may pin
 * its head (about what the field strings themselves cost); a bigger head (one
 * assembled from many reads can reach 64 KiB) gets its fields copied out, at
 * one native copy per field, as every field cost before the head was decoded
 * whole.
 */
const SHARED_HEAD_MAX = 1024;

function ownFields(head: ParsedHead): void {
  if (head.kind === 'request') {
    head.method = ownString(head.method);
    head.target = ownString(head.target);
  } else {
    head.reason = ownString(head.reason);
  }
  ownHeaders(head.headers);
}

function ownHeaders(headers: HeaderField[]): void {
  for (const field of headers) {
    field[0] = ownString(field[0]);
    field[1] = ownString(field[1]);
  }
}

function parseRequestLine(text: string, end: number, headers: HeaderField[]): ParsedRequestHead | undefined {
  const sp1 = text.indexOf(' ');
  if (sp1 <= 0 || sp1 >= end) return undefined;
  // The version is the last 8 bytes; the target is everything between (it has no SP when valid).
  const versionStart = end - 8;
  if (versionStart <= sp1 + 1 || text.charCodeAt(versionStart - 1) !== SP) return undefined;
  const version = parseVersion(text, versionStart);
  if (version === undefined) return undefined;
  const framing = describeFraming(headers);
  return {
    kind: 'request',
    method: internedMethod(text, sp1),
    target: text.slice(sp1 + 1, versionStart - 1),
    version,
    headers,
    contentLength: framing.contentLength,
    contentLengthInvalid: framing.contentLengthInvalid,
    transferEncoding: framing.transferEncoding,
    upgrade: framing.upgrade,
  };
}

function parseStatusLine(text: string, end: number, headers: HeaderField[]): ParsedResponseHead | undefined {
  if (end < 12) return undefined;
  const version = parseVersion(text, 0);
  if (version === undefined || text.charCodeAt(8) !== SP) return undefined;
  let statusCode = 0;
  for (let i = 9; i < 12; i++) {
    const b = text.charCodeAt(i);
    if (!isDigitByte(b)) return undefined;
    statusCode = statusCode * 10 + (b - 0x30);
  }
  if (end > 12 && text.charCodeAt(12) !== SP) return undefined;
  const framing = describeFraming(headers);
  return {
    kind: 'response',
    statusCode,
    reason: end > 13 ? text.slice(13, end) : '',
    version,
    headers,
    contentLength: framing.contentLength,
    contentLengthInvalid: framing.contentLengthInvalid,
    transferEncoding: framing.transferEncoding,
    upgrade: framing.upgrade,
  };
}

/** Header lines in buf[start, end), leniently (trailers of a chunked body): whole valid lines up to the first bad one. */
export function parseFieldLines(buf: Buffer, start: number, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  parseHeaderLines(latin1(buf, start, end), 0, fields, true);
  if (end - start > SHARED_HEAD_MAX) ownHeaders(fields);
  return fields;
}

const HTTP1_SLASH = 'HTTP/1.';
/** The version strings, shared rather than built per message. */
const VERSIONS: readonly string[] = Array.from({ length: 10 }, (_, minor) => `1.${minor}`);

/** "HTTP/1.d" at `at` -> "1.d". */
function parseVersion(text: string, at: number): string | undefined {
  if (!text.startsWith(HTTP1_SLASH, at)) return undefined;
  const minor = text.charCodeAt(at + 7);
  if (!isDigitByte(minor)) return undefined;
  return VERSIONS[minor - 0x30];
}

/**
 * Header lines of `text` from `from` into `out`. Stops at the empty line.
 * obs-fold continuation lines (RFC 9112 section 5.2) are joined with one
 * space, as a recipient should.
 */
function parseHeaderLines(text: string, from: number, out: HeaderField[], lenient: boolean): boolean {
  const end = text.length;
  let pos = from;
  while (pos < end) {
    const lf = text.indexOf('\n', pos);
    if (lf < 0) return lenient; // an unfinished line: only acceptable when the head was cut
    const lineEnd = lf > pos && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
    if (lineEnd === pos) return true; // the empty line ending the head
    if (!parseHeaderLine(text, pos, lineEnd, out)) return lenient;
    pos = lf + 1;
  }
  return lenient;
}

function parseHeaderLine(text: string, start: number, end: number, out: HeaderField[]): boolean {
  const first = text.charCodeAt(start);
  if (isOptionalWhitespace(first)) {
    const previous = out[out.length - 1];
    if (!previous) return false;
    const vs = trimStart(text, start, end);
    const ve = trimEnd(text, vs, end);
    if (ve > vs) previous[1] = previous[1] ? `${previous[1]} ${text.slice(vs, ve)}` : text.slice(vs, ve);
    return true;
  }
  const colon = text.indexOf(':', start);
  if (colon <= start || colon >= end) return false;
  // No whitespace between name and colon (RFC 9112 section 5.1): a smuggling vector, and a sign of garbage.
  for (let i = start; i < colon; i++) if (!isTokenByte(text.charCodeAt(i))) return false;
  const vs = trimStart(text, colon + 1, end);
  const ve = trimEnd(text, vs, end);
  out.push([internedHeaderName(text.slice(start, colon)), text.slice(vs, ve)]);
  return true;
}

function trimStart(text: string, start: number, end: number): number {
  let s = start;
  while (s < end && isOptionalWhitespace(text.charCodeAt(s))) s++;
  return s;
}

function trimEnd(text: string, start: number, end: number): number {
  let e = end;
  while (e > start && isOptionalWhitespace(text.charCodeAt(e - 1))) e--;
  return e;
}

/**
 * Header names as sent -> lowercased, one shared string per distinct name.
 * Names repeat on every message, and every later stage compares or looks
 * them up (framing, redaction, trace context): a shared (internalised)
 * string compares by identity and keeps its hash. Bounded, so a peer
 * inventing names cannot grow it; past the bound names are lowercased afresh.
 */
const headerNames = new Map<string, string>();
const MAX_INTERNED_NAMES = 1024;

function internedHeaderName(raw: string): string {
  const known = headerNames.get(raw);
  if (known !== undefined) return known;
  const lower = raw.toLowerCase();
  // The key is a copy: `raw` is cut from a head and would keep the whole head alive in this module-wide map.
  if (headerNames.size < MAX_INTERNED_NAMES && raw.length <= MAX_CACHED_KEY_LENGTH) headerNames.set(ownString(raw), internalised(lower));
  return lower;
}

/** Methods likewise (a request line's method is any token here, so bounded too). */
const methods = new Map<string, string>();
const MAX_INTERNED_METHODS = 64;

function internedMethod(text: string, end: number): string {
  const raw = text.slice(0, end);
  const known = methods.get(raw);
  if (known !== undefined) return known;
  if (methods.size < MAX_INTERNED_METHODS && raw.length <= MAX_CACHED_KEY_LENGTH) {
    const own = internalised(ownString(raw));
    methods.set(own, own);
  }
  return raw;
}

/** The same characters as a string V8 keeps in its string table (property keys are): one copy, hash cached. */
function internalised(s: string): string {
  const holder: Record<string, true> = { [s]: true };
  return Object.keys(holder)[0] as string;
}
