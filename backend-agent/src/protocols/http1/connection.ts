/**
 * One TCP connection's HTTP/1 traffic: routes each direction's chunks to its
 * parser (by the connection's role, or by what the first bytes look like when
 * the role is unknown) and pairs the messages into exchanges.
 *
 * An agent holds one per open connection, thousands of them, most idle: no
 * closures per connection (the parsers call the pairing through small
 * listener objects) and nothing allocated for what has not happened yet.
 */
import type { Direction, Role } from '../../model/events.js';
import { looksLikeHttp1 } from './detect.js';
import { ExchangePairing } from './exchange-pairing.js';
import { Http1RequestParser, type Http1RequestParserOptions, type RequestHeadInfo } from './request-parser.js';
import { Http1ResponseParser, NO_REQUEST, type Http1ResponseParserOptions, type ResponseHeadInfo } from './response-parser.js';
import { emptyParserCounters, type Http1ConnectionCounters, type Http1DirectedChunk, type Http1Exchange, type Http1Request, type Http1Response } from './types.js';

/** Kept by the connection and called as methods: a class instance (an Http1Session) needs no closure. */
export interface Http1ConnectionOptions {
  /** client: egress carries requests; server: ingress does; unknown: decided from the first bytes. */
  role: Role;
  onExchange(exchange: Http1Exchange): void;
  /** Per-head cap (default 64 KiB). */
  maxHeaderBytes?: number;
  /** Longest request line recognised when resynchronising (default 8 KiB). */
  maxStartLineBytes?: number;
  /** Requests waiting for a response before the oldest is given up (default 256). */
  maxPendingRequests?: number;
  /** Captured bytes kept while an unknown role is undecided (default 64 KiB). */
  maxUndetectedBytes?: number;
}

const DEFAULT_MAX_PENDING_REQUESTS = 256;
const DEFAULT_MAX_UNDETECTED_BYTES = 64 * 1024;

/** The request parser's listener: forwards to the pairing. */
class RequestSide implements Http1RequestParserOptions {
  constructor(
    readonly direction: Direction,
    private readonly pairing: ExchangePairing,
    readonly maxHeaderBytes: number | undefined,
    readonly maxStartLineBytes: number | undefined,
  ) {}

  onRequestHead(head: RequestHeadInfo): void {
    this.pairing.requestHead(head);
  }

  onMessage(request: Http1Request): void {
    this.pairing.requestComplete(request);
  }
}

/** The response parser's listener: forwards to the pairing. */
class ResponseSide implements Http1ResponseParserOptions {
  constructor(
    readonly direction: Direction,
    private readonly pairing: ExchangePairing,
    readonly maxHeaderBytes: number | undefined,
    readonly maxStartLineBytes: number | undefined,
  ) {}

  requestMethodFor(head: ResponseHeadInfo): string | undefined | typeof NO_REQUEST {
    return this.pairing.claim(head);
  }

  onMessage(response: Http1Response): void {
    this.pairing.responseComplete(response);
  }

  onLostSync(): void {
    this.pairing.responseStreamLostSync();
  }
}

export class Http1Connection {
  private resolvedRole: 'client' | 'server' | undefined;
  /** The three below are set together, once the role is known. */
  private requestDirection: Direction | undefined;
  private requests: Http1RequestParser | undefined;
  private responses: Http1ResponseParser | undefined;
  private readonly pairing: ExchangePairing;
  /** Chunks seen before an unknown role was decided, replayed once it is. */
  private undetected: Http1DirectedChunk[] | undefined;
  private undetectedCaptured = 0;
  private undetectedBytesDropped = 0;
  private internalErrors = 0;
  private closedAt: bigint | undefined;

  constructor(private readonly options: Http1ConnectionOptions) {
    this.pairing = new ExchangePairing(options, positiveOr(options.maxPendingRequests, DEFAULT_MAX_PENDING_REQUESTS));
    if (options.role === 'client' || options.role === 'server') this.resolve(options.role);
  }

  /** The role in use: as given, or as detected ('unknown' until then). */
  get role(): Role {
    return this.resolvedRole ?? 'unknown';
  }

  /** When onClose was called, if it was. */
  get closedAtNs(): bigint | undefined {
    return this.closedAt;
  }

  onData(chunk: Http1DirectedChunk): void {
    try {
      if (this.closedAt !== undefined) {
        this.requests?.push(chunk); // counted there as a chunk after the end
        return;
      }
      if (!this.requests) {
        this.detect(chunk);
        return;
      }
      this.route(chunk);
    } catch {
      this.internalErrors++;
    }
  }

