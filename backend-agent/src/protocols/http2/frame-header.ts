/**
 * The 9-byte frame header, and the checks that tell a plausible frame from
 * arbitrary bytes. Pure functions over buffers.
 */
import { DEFINED_FLAGS, FRAME_HEADER_BYTES, FrameType } from './constants.js';

export interface FrameHeader {
  /** Payload length (the 9 header bytes excluded). */
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

/** The header at `offset`, or undefined when fewer than 9 bytes are there. */
export function readFrameHeader(buf: Buffer, offset = 0): FrameHeader | undefined {
  if (offset < 0 || offset + FRAME_HEADER_BYTES > buf.length) return undefined;
  return {
    length: (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!,
    type: buf[offset + 3]!,
    flags: buf[offset + 4]!,
    // The reserved high bit is ignored on receipt (RFC 9113 4.1).
    streamId: buf.readUInt32BE(offset + 5) & 0x7fffffff,
  };
}

/**
 * Why a frame header would be a protocol error, or undefined when it is
 * well-formed for its type: stream id rules and fixed payload lengths.
 * Unknown frame types pass (they must be ignored, RFC 9113 4.1).
 */
export function frameHeaderProblem(h: FrameHeader): string | undefined {
  switch (h.type) {
    case FrameType.DATA:
    case FrameType.HEADERS:
    case FrameType.CONTINUATION:
      return h.streamId === 0 ? 'stream frame on stream 0' : undefined;
    case FrameType.PRIORITY:
      if (h.streamId === 0) return 'PRIORITY on stream 0';
      return h.length === 5 ? undefined : 'PRIORITY length is not 5';
    case FrameType.RST_STREAM:
      if (h.streamId === 0) return 'RST_STREAM on stream 0';
      return h.length === 4 ? undefined : 'RST_STREAM length is not 4';
    case FrameType.SETTINGS:
      if (h.streamId !== 0) return 'SETTINGS on a stream';
      if (h.flags & 0x1) return h.length === 0 ? undefined : 'SETTINGS ACK with a payload';
      return h.length % 6 === 0 ? undefined : 'SETTINGS length is not a multiple of 6';
    case FrameType.PUSH_PROMISE:
      if (h.streamId === 0) return 'PUSH_PROMISE on stream 0';
      return h.length >= 4 ? undefined : 'PUSH_PROMISE shorter than 4';
    case FrameType.PING:
      if (h.streamId !== 0) return 'PING on a stream';
      return h.length === 8 ? undefined : 'PING length is not 8';
    case FrameType.GOAWAY:
      if (h.streamId !== 0) return 'GOAWAY on a stream';
      return h.length >= 8 ? undefined : 'GOAWAY shorter than 8';
    case FrameType.WINDOW_UPDATE:
      return h.length === 4 ? undefined : 'WINDOW_UPDATE length is not 4';
    default:
      return undefined;
  }
}

/**
 * Stricter than well-formed: what a real peer sends. Known type, only the
 * flags that type defines, reserved stream-id bit clear, length within the
 * frame size limit. Used only where no frame boundary is known (joining a
 * connection mid-stream, after lost bytes), where a false match costs more
 * than a missed one.
 */
export function isPlausibleFrameHeader(buf: Buffer, offset: number, maxFrameSize: number): boolean {
  const h = readFrameHeader(buf, offset);
  if (!h || h.type > FrameType.CONTINUATION) return false;
  if ((buf[offset + 5]! & 0x80) !== 0) return false;
  if ((h.flags & ~DEFINED_FLAGS[h.type]!) !== 0) return false;
  if (h.length > maxFrameSize) return false;
  return frameHeaderProblem(h) === undefined;
}

/**
 * Whether `payload` (the captured prefix of a call) begins at a frame
 * boundary: every frame header the frames' lengths lead to within the
 * captured bytes is plausible.
 * Returns how many frame headers were checked (0: not a frame chain).
 */
export function frameChainAt(payload: Buffer, maxFrameSize: number): number {
  let offset = 0;
  let frames = 0;
  while (offset + FRAME_HEADER_BYTES <= payload.length) {
    if (!isPlausibleFrameHeader(payload, offset, maxFrameSize)) return 0;
    frames++;
    offset += FRAME_HEADER_BYTES + (readFrameHeader(payload, offset) as FrameHeader).length;
  }
  // Fewer than 9 bytes left over: a frame header a read split, which the
  // next call completes. The chain may also run past what was captured.
  return frames;
}

/**
 * Where in `bytes` (which end at a known frame boundary) a chain of
 * real-looking frames begins that runs exactly to their end: the earliest
 * such start, or undefined. Landing exactly on the boundary is what makes a
 * chain believable where the bytes before it are another frame's payload.
 * Linear: each offset's verdict is built from the one its frame leads to.
 */
export function frameChainEndingAt(bytes: Buffer, maxFrameSize: number): number | undefined {
  const end = bytes.length;
  // landsAtEnd[o]: a chain from offset o ends exactly at `end` (o === end: the empty chain).
  const landsAtEnd = new Uint8Array(end + 1);
  landsAtEnd[end] = 1;
  let earliest: number | undefined;
  for (let o = end - FRAME_HEADER_BYTES; o >= 0; o--) {
    if (!isPlausibleFrameHeader(bytes, o, maxFrameSize)) continue;
    const next = o + FRAME_HEADER_BYTES + (readFrameHeader(bytes, o) as FrameHeader).length;
    if (next <= end && landsAtEnd[next] === 1) {
      landsAtEnd[o] = 1;
      earliest = o;
    }
  }
  return earliest;
}
