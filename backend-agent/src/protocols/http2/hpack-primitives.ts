/**
 * HPACK integer and string literal representations (RFC 7541 5.1, 5.2).
 * Pure readers over a buffer range: each returns the value and the offset
 * after it, or undefined when the bytes end first or are invalid.
 */
import { decodeHuffman } from './huffman.js';

/** Integers above this are refused: no legitimate length or index comes near it. */
const MAX_INTEGER = 0x3fff_ffff;

export interface Read<T> {
  value: T;
  next: number;
}

export function readInteger(buf: Buffer, offset: number, end: number, prefixBits: number): Read<number> | undefined {
  if (offset >= end) return undefined;
  const mask = (1 << prefixBits) - 1;
  let value = buf[offset]! & mask;
  let i = offset + 1;
  if (value < mask) return { value, next: i };
  let shift = 0;
  for (;;) {
    if (i >= end) return undefined;
    const b = buf[i++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (value > MAX_INTEGER) return undefined;
    if ((b & 0x80) === 0) return { value, next: i };
    shift += 7;
  }
}

/** A string literal: H bit, 7-bit prefix length, then the (possibly Huffman-coded) octets. */
export function readString(buf: Buffer, offset: number, end: number): Read<string> | { error: 'truncated' | 'huffman' } {
  if (offset >= end) return { error: 'truncated' };
  const huffman = (buf[offset]! & 0x80) !== 0;
  const length = readInteger(buf, offset, end, 7);
  if (!length || length.next + length.value > end) return { error: 'truncated' };
  const stop = length.next + length.value;
  if (!huffman) return { value: buf.toString('latin1', length.next, stop), next: stop };
  const value = decodeHuffman(buf, length.next, stop);
  return value === undefined ? { error: 'huffman' } : { value, next: stop };
}
