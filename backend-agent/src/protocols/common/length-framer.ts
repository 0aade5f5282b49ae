/**
 * Cuts one direction of a captured TCP stream into length-prefixed messages
 * (PostgreSQL, MySQL). The kernel gives us a prefix of each syscall's bytes
 * and a stream position, so a message may arrive in pieces, with its tail
 * uncaptured (prefix limit) or lost (a position jump). Because the length is
 * in the header, a hole inside a message body is skipped and the message is
 * still reported (marked incomplete); a hole over a header loses the framing,
 * which is regained at the start of a later syscall whose bytes look like a
 * message start (clients and servers write whole messages per call).
 */
import type { Direction } from '../../model/events.js';

export interface StreamChunk {
  /** Captured prefix of what the call moved. */
  payload: Buffer;
  /** Bytes the call moved. */
  bytes: number;
  /** Bytes moved in this direction before this call. */
  streamPos: bigint;
  tsEnterNs: bigint;
  tsExitNs: bigint;
  tid?: number;
  direction: Direction;
}

export interface Frame {
  /** Captured bytes of the message from its first byte (header included), at most what Framing.keep allowed. */
  data: Buffer;
  /** Length on the wire, header included. */
  length: number;
  /** Every byte was captured (none lost to the prefix limit or a gap); data may still be a kept prefix. */
  complete: boolean;
  firstByteNs: bigint;
  lastByteNs: bigint;
  tid: number | undefined;
}

export interface Framing {
  /** Bytes needed to know the message length (may depend on connection state). */
  headerLength(): number;
  /** Whole message length from its header, or undefined when the header is implausible. */
  messageLength(header: Buffer): number | undefined;
  /** After lost framing: may a message start at this chunk's first byte? */
  canStartAt(payload: Buffer): boolean;
  /**
   * Bytes of this message worth keeping, header included (default all, up
   * to maxCapture): data rows need none, password messages must not be held.
   */
  keep?(header: Buffer): number;
}

export interface FramerCounters {
  /** Times the framing was lost (an implausible header, or a hole over one). */
  lostSync: number;
  /** Position jumps (lost bytes) in this direction. */
  gaps: number;
  /** Bytes skipped while the framing was lost. */
  skippedBytes: number;
}

/** Longest message body kept in memory; the rest is counted, not stored. */
export const DEFAULT_MAX_CAPTURE = 64 * 1024;

export class LengthFramer {
  readonly counters: FramerCounters = { lostSync: 0, gaps: 0, skippedBytes: 0 };
  private nextPos: bigint | undefined;
  private lost = false;
  /** Header bytes gathered so far (state 'header' when no message is open). */
  private header: Buffer[] = [];
  private headerBytes = 0;
  private msg:
    | { parts: Buffer[]; kept: number; keepLimit: number; length: number; remaining: number; complete: boolean; firstByteNs: bigint; tid: number | undefined }
    | undefined;
  private firstByteNs = 0n;
  private firstTid: number | undefined;

  constructor(
    private readonly framing: Framing,
    private readonly onFrame: (frame: Frame) => void,
    private readonly maxCapture = DEFAULT_MAX_CAPTURE,
  ) {}

  push(chunk: StreamChunk): void {
    const pos = chunk.streamPos;
    let payload = chunk.payload.subarray(0, Math.min(chunk.payload.length, chunk.bytes));
    let bytes = chunk.bytes;
    if (this.nextPos !== undefined && pos < this.nextPos) {
      // Overlap with bytes already seen (should not happen): keep only the new part.
      const seen = Number(this.nextPos - pos);
      if (seen >= bytes) return;
      payload = payload.subarray(Math.min(seen, payload.length));
      bytes -= seen;
    } else if (this.nextPos !== undefined && pos > this.nextPos) {
      this.counters.gaps++;
      this.hole(Number(pos - this.nextPos), chunk);
    }
    const atChunkStart = this.nextPos === undefined || pos >= this.nextPos;
    this.nextPos = (this.nextPos !== undefined && pos < this.nextPos ? this.nextPos : pos) + BigInt(bytes);
    if (this.lost) {
      if (!atChunkStart || !this.framing.canStartAt(payload)) {
        this.counters.skippedBytes += bytes;
        return;
      }
      this.lost = false;
    }
    const firstNs = chunk.direction === 'egress' ? chunk.tsEnterNs : chunk.tsExitNs;
    let at = 0;
    while (at < payload.length && !this.lost) at = this.consume(payload, at, firstNs, chunk);
    if (this.lost) {
      this.counters.skippedBytes += payload.length - at + (bytes - payload.length);
      return;
    }
    if (bytes > payload.length) this.hole(bytes - payload.length, chunk);
  }

  /** Drops a partly gathered message (connection end): nothing more will come for it. */
  reset(): void {
    this.header = [];
    this.headerBytes = 0;
    this.msg = undefined;
  }

  private consume(p: Buffer, at: number, firstNs: bigint, chunk: StreamChunk): number {
    if (!this.msg) {
      if (this.headerBytes === 0) {
        this.firstByteNs = firstNs;
        this.firstTid = chunk.tid;
      }
      const need = this.framing.headerLength() - this.headerBytes;
      const take = Math.min(need, p.length - at);
      this.header.push(Buffer.from(p.subarray(at, at + take)));
      this.headerBytes += take;
      if (take < need) return at + take;
      const head = Buffer.concat(this.header);
      this.header = [];
      this.headerBytes = 0;
      const length = this.framing.messageLength(head);
      if (length === undefined || length < head.length) {
        this.loseSync();
        return p.length;
      }
      this.msg = {
        parts: [head],
        kept: head.length,
        keepLimit: Math.min(this.maxCapture, this.framing.keep?.(head) ?? this.maxCapture),
        length,
        remaining: length - head.length,
        complete: true,
        firstByteNs: this.firstByteNs,
        tid: this.firstTid,
      };
      if (this.msg.remaining === 0) this.finish(chunk.tsExitNs);
      return at + take;
    }
    const m = this.msg;
    const take = Math.min(m.remaining, p.length - at);
    const keep = Math.min(take, m.keepLimit - m.kept);
    if (keep > 0) {
      // Copied: the payload buffer belongs to the capture batch.
      m.parts.push(Buffer.from(p.subarray(at, at + keep)));
      m.kept += keep;
    }
    m.remaining -= take;
    if (m.remaining === 0) this.finish(chunk.tsExitNs);
    return at + take;
  }

  private hole(n: number, chunk: StreamChunk): void {
    if (this.lost) {
      this.counters.skippedBytes += n;
      return;
    }
    const m = this.msg;
    if (m && n <= m.remaining) {
      m.remaining -= n;
      m.complete = false;
      if (m.remaining === 0) this.finish(chunk.tsExitNs);
      return;
    }
    if (m) {
      // The message ends inside the hole: report what we have; the next header is lost.
      m.complete = false;
      m.remaining = 0;
      this.finish(chunk.tsExitNs);
    }
    this.loseSync();
  }

  private finish(lastByteNs: bigint): void {
    const m = this.msg;
    if (!m) return;
    this.msg = undefined;
    this.onFrame({
      data: m.parts.length === 1 ? (m.parts[0] as Buffer) : Buffer.concat(m.parts),
      length: m.length,
      complete: m.complete,
      firstByteNs: m.firstByteNs,
      lastByteNs,
      tid: m.tid,
    });
  }

  private loseSync(): void {
    this.lost = true;
    this.counters.lostSync++;
    this.reset();
  }
}
