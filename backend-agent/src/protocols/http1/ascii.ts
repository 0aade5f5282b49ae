/**
 * Byte values and character classes of the HTTP/1 grammar (RFC 9110, 9112).
 * The parser works on Buffers byte by byte where it must (short lines) and
 * with Buffer.indexOf where it can; these helpers keep that code readable
 * without turning payloads into strings.
 */

export const HTAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const QUESTION_MARK = 0x3f;
export const HASH = 0x23;
export const SLASH = 0x2f;

/** tchar from RFC 9110 section 5.6.2: what header names and methods are made of. */
const TOKEN_BYTES = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN_BYTES[c.charCodeAt(0)] = 1;
for (let b = 0x30; b <= 0x39; b++) TOKEN_BYTES[b] = 1;
for (let b = 0x41; b <= 0x5a; b++) TOKEN_BYTES[b] = 1;
for (let b = 0x61; b <= 0x7a; b++) TOKEN_BYTES[b] = 1;

export function isTokenByte(b: number): boolean {
  return TOKEN_BYTES[b] === 1;
}

/**
 * Bytes a request target may contain. Lenient on purpose: bytes >= 0x80 are
 * accepted because real clients send unencoded UTF-8 paths, and an observer
 * that rejected them would lose the whole exchange.
 */
export function isTargetByte(b: number): boolean {
  return b > SP && b !== 0x7f;
}

export function isDigitByte(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** Value of a hexadecimal digit, or -1. */
export function hexDigitValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/** Optional whitespace (OWS): what may surround header values. */
export function isOptionalWhitespace(b: number): boolean {
  return b === SP || b === HTAB;
}

/**
 * Header bytes are ISO-8859-1 by history (RFC 9110 section 5.5); latin1 maps
 * every byte to one code unit, so decoding never fails and never expands.
 */
export function latin1(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end);
}

/** True when buf[at..] starts with the bytes of `expected`. */
export function bytesEqualAt(buf: Buffer, at: number, expected: Buffer): boolean {
  if (at < 0 || at + expected.length > buf.length) return false;
  for (let k = 0; k < expected.length; k++) if (buf[at + k] !== expected[k]) return false;
  return true;
}
