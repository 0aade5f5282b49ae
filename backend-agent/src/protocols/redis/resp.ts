/**
 * A streaming RESP2/RESP3 reader for one direction of a captured connection
 * (https://redis.io/docs/latest/develop/reference/protocol-spec/). It keeps
 * no values: for each top-level value it reports its type, the first two
 * elements' leading bytes (a command's name and key) or an error's text,
 * and its size on the wire. Bulk strings have a known length, so a hole in
 * the capture inside one is skipped; a hole anywhere else loses the framing,
 * regained at the start of a later syscall that begins like a RESP value.
 */
import type { StreamChunk } from '../common/length-framer.js';

export interface RespValue {
  /** Type byte of the top-level value ('*' for a command array; 'inline' for an inline command). */
  type: string;
  /** Leading bytes (at most ARG_PREFIX) of elements 0 and 1 of a top-level array, or the words of an inline command. */
  args: Buffer[];
  /** Elements of a top-level array (-1 for a null array). */
  argc: number;
  /** Simple string or error text ('+', '-'), or a bulk error's leading bytes ('!'). */
  line?: string;
  bytes: number;
  complete: boolean;
  firstByteNs: bigint;
  lastByteNs: bigint;
  tid: number | undefined;
}

export interface RespCounters {
  lostSync: number;
  gaps: number;
  skippedBytes: number;
}

/** Bytes kept of a command's name and key. */
export const ARG_PREFIX = 128;
/** Longest line (type, length, simple string) kept; longer ones are counted, not stored. */
const MAX_LINE = 1024;
/** Nesting we follow; deeper values are taken for garbage. */
const MAX_DEPTH = 32;
/** Largest length we believe (Redis' own proto-max-bulk-len default is 512 MiB). */
const MAX_LENGTH = 1 << 30;

const LINE_TYPES = new Set(['+', '-', ':', '_', ',', '#', '(']);
const BULK_TYPES = new Set(['$', '=', '!']);
const AGGREGATE_TYPES = new Set(['*', '%', '~', '>', '|']);
export const REPLY_START = new Set([...LINE_TYPES, ...BULK_TYPES, ...AGGREGATE_TYPES]);

interface Current {
  type: string;
  args: Buffer[];
  argc: number;
  line?: string;
  bytes: number;
  complete: boolean;
  firstByteNs: bigint;
  tid: number | undefined;
}

export class RespReader {
  readonly counters: RespCounters = { lostSync: 0, gaps: 0, skippedBytes: 0 };
  private nextPos: bigint | undefined;
  private lost = false;
  private line: number[] = [];
  private lineBytes = 0;
  /** Remaining elements of each open aggregate, innermost last. */
  private stack: number[] = [];
  /** Index of the element being read at depth 1 (the top-level array's elements). */
  private elementIndex = 0;
  /** Bytes left of a bulk string body and its CRLF. */
  private bulkLeft = 0;
  private bulkKeep: Buffer[] | undefined;
  private bulkKept = 0;
  private bulkType = '';
  private bulkLength = 0;
  private cur: Current | undefined;

  constructor(
    /** 'request': a top-level value not starting with '*' is an inline command. */
    private readonly side: 'request' | 'reply',
    private readonly onValue: (v: RespValue) => void,
  ) {}

  push(chunk: StreamChunk): void {
    const pos = chunk.streamPos;
    let payload = chunk.payload.subarray(0, Math.min(chunk.payload.length, chunk.bytes));
    let bytes = chunk.bytes;
    let atStart = true;
    if (this.nextPos !== undefined && pos < this.nextPos) {
      const seen = Number(this.nextPos - pos);
      if (seen >= bytes) return;
      payload = payload.subarray(Math.min(seen, payload.length));
      bytes -= seen;
      atStart = false;
    } else if (this.nextPos !== undefined && pos > this.nextPos) {
      this.counters.gaps++;
      this.hole(Number(pos - this.nextPos), chunk.tsExitNs);
    }
    this.nextPos = (atStart ? pos : (this.nextPos as bigint)) + BigInt(bytes);
    if (this.lost) {
      if (!atStart || !this.canStartAt(payload)) {
        this.counters.skippedBytes += bytes;
        return;
      }
      this.lost = false;
    }
    const firstNs = chunk.direction === 'egress' ? chunk.tsEnterNs : chunk.tsExitNs;
    let at = 0;
    while (at < payload.length && !this.lost) at = this.step(payload, at, firstNs, chunk);
    if (this.lost) {
      this.counters.skippedBytes += payload.length - at + (bytes - payload.length);
      return;
    }
    if (bytes > payload.length) this.hole(bytes - payload.length, chunk.tsExitNs);
  }

  private canStartAt(p: Buffer): boolean {
    if (p.length === 0) return false;
    const c = String.fromCharCode(p[0] as number);
    return this.side === 'request' ? c === '*' : REPLY_START.has(c);
  }

