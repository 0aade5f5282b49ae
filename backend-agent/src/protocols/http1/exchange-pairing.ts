/**
 * Pairs the requests and responses of one connection into exchanges.
 * HTTP/1 answers requests in order (RFC 9112 section 9.3.2), so pairing is
 * first in, first out, including pipelined requests. Two guards keep lost
 * bytes from shifting every later pair:
 * - A response cannot start before its request did. One that does answers a
 *   request we never saw (sent before we joined, or lost): an orphan.
 * - After the response direction lost bytes (whole responses may be gone), a
 *   response that starts after the *next* pending request started is taken
 *   to answer that one, and the older request is reported without response.
 *   This assumes the client did not pipeline across the loss, which is what
 *   nearly all clients do (they wait for each response).
 */
import type { RequestHeadInfo } from './request-parser.js';
import { NO_REQUEST, type ResponseHeadInfo } from './response-parser.js';
import type { Http1Exchange, Http1Request, Http1Response, MissingResponseReason } from './types.js';

interface Slot {
  index: number;
  method: string;
  requestStartNs: bigint;
  awaitsUpgrade: boolean;
  request: Http1Request | undefined;
  response: Http1Response | undefined;
  /** Set when no response will be attached; the exchange is reported without one. */
  missingReason: MissingResponseReason | undefined;
}

export interface PairingCounters {
  exchanges: number;
  exchangesWithoutResponse: number;
  orphanResponses: number;
  lateResponses: number;
  /** Exceptions thrown by the onExchange callback (caught so they cannot corrupt parsing state). */
  consumerErrors: number;
}

export class ExchangePairing {
  private nextIndex = 0;
  /** Not yet emitted, in index order. */
  private unemitted: Slot[] = [];
  /** Heads seen with no response claimed yet, oldest first (given-up ones stay, to absorb a late response). */
  private awaiting: Slot[] = [];
  private requestInProgress: Slot | undefined;
  /** Who the response being parsed belongs to. */
  private responding: Slot | 'orphan' | 'late' | undefined;
  private responseLostSync = false;
  private upgradeDecision: boolean | undefined;

  // Counters as fields, not an object of their own: one object less per connection.
  private exchanges = 0;
  private exchangesWithoutResponse = 0;
  private orphanResponses = 0;
  private lateResponses = 0;
  private consumerErrors = 0;

  constructor(
    /** Called as a method: a connection's options object, not a closure per connection. */
    private readonly listener: { onExchange(exchange: Http1Exchange): void },
    private readonly maxPendingRequests: number,
  ) {}

  get counters(): PairingCounters {
    return {
      exchanges: this.exchanges,
      exchangesWithoutResponse: this.exchangesWithoutResponse,
      orphanResponses: this.orphanResponses,
      lateResponses: this.lateResponses,
      consumerErrors: this.consumerErrors,
    };
  }

  requestHead(info: RequestHeadInfo): void {
    const slot: Slot = {
      index: this.nextIndex++,
      method: info.method,
      requestStartNs: info.firstByteNs,
      awaitsUpgrade: info.awaitsUpgrade,
      request: undefined,
      response: undefined,
      missingReason: undefined,
    };
    this.unemitted.push(slot);
    this.awaiting.push(slot);
    this.requestInProgress = slot;
    while (this.awaiting.length > this.maxPendingRequests) {
      // So many newer requests went out that this one's response is not coming.
      const oldest = this.awaiting.shift() as Slot;
      this.giveUp(oldest, 'lost');
    }
  }

  requestComplete(request: Http1Request): void {
    const slot = this.requestInProgress;
    this.requestInProgress = undefined;
    if (!slot) return;
    slot.request = request;
    this.drain();
  }

