/**
 * Test helpers for the HTTP/1 observer: a simulated capture of one
 * connection (stream positions, call timestamps, payload prefix limits,
 * gaps), message collectors and a seeded PRNG.
 */
import type { Direction, Role } from '../../../../backend-agent/src/model/events.js';
import {
  Http1Connection,
  Http1RequestParser,
  Http1ResponseParser,
  type Http1Chunk,
  type Http1ConnectionOptions,
  type Http1Exchange,
  type Http1Request,
  type Http1Response,
} from '../../../../backend-agent/src/protocols/http1/index.js';

export interface SendOptions {
  /** Captured prefix length (default: everything). */
  capture?: number;
  /** Bytes lost before this call (a streamPos jump). */
  gapBefore?: number;
}

/** Builds chunks of one direction: positions advance by what calls moved; each call takes 10 ns from a shared clock. */
export class StreamWriter {
  pos = 0n;
  constructor(private readonly clock: { now: bigint }) {}

  chunk(data: string | Buffer, options: SendOptions = {}): Http1Chunk {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (options.gapBefore) this.pos += BigInt(options.gapBefore);
    const capture = options.capture ?? bytes.length;
    const tsEnterNs = this.clock.now;
    const tsExitNs = this.clock.now + 5n;
    this.clock.now += 10n;
    const chunk: Http1Chunk = { payload: bytes.subarray(0, capture), bytes: bytes.length, streamPos: this.pos, tsEnterNs, tsExitNs };
    this.pos += BigInt(bytes.length);
    return chunk;
  }
}

/** A connection under test, written in terms of who sends what. */
export class ConnectionHarness {
  readonly exchanges: Http1Exchange[] = [];
  readonly connection: Http1Connection;
  readonly clock = { now: 1000n };
  private readonly egress = new StreamWriter(this.clock);
  private readonly ingress = new StreamWriter(this.clock);

  constructor(
    readonly role: Role = 'client',
    options: Partial<Http1ConnectionOptions> = {},
  ) {
    this.connection = new Http1Connection({ role, onExchange: (e) => this.exchanges.push(e), ...options });
  }

  /** Bytes flowing in `direction`. */
  data(direction: Direction, data: string | Buffer, options: SendOptions = {}): Http1Chunk {
    const writer = direction === 'egress' ? this.egress : this.ingress;
    const chunk = writer.chunk(data, options);
    this.connection.onData({ ...chunk, direction });
    return chunk;
  }

  /** Bytes from the client to the server (whichever side we observe). */
  request(data: string | Buffer, options: SendOptions = {}): Http1Chunk {
    return this.data(this.role === 'server' ? 'ingress' : 'egress', data, options);
  }

  /** Bytes from the server to the client. */
  response(data: string | Buffer, options: SendOptions = {}): Http1Chunk {
    return this.data(this.role === 'server' ? 'egress' : 'ingress', data, options);
  }

  close(): void {
    this.connection.onClose(this.clock.now);
    this.clock.now += 10n;
  }
}

export function collectRequests(options: { maxHeaderBytes?: number } = {}): { parser: Http1RequestParser; messages: Http1Request[] } {
  const messages: Http1Request[] = [];
  const parser = new Http1RequestParser({ direction: 'egress', onMessage: (m) => messages.push(m), ...options });
  return { parser, messages };
}

/** A response parser told the methods of the requests, in order (as the pairing layer would). */
export function collectResponses(methods: string[] = []): { parser: Http1ResponseParser; messages: Http1Response[] } {
  const messages: Http1Response[] = [];
  const queue = [...methods];
  const parser = new Http1ResponseParser({ direction: 'ingress', onMessage: (m) => messages.push(m), requestMethodFor: () => queue.shift() });
  return { parser, messages };
}

/** Feeds a whole stream as one chunk, or cut into pieces of the given sizes (cycled). */
export function feed(parser: { push(c: Http1Chunk): void }, data: string | Buffer, pieceSizes: number[] = []): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const writer = new StreamWriter({ now: 0n });
  if (pieceSizes.length === 0) {
    parser.push(writer.chunk(bytes));
    return;
  }
  let at = 0;
  for (let k = 0; at < bytes.length; k++) {
    const size = Math.max(1, pieceSizes[k % pieceSizes.length] as number);
    parser.push(writer.chunk(bytes.subarray(at, at + size)));
    at += size;
  }
}

export { seededRandom } from '../../fixtures/seeded-random.js';

export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Messages without their timestamps, to compare parses of the same bytes fed differently. */
export function withoutTimes<T extends { firstByteNs: bigint; lastByteNs: bigint }>(messages: readonly T[]): Omit<T, 'firstByteNs' | 'lastByteNs'>[] {
  return messages.map(({ firstByteNs: _f, lastByteNs: _l, ...rest }) => rest);
}