  /** The connection closed: bodies delimited by close end, requests still waiting are reported without response. */
  onClose(tsNs: bigint): void {
    try {
      if (this.closedAt !== undefined) return;
      this.closedAt = tsNs;
      if (this.requests && this.responses) {
        this.requests.end();
        this.responses.end();
      } else {
        for (const c of this.undetected ?? []) this.undetectedBytesDropped += c.bytes;
        this.undetected = undefined;
      }
      this.pairing.close();
    } catch {
      this.internalErrors++;
    }
  }

  /** Reports requests that have waited longer than maxAgeNs for a response (the caller's time-out). */
  flush(nowNs: bigint, maxAgeNs: bigint): void {
    try {
      this.pairing.expire(nowNs, maxAgeNs);
    } catch {
      this.internalErrors++;
    }
  }

  /** counters().parseErrorBytes without building the counters: health reads it for every tracked connection. */
  get parseErrorBytes(): number {
    return (this.requests?.parseErrorBytes ?? 0) + (this.responses?.parseErrorBytes ?? 0);
  }

  /** counters().gaps, likewise. */
  get gaps(): number {
    return (this.requests?.gaps ?? 0) + (this.responses?.gaps ?? 0);
  }

  counters(): Http1ConnectionCounters {
    const requests = this.requests?.counters ?? { ...ZERO_PARSER_COUNTERS };
    const responses = this.responses?.counters ?? { ...ZERO_PARSER_COUNTERS };
    return {
      ...this.pairing.counters,
      undetectedBytes: this.undetectedBytesDropped,
      parseErrorBytes: requests.parseErrorBytes + responses.parseErrorBytes,
      parseErrorEvents: requests.parseErrorEvents + responses.parseErrorEvents,
      gaps: requests.gaps + responses.gaps,
      internalErrors: this.internalErrors + requests.internalErrors + responses.internalErrors,
      requests,
      responses,
    };
  }

  private resolve(role: 'client' | 'server'): void {
    this.resolvedRole = role;
    const requestDirection: Direction = role === 'client' ? 'egress' : 'ingress';
    const responseDirection: Direction = role === 'client' ? 'ingress' : 'egress';
    const { maxHeaderBytes, maxStartLineBytes } = this.options;
    this.requestDirection = requestDirection;
    this.requests = new Http1RequestParser(new RequestSide(requestDirection, this.pairing, maxHeaderBytes, maxStartLineBytes));
    this.responses = new Http1ResponseParser(new ResponseSide(responseDirection, this.pairing, maxHeaderBytes, maxStartLineBytes));
  }

  /** Only once the role is resolved (the parsers exist). */
  private route(chunk: Http1DirectedChunk): void {
    const requests = this.requests as Http1RequestParser;
    if (chunk.direction === this.requestDirection) {
      requests.push(chunk);
      return;
    }
    (this.responses as Http1ResponseParser).push(chunk);
    // Applied after the push, not from inside the response parser's callback.
    const upgraded = this.pairing.takeUpgradeDecision();
    if (upgraded !== undefined) requests.setUpgradeOutcome(upgraded);
  }

  /** Unknown role: whoever sends a request is the client, whichever way we joined the stream. */
  private detect(chunk: Http1DirectedChunk): void {
    const kind = looksLikeHttp1(chunk.payload);
    if (kind === undefined) {
      this.keepUndetected(chunk);
      return;
    }
    const sendsRequests = (kind === 'request') === (chunk.direction === 'egress');
    this.resolve(sendsRequests ? 'client' : 'server');
    const earlier = this.undetected ?? [];
    this.undetected = undefined;
    this.undetectedCaptured = 0;
    for (const c of earlier) this.route(c);
    this.route(chunk);
  }

  private keepUndetected(chunk: Http1DirectedChunk): void {
    const limit = positiveOr(this.options.maxUndetectedBytes, DEFAULT_MAX_UNDETECTED_BYTES);
    const payload = Buffer.from(chunk.payload.subarray(0, Math.min(chunk.payload.length, limit)));
    const undetected = (this.undetected ??= []);
    undetected.push({ ...chunk, payload });
    this.undetectedCaptured += payload.length;
    while (this.undetectedCaptured > limit && undetected.length > 0) {
      const dropped = undetected.shift() as Http1DirectedChunk;
      this.undetectedCaptured -= dropped.payload.length;
      this.undetectedBytesDropped += dropped.bytes;
    }
  }
}

const ZERO_PARSER_COUNTERS = Object.freeze(emptyParserCounters());

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
