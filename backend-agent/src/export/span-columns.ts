/**
 * An ordered queue of span projections stored by column: the fields the
 * self-time estimate reads (see self-time-span.ts), numbers in one
 * Float64Array and strings in one array, in a ring that grows by doubling.
 *
 * Why columns: a window holds thousands of spans for longer than V8's
 * young generation keeps anything, so whatever per-span objects it holds are
 * promoted to the old generation and wait there for a full GC. Columns hold
 * no per-span object at all; only the strings they point to (span ids, URL
 * paths) are the spans' own.
 */
import type { Span, SpanKind, SpanStatus, TraceContextSource } from '../model/span.js';
import { REQUEST_ID, stringOrUndefined, URL_PATH, URL_QUERY, X_CORRELATION_ID, X_REQUEST_ID, type SelfTimeSpan } from './self-time-span.js';

const NUM = 6; // startTimeUs, durationNs, endUs, threadId, remotePort, requestTransferNs
const STR = 9; // spanId, traceId, service, peerService, urlPath, urlQuery, xRequestId, xCorrelationId, requestId
const STATUSES: readonly SpanStatus[] = ['unset', 'ok', 'error'];
const SOURCES: readonly TraceContextSource[] = ['w3c', 'b3', 'b3-single', 'jaeger', 'xray', 'none'];
const INITIAL_CAPACITY = 16;

export class SpanColumns {
  private capacity = INITIAL_CAPACITY;
  private head = 0;
  private count = 0;
  private num = new Float64Array(INITIAL_CAPACITY * NUM);
  private str: Array<string | undefined> = new Array<string | undefined>(INITIAL_CAPACITY * STR).fill(undefined);
  /** status index | traceIdSource index << 2 | peerLocal << 5 */
  private flags = new Uint8Array(INITIAL_CAPACITY);

  constructor(private readonly kind: SpanKind) {}

  get length(): number {
    return this.count;
  }

  push(span: Span): void {
    if (this.count === this.capacity) this.grow();
    const r = (this.head + this.count) % this.capacity;
    this.count += 1;
    this.write(r, span);
  }

  /** Drops the oldest row. */
  shift(): void {
    if (this.count === 0) return;
    this.clear(this.head);
    this.head = (this.head + 1) % this.capacity;
    this.count -= 1;
  }

  /** The row at logical index i (0 = oldest) as an object, for the observer and the link layer. */
  at(i: number): SelfTimeSpan {
    const r = this.physical(i);
    const n = r * NUM;
    const s = r * STR;
    const f = this.flags[r]!;
    return {
      kind: this.kind,
      spanId: this.str[s]!,
      traceId: this.str[s + 1]!,
      traceIdSource: SOURCES[(f >> 2) & 7]!,
      service: this.str[s + 2]!,
      peerService: this.str[s + 3]!,
      peerLocal: (f & 32) !== 0,
      status: STATUSES[f & 3]!,
      startTimeUs: this.num[n]!,
      durationNs: this.num[n + 1]!,
      endUs: this.num[n + 2]!,
      threadId: this.num[n + 3]!,
      remotePort: this.num[n + 4]!,
      requestTransferNs: this.num[n + 5]!,
      urlPath: this.str[s + 4],
      urlQuery: this.str[s + 5],
      xRequestId: this.str[s + 6],
      xCorrelationId: this.str[s + 7],
      requestId: this.str[s + 8],
    };
  }

  startTimeUs(i: number): number {
    return this.num[this.physical(i) * NUM]!;
  }

  endUs(i: number): number {
    return this.num[this.physical(i) * NUM + 2]!;
  }

  /** Removes the rows for which `remove(logicalIndex)` is true, keeping order; no allocation. */
  removeWhere(remove: (i: number) => boolean): void {
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      if (remove(i)) continue;
      if (kept !== i) this.copy(this.physical(i), this.physical(kept));
      kept++;
    }
    for (let i = kept; i < this.count; i++) this.clear(this.physical(i));
    this.count = kept;
  }

  private physical(i: number): number {
    return (this.head + i) % this.capacity;
  }

  private write(r: number, span: Span): void {
    const n = r * NUM;
    this.num[n] = span.startTimeUs;
    this.num[n + 1] = span.durationNs;
    // As the estimator has always computed a span's end (the same rounding).
    this.num[n + 2] = span.startTimeUs + span.durationNs / 1000;
    this.num[n + 3] = span.threadId;
    this.num[n + 4] = span.network.remote.port;
    this.num[n + 5] = span.network.requestTransferNs;
    const s = r * STR;
    const a = span.attributes;
    this.str[s] = span.spanId;
    this.str[s + 1] = span.traceIdSource === 'none' ? '' : span.traceId;
    this.str[s + 2] = span.service;
    this.str[s + 3] = span.peerService;
    this.str[s + 4] = stringOrUndefined(a[URL_PATH]);
    this.str[s + 5] = stringOrUndefined(a[URL_QUERY]);
    this.str[s + 6] = stringOrUndefined(a[X_REQUEST_ID]);
    this.str[s + 7] = stringOrUndefined(a[X_CORRELATION_ID]);
    this.str[s + 8] = stringOrUndefined(a[REQUEST_ID]);
    this.flags[r] = STATUSES.indexOf(span.status) | (SOURCES.indexOf(span.traceIdSource) << 2) | (span.peerLocal ? 32 : 0);
  }

  private copy(from: number, to: number): void {
    this.num.copyWithin(to * NUM, from * NUM, from * NUM + NUM);
    for (let k = 0; k < STR; k++) this.str[to * STR + k] = this.str[from * STR + k];
    this.flags[to] = this.flags[from]!;
  }

  /** Lets go of the row's strings. */
  private clear(r: number): void {
    this.str.fill(undefined, r * STR, r * STR + STR);
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const num = new Float64Array(capacity * NUM);
    const str = new Array<string | undefined>(capacity * STR).fill(undefined);
    const flags = new Uint8Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const r = this.physical(i);
      num.set(this.num.subarray(r * NUM, r * NUM + NUM), i * NUM);
      for (let k = 0; k < STR; k++) str[i * STR + k] = this.str[r * STR + k];
      flags[i] = this.flags[r]!;
    }
    this.capacity = capacity;
    this.head = 0;
    this.num = num;
    this.str = str;
    this.flags = flags;
  }
}