  private step(p: Buffer, at: number, firstNs: bigint, chunk: StreamChunk): number {
    if (!this.cur) {
      this.cur = { type: '', args: [], argc: 0, bytes: 0, complete: true, firstByteNs: firstNs, tid: chunk.tid };
      this.elementIndex = 0;
    }
    const cur = this.cur;
    if (this.bulkLeft > 0) {
      const take = Math.min(this.bulkLeft, p.length - at);
      if (this.bulkKeep) {
        const keep = Math.min(take, ARG_PREFIX - this.bulkKept);
        if (keep > 0) {
          this.bulkKeep.push(Buffer.from(p.subarray(at, at + keep)));
          this.bulkKept += keep;
        }
      }
      this.bulkLeft -= take;
      cur.bytes += take;
      if (this.bulkLeft === 0) this.endBulk(chunk.tsExitNs);
      return at + take;
    }
    const lf = p.indexOf(0x0a, at);
    const end = lf < 0 ? p.length : lf + 1;
    const keep = Math.min(end - at, MAX_LINE - this.lineBytes);
    for (let i = 0; i < keep; i++) this.line.push(p[at + i] as number);
    this.lineBytes += end - at;
    cur.bytes += end - at;
    if (lf >= 0) {
      const line = Buffer.from(this.line);
      this.line = [];
      this.lineBytes = 0;
      this.onLine(line, chunk.tsExitNs);
    }
    return end;
  }

  private onLine(raw: Buffer, lastNs: bigint): void {
    const cur = this.cur as Current;
    // A line is ended by CRLF; a bare LF is accepted (inline commands), the CR dropped.
    const line = raw.length >= 2 && raw[raw.length - 2] === 0x0d ? raw.subarray(0, raw.length - 2) : raw.subarray(0, raw.length - 1);
    const type = line.length > 0 ? String.fromCharCode(line[0] as number) : '';
    const top = this.stack.length === 0;
    if (top) cur.type = type;
    if (top && this.side === 'request' && type !== '*') {
      if (line.length === 0) {
        this.cur = undefined; // empty lines between inline commands
        return;
      }
      cur.type = 'inline';
      const words = line.toString('latin1').trim().split(/\s+/).slice(0, 2);
      cur.args = words.map((w) => Buffer.from(w.slice(0, ARG_PREFIX), 'latin1'));
      cur.argc = line.toString('latin1').trim().split(/\s+/).length;
      this.finish(lastNs);
      return;
    }
    if (LINE_TYPES.has(type)) {
      if (top && (type === '+' || type === '-')) cur.line = line.subarray(1, 1 + MAX_LINE).toString('utf8');
      this.endValue(lastNs);
      return;
    }
    const n = parseLength(line);
    if (n === undefined) {
      this.loseSync();
      return;
    }
    if (BULK_TYPES.has(type)) {
      if (n < 0) {
        this.endValue(lastNs);
        return;
      }
      this.bulkLeft = n + 2;
      this.bulkLength = n;
      this.bulkType = type;
      this.bulkKept = 0;
      const wanted = (this.stack.length === 1 && this.elementIndex < 2) || (top && type === '!');
      this.bulkKeep = wanted ? [] : undefined;
      return;
    }
    if (AGGREGATE_TYPES.has(type)) {
      if (top) cur.argc = n;
      const elements = n < 0 ? 0 : type === '%' || type === '|' ? 2 * n : n;
      if (this.stack.length >= MAX_DEPTH) {
        this.loseSync();
        return;
      }
      // Attributes precede the value they describe, which is one more element
      // of the enclosing aggregate; at the top, a wrapper of two (map, value).
      if (type === '|') {
        if (top) this.stack.push(2);
        else this.stack[this.stack.length - 1]! += 1;
      }
      if (elements === 0) {
        this.endValue(lastNs);
        return;
      }
      this.stack.push(elements);
      return;
    }
    this.loseSync();
  }

  private endBulk(lastNs: bigint): void {
    if (this.bulkKeep) {
      // The kept bytes may include the closing CRLF: cut at the announced length.
      const data = Buffer.concat(this.bulkKeep).subarray(0, Math.min(ARG_PREFIX, this.bulkLength));
      const cur = this.cur as Current;
      if (this.stack.length === 0 && this.bulkType === '!') cur.line = data.toString('utf8');
      else cur.args.push(data);
    }
    this.bulkKeep = undefined;
    this.endValue(lastNs);
  }

  /** One value ended: count it in its aggregate, and finish the top-level value when none is open. */
  private endValue(lastNs: bigint): void {
    while (this.stack.length > 0) {
      if (this.stack.length === 1) this.elementIndex++;
      const left = (this.stack[this.stack.length - 1] as number) - 1;
      if (left > 0) {
        this.stack[this.stack.length - 1] = left;
        return;
      }
      this.stack.pop();
    }
    this.finish(lastNs);
  }

  private finish(lastNs: bigint): void {
    const cur = this.cur as Current;
    this.cur = undefined;
    this.onValue({ ...cur, lastByteNs: lastNs });
  }

  private hole(n: number, lastNs: bigint): void {
    if (this.lost) {
      this.counters.skippedBytes += n;
      return;
    }
    if (this.bulkLeft > 0 && n <= this.bulkLeft && this.cur) {
      this.bulkLeft -= n;
      this.cur.bytes += n;
      this.cur.complete = false;
      if (this.bulkLeft === 0) this.endBulk(lastNs);
      return;
    }
    this.loseSync();
  }

  private loseSync(): void {
    this.lost = true;
    this.counters.lostSync++;
    this.cur = undefined;
    this.stack = [];
    this.line = [];
    this.lineBytes = 0;
    this.bulkLeft = 0;
    this.bulkKeep = undefined;
  }
}

/** `$12`, `*-1`: the number after the type byte, if it is one we believe. */
function parseLength(line: Buffer): number | undefined {
  if (line.length < 2 || line.length > 12) return undefined;
  const s = line.toString('latin1', 1);
  if (!/^-?\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n < -1 || n > MAX_LENGTH) return undefined;
  return n;
}
