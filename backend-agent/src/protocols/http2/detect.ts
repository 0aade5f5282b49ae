/**
 * A cheap look at a connection's first captured bytes: do they begin
 * HTTP/2, and which side sent them?
 *  - the client connection preface (prior-knowledge h2c, or h2 after TLS
 *    ALPN: the decrypted bytes start the same way) is a request;
 *  - a SETTINGS frame at the start is taken as the server's connection
 *    preface, which every server sends first;
 *  - joining mid-stream, a chain of plausible frames whose first header
 *    block starts with a request pseudo-header (:method, :path, :scheme,
 *    :authority) or a response one (:status) tells the side; a chain of
 *    other frames tells nothing, and the next call is looked at instead.
 */
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_BYTES, Flag, FrameType } from './constants.js';
import { frameChainAt, readFrameHeader } from './frame-header.js';
import { readInteger } from './hpack-primitives.js';

/** The shortest preface prefix taken as the preface when a first write is cut short ("PRI * HTTP/2.0"). */
const MIN_PREFACE_PREFIX = 14;

export function looksLikeHttp2(payload: Buffer): 'request' | 'response' | undefined {
  if (!Buffer.isBuffer(payload) || payload.length < FRAME_HEADER_BYTES) return undefined;
  const n = Math.min(payload.length, CLIENT_PREFACE.length);
  if (n >= MIN_PREFACE_PREFIX && payload.compare(CLIENT_PREFACE, 0, n, 0, n) === 0) return 'request';
  if (frameChainAt(payload, DEFAULT_MAX_FRAME_SIZE) === 0) return undefined;
  let offset = 0;
  for (let h = readFrameHeader(payload, 0); h; h = readFrameHeader(payload, offset)) {
    if (offset === 0 && h.type === FrameType.SETTINGS && (h.flags & Flag.ACK) === 0) return 'response';
    if (h.type === FrameType.PUSH_PROMISE) return 'response';
    if (h.type === FrameType.HEADERS) return sideOfHeaderBlock(payload, offset + FRAME_HEADER_BYTES, h.flags);
    offset += FRAME_HEADER_BYTES + h.length;
  }
  return undefined;
}

/** From the first field representation of a header block: static indices 1-7 are request pseudo-headers, 8-14 :status. */
function sideOfHeaderBlock(payload: Buffer, start: number, flags: number): 'request' | 'response' | undefined {
  let at = start;
  if (flags & Flag.PADDED) at += 1;
  if (flags & Flag.PRIORITY) at += 5;
  // Skip dynamic table size updates (001xxxxx), which may open a block.
  while (at < payload.length && (payload[at]! & 0xe0) === 0x20) {
    const size = readInteger(payload, at, payload.length, 5);
    if (!size) return undefined;
    at = size.next;
  }
  if (at >= payload.length) return undefined;
  const b = payload[at]!;
  let index: number;
  if (b & 0x80) index = b & 0x7f;
  else if ((b & 0xc0) === 0x40) index = b & 0x3f;
  else index = b & 0x0f;
  if (index >= 1 && index <= 7) return 'request';
  if (index >= 8 && index <= 14) return 'response';
  return undefined;
}
