/**
 * Public shapes of the HTTP/2 observer: captured chunks in, exchanges (one
 * per stream) and counters out. Types only.
 */
import type { Direction } from '../../model/events.js';
import type { HeaderField } from './hpack-decoder.js';

export type { HeaderField } from './hpack-decoder.js';

/** One captured call's bytes in one direction (a DataEvent fits). */
export interface Http2Chunk {
  /** Captured prefix of what the call moved: payload.length <= bytes. */
  payload: Buffer;
  bytes: number;
  /** Bytes moved in this direction before this call; a jump means lost bytes. */
  streamPos: bigint;
  tsEnterNs: bigint;
  tsExitNs: bigint;
  tid?: number;
}

export interface Http2DirectedChunk extends Http2Chunk {
  direction: Direction;
}

/** One side's message on a stream: the request (client to server) or the response. */
export interface Http2Message {
  /** Header block fields we could decode, pseudo-headers included, in order. */
  headers: HeaderField[];
  /** Trailer fields (a second header block ending the stream), if any. */
  trailers: HeaderField[];
  /** Wire bytes of this side's frames other than DATA content: header blocks, frame headers, padding. */
  headerBytes: number;
  /** DATA content bytes (padding excluded). */
  bodyBytes: number;
  /** Fields of this side's header blocks we could not decode (desynchronised HPACK, cut blocks). */
  unknownFields: number;
  /** Monotonic ns of the call holding the first byte (enter for egress, exit for ingress) and the last. */
  firstByteNs: bigint;
  lastByteNs: bigint;
  tid: number | undefined;
  /** END_STREAM seen. */
  ended: boolean;
}

export interface Http2Response extends Http2Message {
  /** :status, undefined when it could not be decoded. */
  status: number | undefined;
  /** 1xx responses before the final one. */
  interimStatuses: number[];
}

export type MissingResponseReason = 'closed' | 'timeout' | 'reset' | 'goaway' | 'evicted';

export interface StreamReset {
  /** RST_STREAM error code and who sent it. */
  code: number;
  by: 'client' | 'server';
}

export interface Http2Exchange {
  streamId: number;
  /** Order in which this connection's streams were opened (as seen), from 0. */
  index: number;
  request: Http2Message;
  /** Present once the response's header block was seen. */
  response: Http2Response | undefined;
  /** Why the response is missing or did not end. */
  incomplete: MissingResponseReason | undefined;
  reset: StreamReset | undefined;
  /** Bytes of this stream were lost (capture prefix limit, gaps). */
  truncated: boolean;
}

/** Everything one connection's observer counted. Cumulative. */
export interface Http2Counters {
  frames: number;
  framesByType: Record<string, number>;
  /** Frames that break the protocol: bad fixed lengths, padding longer than the frame, stray CONTINUATION... */
  malformedFrames: number;
  /** Header blocks that failed to decode (bad index, bad Huffman, bad integer). */
  hpackErrors: number;
  /** Header blocks decoded with unknown fields or cut short: what they held is partly unknown. */
  degradedHeaderBlocks: number;
  unknownHeaderFields: number;
  /** Byte-stream jumps (lost bytes) and calls moving more than was captured. */
  gaps: number;
  uncapturedBytes: number;
  /** Times a direction lost its frame boundaries, and found them again. */
  lostSync: number;
  resyncs: number;
  /** Lost bytes found unable to have held a header block (gRPC): that side's HPACK table was kept. */
  hpackKeptAcrossGaps: number;
  /** Lost bytes that may have held a header block: that side's HPACK table became unknown (degraded decoding). */
  hpackLostToGaps: number;
  /** Bytes skipped while looking for a frame boundary. */
  resyncSkippedBytes: number;
  /** Skipped bytes read after all: the last frames of a call found to end where frames were found again. */
  recoveredFrameBytes: number;
  /** Streams whose opening we never saw (joined mid-stream): not reported. */
  orphanStreams: number;
  /** Server-pushed streams: their header blocks are decoded (HPACK stays in step), the streams not reported. */
  pushedStreams: number;
  resets: number;
  goaways: number;
  exchanges: number;
  exchangesWithoutResponse: number;
  /** Frames for streams already reported (after a time-out). */
  lateFrames: number;
  /** Unexpected exceptions caught at the API boundary (a bug if ever non-zero). */
  internalErrors: number;
}

export function emptyCounters(): Http2Counters {
  return {
    frames: 0,
    framesByType: {},
    malformedFrames: 0,
    hpackErrors: 0,
    degradedHeaderBlocks: 0,
    unknownHeaderFields: 0,
    gaps: 0,
    uncapturedBytes: 0,
    lostSync: 0,
    resyncs: 0,
    hpackKeptAcrossGaps: 0,
    hpackLostToGaps: 0,
    resyncSkippedBytes: 0,
    recoveredFrameBytes: 0,
    orphanStreams: 0,
    pushedStreams: 0,
    resets: 0,
    goaways: 0,
    exchanges: 0,
    exchangesWithoutResponse: 0,
    lateFrames: 0,
    internalErrors: 0,
  };
}
