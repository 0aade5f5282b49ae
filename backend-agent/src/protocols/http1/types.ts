/**
 * Public shapes of the HTTP/1.x observer: what goes in (captured chunks of
 * one direction of a TCP stream) and what comes out (messages, exchanges,
 * counters). Kept apart from the parsing code so consumers import types only.
 */
import type { Direction } from '../../model/events.js';

/** One captured syscall's worth of bytes in one direction of a connection. */
export interface Http1Chunk {
  /** Captured prefix of the bytes the call moved: payload.length <= bytes. */
  payload: Buffer;
  /** Bytes the call really moved; bytes beyond payload.length were not captured. */
  bytes: number;
  /** Bytes moved in this direction before this call; a jump means lost bytes. */
  streamPos: bigint;
  tsEnterNs: bigint;
  tsExitNs: bigint;
  /** Thread that made the call, when known. */
  tid?: number;
}

/** A chunk plus the direction it flowed, as a connection receives it (DataEvent fits). */
export interface Http1DirectedChunk extends Http1Chunk {
  direction: Direction;
}

/** A header field: name lower-cased, value as sent with surrounding whitespace removed. */
export type HeaderField = [name: string, value: string];

export interface Http1MessageBase {
  /** e.g. "1.1" */
  version: string;
  /** In order of appearance; repeated names are kept as separate entries. */
  headers: HeaderField[];
  /** Trailer fields of a chunked body (empty otherwise). */
  trailers: HeaderField[];
  /** Bytes of the start line, header lines and the empty line. */
  headerBytes: number;
  /** Bytes after the head as moved on the wire (chunk framing and trailers included). */
  bodyBytes: number;
  chunked: boolean;
  /**
   * Some bytes of this message were not captured (payload prefix limit or a
   * stream gap) or its framing could not be followed to the end: sizes are as
   * exact as the stream positions allow, content is partial.
   */
  truncated: boolean;
  /**
   * Monotonic ns of the call holding the first byte: tsEnterNs for egress (the
   * process started sending then), tsExitNs for ingress (a read may block long
   * before data arrives; the bytes are known received only when it returns).
   */
  firstByteNs: bigint;
  /** Monotonic ns of the call holding the last byte: tsExitNs in both directions. */
  lastByteNs: bigint;
  /** Thread of the call holding the first byte, when the chunks carried one. */
  tid: number | undefined;
}

export interface Http1Request extends Http1MessageBase {
  kind: 'request';
  method: string;
  /** Request target as sent. */
  target: string;
  /** Path part of the target ("/a/b"); the target itself for authority-form and "*". */
  path: string;
  /** Query without '?', '' when absent. */
  query: string;
}

export interface Http1Response extends Http1MessageBase {
  kind: 'response';
  statusCode: number;
  reason: string;
  /** 1xx responses (100 Continue, 103 Early Hints...) that came before this final one. */
  interimStatusCodes: number[];
  /** Bytes of those interim responses (not included in headerBytes/bodyBytes). */
  interimBytes: number;
}

export type Http1Message = Http1Request | Http1Response;

/** Why an exchange has no response. */
export type MissingResponseReason = 'closed' | 'timeout' | 'lost';

export interface Http1Exchange {
  /** 0, 1, 2... per connection: > 0 means a reused (keep-alive) connection. */
  index: number;
  request: Http1Request;
  response: Http1Response | undefined;
  /** Set when response is undefined: connection closed, caller's time-out, or the response stream broke. */
  missingResponseReason: MissingResponseReason | undefined;
  requestStartNs: bigint;
  requestEndNs: bigint;
  responseStartNs: bigint | undefined;
  responseEndNs: bigint | undefined;
  /** Wire bytes of the request (head + body). */
  requestBytes: number;
  /** Wire bytes of the response (interim responses + head + body), 0 without one. */
  responseBytes: number;
  truncated: boolean;
}

/** What one direction's parser saw. All counts are cumulative. */
export interface Http1ParserCounters {
  /** Messages emitted (complete or truncated). */
  messages: number;
  truncatedMessages: number;
  /** Bytes skipped because they were not HTTP where a message was expected (garbage, mid-stream join). */
  parseErrorBytes: number;
  /** Distinct runs of such bytes, plus malformed heads and bodies. */
  parseErrorEvents: number;
  /** Bytes skipped while looking for the next message after lost bytes (a consequence of the loss, not an error). */
  resyncSkippedBytes: number;
  /** streamPos jumps. */
  gaps: number;
  gapBytes: number;
  /** Bytes calls moved beyond the captured payload prefix. */
  uncapturedBytes: number;
  /** Heads dropped for exceeding maxHeaderBytes. */
  headerOverflows: number;
  /** Message beginnings thrown away because a gap or the close cut them before the head was complete. */
  discardedPartialMessages: number;
  /** Bytes after an accepted upgrade or CONNECT, which are not HTTP/1. */
  opaqueBytes: number;
  /** Chunks that came after end() and were ignored. */
  chunksAfterEnd: number;
  /** Unexpected exceptions caught at the API boundary (a bug if ever non-zero). */
  internalErrors: number;
}

export function emptyParserCounters(): Http1ParserCounters {
  return {
    messages: 0,
    truncatedMessages: 0,
    parseErrorBytes: 0,
    parseErrorEvents: 0,
    resyncSkippedBytes: 0,
    gaps: 0,
    gapBytes: 0,
    uncapturedBytes: 0,
    headerOverflows: 0,
    discardedPartialMessages: 0,
    opaqueBytes: 0,
    chunksAfterEnd: 0,
    internalErrors: 0,
  };
}

export interface Http1ConnectionCounters {
  exchanges: number;
  exchangesWithoutResponse: number;
  /** Responses with no request to pair with (request never seen, or seen after it). */
  orphanResponses: number;
  /** Responses for requests already reported without one (after flush time-out). */
  lateResponses: number;
  /** Exceptions thrown by the onExchange callback (caught, counted). */
  consumerErrors: number;
  /** Captured bytes dropped while the role of an unknown connection was still undecided. */
  undetectedBytes: number;
  /** Sums over both directions, for health reporting. */
  parseErrorBytes: number;
  parseErrorEvents: number;
  gaps: number;
  internalErrors: number;
  requests: Http1ParserCounters;
  responses: Http1ParserCounters;
}
