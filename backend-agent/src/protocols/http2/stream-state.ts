/**
 * What is known about one stream while it is open: each side's message as
 * its frames arrive. A stream record is created by the first frame seen on
 * it, whichever side sent it (captured calls of the two directions are not
 * strictly ordered), and becomes an exchange once both sides ended or it was
 * reset.
 */
import type { HeaderField, Http2Message, Http2Response, StreamReset } from './types.js';

export type Side = 'client' | 'server';

export interface MessageState {
  /** The opening header block was seen (for the response: the final, non-1xx one). */
  headersSeen: boolean;
  headers: HeaderField[];
  trailers: HeaderField[];
  headerBytes: number;
  bodyBytes: number;
  unknownFields: number;
  firstByteNs: bigint | undefined;
  lastByteNs: bigint | undefined;
  tid: number | undefined;
  ended: boolean;
}

export interface StreamRecord {
  id: number;
  /** Assigned when the request's header block is seen. */
  index: number | undefined;
  request: MessageState;
  response: MessageState;
  status: number | undefined;
  interimStatuses: number[];
  reset: StreamReset | undefined;
  truncated: boolean;
}

export function newMessageState(): MessageState {
  return {
    headersSeen: false,
    headers: [],
    trailers: [],
    headerBytes: 0,
    bodyBytes: 0,
    unknownFields: 0,
    firstByteNs: undefined,
    lastByteNs: undefined,
    tid: undefined,
    ended: false,
  };
}

export function newStream(id: number): StreamRecord {
  return {
    id,
    index: undefined,
    request: newMessageState(),
    response: newMessageState(),
    status: undefined,
    interimStatuses: [],
    reset: undefined,
    truncated: false,
  };
}

/** Records that a frame of this message was seen, first to last byte at these times. */
export function touch(m: MessageState, firstByteNs: bigint, lastByteNs: bigint, tid: number | undefined): void {
  if (m.firstByteNs === undefined) {
    m.firstByteNs = firstByteNs;
    m.tid = tid;
  }
  m.lastByteNs = lastByteNs;
}

export function toMessage(m: MessageState, fallbackNs: bigint): Http2Message {
  return {
    headers: m.headers,
    trailers: m.trailers,
    headerBytes: m.headerBytes,
    bodyBytes: m.bodyBytes,
    unknownFields: m.unknownFields,
    firstByteNs: m.firstByteNs ?? fallbackNs,
    lastByteNs: m.lastByteNs ?? m.firstByteNs ?? fallbackNs,
    tid: m.tid,
    ended: m.ended,
  };
}

export function toResponse(s: StreamRecord, fallbackNs: bigint): Http2Response {
  return { ...toMessage(s.response, fallbackNs), status: s.status, interimStatuses: s.interimStatuses };
}

/** :status as a number, undefined when absent or not three digits. */
export function parseStatus(fields: readonly HeaderField[]): number | undefined {
  for (const [name, value] of fields) {
    if (name === ':status') return /^[1-9]\d\d$/.test(value) ? Number(value) : undefined;
  }
  return undefined;
}