  /** A final response head: which request does it answer? Returns that request's method, or NO_REQUEST for an orphan. */
  claim(info: ResponseHeadInfo): string | typeof NO_REQUEST {
    let front = this.awaiting[0];
    while (front) {
      if (info.firstByteNs < front.requestStartNs) break;
      const next = this.awaiting[1];
      if (!this.responseLostSync || !next || next.requestStartNs > info.firstByteNs) break;
      this.awaiting.shift();
      this.giveUp(front, 'lost');
      front = this.awaiting[0];
    }
    if (!front || info.firstByteNs < front.requestStartNs) {
      this.responding = 'orphan';
      return NO_REQUEST;
    }
    this.awaiting.shift();
    this.responseLostSync = false;
    if (front.missingReason !== undefined) {
      this.responding = 'late';
      return front.method;
    }
    this.responding = front;
    if (front.awaitsUpgrade) {
      const s = info.statusCode;
      this.upgradeDecision = s === 101 || (front.method === 'CONNECT' && s >= 200 && s < 300);
    }
    return front.method;
  }

  responseComplete(response: Http1Response): void {
    const owner = this.responding;
    this.responding = undefined;
    if (owner === 'late') {
      this.lateResponses++;
    } else if (owner === 'orphan' || owner === undefined) {
      this.orphanResponses++;
    } else {
      owner.response = response;
      this.drain();
    }
  }

  /** The response direction lost bytes where responses may have started. */
  responseStreamLostSync(): void {
    this.responseLostSync = true;
  }

  /** Whether the last claimed response accepted an upgrade/CONNECT, once. */
  takeUpgradeDecision(): boolean | undefined {
    const d = this.upgradeDecision;
    this.upgradeDecision = undefined;
    return d;
  }

  /**
   * Reports requests waiting longer than maxAgeNs for a response as having
   * none. Not while a response is being received: the requests behind it
   * cannot be answered before it ends, however long it streams.
   */
  expire(nowNs: bigint, maxAgeNs: bigint): void {
    if (this.responding !== undefined) return;
    for (const slot of this.awaiting) {
      if (slot.missingReason !== undefined) continue;
      if (!slot.request || slot.request.lastByteNs + maxAgeNs > nowNs) break;
      slot.missingReason = 'timeout';
    }
    this.drain();
    // Called about once a second (the tracker's tick): an idle connection's
    // empty queues give back their backing stores (V8 keeps an array's
    // capacity after shift(), ~150 bytes each). Not on every shift: a busy
    // connection would reallocate them per exchange.
    if (this.unemitted.length === 0) this.unemitted.length = 0;
    if (this.awaiting.length === 0) this.awaiting.length = 0;
  }

  /** The connection closed (both parsers already finished): everything left is reported. */
  close(): void {
    this.responding = undefined;
    for (const slot of this.unemitted) {
      if (slot.response === undefined && slot.missingReason === undefined) slot.missingReason = 'closed';
    }
    // A slot without a request message cannot be reported; after the parsers ended there is none.
    this.unemitted = this.unemitted.filter((s) => s.request !== undefined);
    this.drain();
    this.unemitted = [];
    this.awaiting = [];
  }

  private giveUp(slot: Slot, reason: MissingResponseReason): void {
    if (slot.response === undefined && slot.missingReason === undefined) slot.missingReason = reason;
    this.drain();
  }

  private drain(): void {
    while (this.unemitted.length > 0) {
      const slot = this.unemitted[0] as Slot;
      const request = slot.request;
      if (!request || (slot.response === undefined && slot.missingReason === undefined)) return;
      this.unemitted.shift();
      this.emit(slot, request);
    }
  }

  private emit(slot: Slot, request: Http1Request): void {
    const response = slot.response;
    this.exchanges++;
    if (!response) this.exchangesWithoutResponse++;
    const exchange: Http1Exchange = {
      index: slot.index,
      request,
      response,
      missingResponseReason: response ? undefined : slot.missingReason,
      requestStartNs: request.firstByteNs,
      requestEndNs: request.lastByteNs,
      responseStartNs: response?.firstByteNs,
      responseEndNs: response?.lastByteNs,
      requestBytes: request.headerBytes + request.bodyBytes,
      responseBytes: response ? response.interimBytes + response.headerBytes + response.bodyBytes : 0,
      truncated: request.truncated || response?.truncated === true,
    };
    try {
      this.listener.onExchange(exchange);
    } catch {
      this.consumerErrors++;
    }
  }
}

