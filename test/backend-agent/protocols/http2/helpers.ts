/**
 * Test helpers for the HTTP/2 observer: frame and HPACK builders (written
 * from RFC 9113 and RFC 7541, independent of the code under test) and a
 * simulated capture of one connection.
 */
import type { Role } from '../../../../backend-agent/src/model/events.js';
import { CLIENT_PREFACE, Http2Connection, type Http2Chunk, type Http2Exchange } from '../../../../backend-agent/src/protocols/http2/index.js';

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const header = Buffer.alloc(9);
  header.writeUIntBE(body.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, body]);
}

export const settings = (entries: Array<[number, number]> = []): Buffer => {
  const body = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    body.writeUInt16BE(id, i * 6);
    body.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(0x4, 0, 0, body);
};
export const settingsAck = (): Buffer => frame(0x4, 0x1, 0);
export const data = (streamId: number, body: Buffer | string, endStream = false): Buffer => frame(0x0, endStream ? 0x1 : 0, streamId, body);
export const rstStream = (streamId: number, code: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(code);
  return frame(0x3, 0, streamId, b);
};
export const goaway = (lastStreamId: number, code: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(lastStreamId, 0);
  b.writeUInt32BE(code, 4);
  return frame(0x7, 0, 0, b);
};
export const windowUpdate = (streamId: number, increment: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(increment);
  return frame(0x8, 0, streamId, b);
};
export const ping = (): Buffer => frame(0x6, 0, 0, Buffer.alloc(8));

/** HPACK integer with an N-bit prefix (RFC 7541 5.1). */
export function hpackInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(bytes.length, 7, 0), bytes]);
}

/** Representations for building header blocks by hand. */
export const rep = {
  indexed: (index: number): Buffer => hpackInt(index, 7, 0x80),
  /** Literal with incremental indexing: a literal name, or a table index for the name. */
  incremental: (name: string | number, value: string): Buffer =>
    typeof name === 'number'
      ? Buffer.concat([hpackInt(name, 6, 0x40), hpackString(value)])
      : Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]),
  withoutIndexing: (name: string | number, value: string): Buffer =>
    typeof name === 'number'
      ? Buffer.concat([hpackInt(name, 4, 0x00), hpackString(value)])
      : Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]),
  sizeUpdate: (size: number): Buffer => hpackInt(size, 5, 0x20),
};

export function block(...reps: Buffer[]): Buffer {
  return Buffer.concat(reps);
}

/** HEADERS frame flags. */
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY = 0x20;

export function headers(streamId: number, headerBlock: Buffer, flags = END_HEADERS): Buffer {
  return frame(0x1, flags, streamId, headerBlock);
}
export function continuation(streamId: number, fragment: Buffer, endHeaders = true): Buffer {
  return frame(0x9, endHeaders ? END_HEADERS : 0, streamId, fragment);
}

/** A gRPC request header block, sent first on a fresh table: every field literal, the custom ones indexed. */
export function grpcRequestBlock(path: string, extra: Array<[string, string]> = []): Buffer {
  return block(
    rep.indexed(3), // :method POST
    rep.indexed(6), // :scheme http
    rep.incremental(4, path), // :path (name from the static table)
    rep.incremental(1, 'svc:50051'), // :authority
    rep.incremental('content-type', 'application/grpc'),
    rep.incremental('te', 'trailers'),
    ...extra.map(([n, v]) => rep.withoutIndexing(n, v)),
  );
}

/** One length-prefixed gRPC message. */
export function grpcMessage(bytes: number): Buffer {
  const b = Buffer.alloc(5 + bytes, 0x61);
  b[0] = 0;
  b.writeUInt32BE(bytes, 1);
  return b;
}

export interface SendOptions {
  capture?: number;
  gapBefore?: number;
}

/** A connection under test, fed in terms of who sends what; each call takes 10 ns. */
export class H2Harness {
  readonly exchanges: Http2Exchange[] = [];
  readonly connection: Http2Connection;
  readonly clock = { now: 1000n };
  private pos = { egress: 0n, ingress: 0n };

  constructor(readonly role: Exclude<Role, 'unknown'> = 'client') {
    this.connection = new Http2Connection({ role, onExchange: (e) => this.exchanges.push(e) });
  }

  chunk(direction: 'egress' | 'ingress', bytes: Buffer, options: SendOptions = {}): Http2Chunk {
    if (options.gapBefore) this.pos[direction] += BigInt(options.gapBefore);
    const c: Http2Chunk & { direction: 'egress' | 'ingress' } = {
      direction,
      payload: bytes.subarray(0, options.capture ?? bytes.length),
      bytes: bytes.length,
      streamPos: this.pos[direction],
      tsEnterNs: this.clock.now,
      tsExitNs: this.clock.now + 5n,
      tid: 7,
    };
    this.clock.now += 10n;
    this.pos[direction] += BigInt(bytes.length);
    this.connection.onData(c);
    return c;
  }

  /** Bytes from the client to the server, whichever side we observe. */
  client(bytes: Buffer, options: SendOptions = {}): Http2Chunk {
    return this.chunk(this.role === 'client' ? 'egress' : 'ingress', bytes, options);
  }

  server(bytes: Buffer, options: SendOptions = {}): Http2Chunk {
    return this.chunk(this.role === 'client' ? 'ingress' : 'egress', bytes, options);
  }

  /** Connection start: client preface and SETTINGS, server SETTINGS and ACK. */
  open(): this {
    this.client(Buffer.concat([CLIENT_PREFACE, settings([[0x3, 100]])]));
    this.server(Buffer.concat([settings([[0x5, 16384]]), settingsAck()]));
    this.client(settingsAck());
    return this;
  }

  close(): void {
    this.connection.onClose(this.clock.now);
  }

  counters(): ReturnType<Http2Connection['snapshot']> {
    return this.connection.snapshot();
  }
}

export function header(fields: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  return fields.find(([n]) => n === name)?.[1];
}
