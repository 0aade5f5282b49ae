/**
 * Frames from one direction of a captured connection. Calls arrive as
 * payload prefixes with stream positions; frames span calls and calls hold
 * many frames.
 *
 * - Advance by what calls moved (`bytes`), not by what was captured: a frame
 *   whose payload was partly not captured is still delimited by its length,
 *   and is emitted marked incomplete.
 * - Lost bytes that hold a frame header lose the frame boundaries: then each
 *   later call's start is tried as a boundary (writers emit whole frames, and
 *   a reader that keeps up reads what they wrote), accepted only if the frame
 *   headers it leads to all look real (frame-header.ts). The call skipped
 *   just before (a read that began inside a large DATA frame and went on
 *   past its end) is then searched for where its last frames began: a chain
 *   of real-looking frame headers that ends exactly where the boundary was
 *   found. Those frames (often a message's last DATA and its trailers) are
 *   read, not lost.
 * - The client-to-server direction may begin with the connection preface,
 *   which is consumed here; its presence proves the connection was seen from
 *   its first byte.
 * - Never throws; bounded memory (one frame's kept payload at a time).
 */
import type { Direction } from '../../model/events.js';
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_BYTES, FRAME_TYPE_NAMES, Flag, FrameType } from './constants.js';
import { frameChainAt, frameChainEndingAt, readFrameHeader, type FrameHeader } from './frame-header.js';
import type { Http2Chunk, Http2Counters } from './types.js';

export interface Frame {
  header: FrameHeader;
  /** Kept payload bytes: all of them for control and header frames; for DATA only the pad length octet. */
  payload: Buffer;
  /** Every payload byte was captured. */
  complete: boolean;
  firstByteNs: bigint;
  lastByteNs: bigint;
  tid: number | undefined;
}

export interface FrameReaderOptions {
  direction: Direction;
  /** The client-to-server direction, which starts with the connection preface. */
  clientToServer: boolean;
  counters: Http2Counters;
  onFrame: (frame: Frame) => void;
  /**
   * Frame boundaries were lost: frames, header blocks among them maybe, are
   * missing. `cutHeaderBlock`: the loss began inside a frame that carries
   * header block bytes, or where no frame boundary was known (so the header
   * table is unknown whatever else is learnt).
   */
  onLostSync: (cutHeaderBlock: boolean) => void;
}

type PrefaceState = 'pending' | 'seen' | 'absent';

interface Stamp {
  first: bigint;
  last: bigint;
  tid: number | undefined;
}

interface PartialFrame {
  header: FrameHeader;
  parts: Buffer[];
  kept: number;
  keepLimit: number;
  remaining: number;
  complete: boolean;
  firstByteNs: bigint;
  tid: number | undefined;
}

/** Skipped bytes searched for their last frames at most (more than the largest capture prefix). */
const MAX_KEPT_SKIPPED = 64 * 1024;
/** Header-block frames are kept whole up to this; beyond, they count as incomplete. */
const MAX_KEPT_PAYLOAD = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export class FrameReader {
  /** SETTINGS_MAX_FRAME_SIZE the receiver of this direction announced. */
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private synced = false;
  private preface: PrefaceState;
  private prefaceMatched = 0;
  private expectedPos: bigint | undefined;
  private header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private headerStamp: Stamp | undefined;
  private current: PartialFrame | undefined;
  private everLostSync = false;
  private firstChunk = true;
  /** The first byte we saw was a frame boundary (or the preface) and nothing was lost before the first frame. */
  private fromFirstByte = false;
  private firstByteCandidate = false;
  /** The captured bytes of the last call skipped while out of sync, when they ran to the call's end. */
  private skipped: { bytes: Buffer; end: bigint; stamp: Stamp } | undefined;
  /** The start of a call too short to judge, kept to be judged with the next call. */
  private probe: { bytes: Buffer; stamp: Stamp; first: boolean } | undefined;

  constructor(private readonly options: FrameReaderOptions) {
    this.preface = options.clientToServer ? 'pending' : 'absent';
  }

  /** Whether the connection preface opened this direction. */
  get prefaceSeen(): boolean {
    return this.preface === 'seen';
  }

  /** The first captured byte began this direction's frames (preface or first frame). */
  get startedAtFirstByte(): boolean {
    return this.fromFirstByte;
  }

  push(chunk: Http2Chunk): void {
    const payload = Buffer.isBuffer(chunk.payload) ? chunk.payload : EMPTY;
    const bytes = Number.isSafeInteger(chunk.bytes) && chunk.bytes >= payload.length ? chunk.bytes : payload.length;
    const stamp: Stamp = {
      first: this.options.direction === 'egress' ? chunk.tsEnterNs : chunk.tsExitNs,
      last: chunk.tsExitNs,
      tid: chunk.tid,
    };
    let skip = 0;
    const pos = typeof chunk.streamPos === 'bigint' ? chunk.streamPos : undefined;
    if (this.expectedPos !== undefined && typeof chunk.streamPos === 'bigint') {
      if (chunk.streamPos > this.expectedPos) {
        this.options.counters.gaps++;
        this.lose(Number(chunk.streamPos - this.expectedPos), stamp);
      } else if (chunk.streamPos < this.expectedPos) {
        // Overlap with what we already had (reordered or repeated calls): skip it.
        const overlap = Number(this.expectedPos - chunk.streamPos);
        if (overlap >= bytes) return;
        skip = overlap;
      }
    }
    if (typeof chunk.streamPos === 'bigint') this.expectedPos = chunk.streamPos + BigInt(bytes);
    const first = this.firstChunk;
    this.firstChunk = false;

    const start = Math.min(skip, payload.length);
    if (first) this.firstByteCandidate = start === 0;
    let offset = start;
    if (this.preface === 'pending') {
      offset = this.matchPreface(payload, offset);
      if ((this.preface as PrefaceState) === 'seen') {
        this.synced = true;
        this.fromFirstByte = this.firstByteCandidate;
      }
    }
    if (!this.synced && offset === 0 && offset < payload.length && this.preface !== 'pending') {
      offset = this.trySync(payload, bytes, stamp, first, pos);
    }
    if (this.synced) {
      this.consume(payload, offset, stamp);
    } else if (this.preface !== 'pending') {
      this.options.counters.resyncSkippedBytes += payload.length - offset;
      const whole = payload.length === bytes && pos !== undefined && offset < payload.length && payload.length - offset <= MAX_KEPT_SKIPPED;
      this.skipped = whole ? { bytes: Buffer.from(payload.subarray(offset)), end: pos + BigInt(bytes), stamp } : undefined;
    }
    const uncaptured = bytes - Math.max(skip, payload.length);
    if (uncaptured > 0) {
      this.options.counters.uncapturedBytes += uncaptured;
      this.lose(uncaptured, stamp);
    }
  }

  /**
   * Looks for frame boundaries at the start of a call. A call shorter than a
   * frame header (a split read) is kept and tried again with the next one.
   * Returns where consuming should start in `payload`.
   */
  private trySync(payload: Buffer, bytes: number, stamp: Stamp, first: boolean, pos: bigint | undefined): number {
    const probe = this.probe;
    this.probe = undefined;
    const skipped = this.skipped;
    this.skipped = undefined;
    const candidate = probe ? Buffer.concat([probe.bytes, payload]) : payload;
    if (frameChainAt(candidate, this.maxFrameSize) > 0) {
      this.synced = true;
      // Found again after a loss: this says nothing of where the direction began.
      if (this.everLostSync) this.options.counters.resyncs++;
      else this.fromFirstByte = probe ? probe.first : first;
      if (skipped && !probe && pos !== undefined && skipped.end === pos) {
        const from = frameChainEndingAt(skipped.bytes, this.maxFrameSize);
        if (from !== undefined) {
          this.options.counters.resyncSkippedBytes -= skipped.bytes.length - from;
          this.options.counters.recoveredFrameBytes += skipped.bytes.length - from;
          this.consume(skipped.bytes, from, skipped.stamp);
        }
      }
      if (probe) this.consume(probe.bytes, 0, probe.stamp);
      return 0;
    }
    if (candidate.length < FRAME_HEADER_BYTES && payload.length === bytes) {
      this.probe = { bytes: Buffer.from(candidate), stamp: probe?.stamp ?? stamp, first: probe ? probe.first : first };
      return payload.length;
    }
    if (probe) this.options.counters.resyncSkippedBytes += probe.bytes.length;
    return 0;
  }

  /** Consumes what matches of the preface; a mismatch means this direction started before we saw it. */
  private matchPreface(payload: Buffer, offset: number): number {
    let i = offset;
    while (i < payload.length && this.prefaceMatched < CLIENT_PREFACE.length) {
      if (payload[i] !== CLIENT_PREFACE[this.prefaceMatched]) {
        this.preface = 'absent';
        // Bytes of a partial match are not frames either: look for a boundary from the next call.
        return this.prefaceMatched === 0 ? offset : payload.length;
      }
      this.prefaceMatched++;
      i++;
    }
    if (this.prefaceMatched === CLIENT_PREFACE.length) this.preface = 'seen';
    return i;
  }

  private consume(payload: Buffer, offset: number, stamp: Stamp): void {
    const end = payload.length;
    while (offset < end && this.synced) {
      if (!this.current) {
        if (this.headerFill === 0) this.headerStamp = stamp;
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, end - offset);
        payload.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < FRAME_HEADER_BYTES) return;
        this.headerFill = 0;
        const header = readFrameHeader(this.header) as FrameHeader;
        if (header.length > this.maxFrameSize) {
          // FRAME_SIZE_ERROR for a peer; for us a sign the boundaries were wrong.
          this.options.counters.malformedFrames++;
          this.loseSync(true);
          this.options.counters.resyncSkippedBytes += end - offset;
          return;
        }
        this.startFrame(header, this.headerStamp ?? stamp);
        if (header.length === 0) this.finish(stamp);
        continue;
      }
      const frame = this.current;
      const take = Math.min(frame.remaining, end - offset);
      const keep = Math.min(take, frame.keepLimit - frame.kept);
      if (keep > 0) {
        frame.parts.push(Buffer.from(payload.subarray(offset, offset + keep)));
        frame.kept += keep;
      }
      if (keep < take && frame.header.type !== FrameType.DATA && frame.header.type !== FrameType.GOAWAY) frame.complete = false;
      frame.remaining -= take;
      offset += take;
      if (frame.remaining === 0) this.finish(stamp);
    }
  }

  private startFrame(header: FrameHeader, stamp: Stamp): void {
    let keepLimit = Math.min(header.length, MAX_KEPT_PAYLOAD);
    // DATA content is never needed, only its pad length; GOAWAY's debug data neither.
    if (header.type === FrameType.DATA) keepLimit = header.flags & Flag.PADDED ? Math.min(1, header.length) : 0;
    if (header.type === FrameType.GOAWAY) keepLimit = Math.min(8, header.length);
    this.current = { header, parts: [], kept: 0, keepLimit, remaining: header.length, complete: true, firstByteNs: stamp.first, tid: stamp.tid };
  }

  private finish(stamp: Stamp): void {
    const frame = this.current as PartialFrame;
    this.current = undefined;
    const counters = this.options.counters;
    counters.frames++;
    const name = FRAME_TYPE_NAMES[frame.header.type] ?? 'UNKNOWN';
    counters.framesByType[name] = (counters.framesByType[name] ?? 0) + 1;
    this.options.onFrame({
      header: frame.header,
      payload: frame.parts.length === 1 ? (frame.parts[0] as Buffer) : Buffer.concat(frame.parts),
      complete: frame.complete,
      firstByteNs: frame.firstByteNs,
      lastByteNs: stamp.last,
      tid: frame.tid,
    });
  }

  /** `n` bytes were not captured at this point of the stream. */
  private lose(n: number, stamp: Stamp): void {
    if (n <= 0) return;
    this.probe = undefined;
    this.skipped = undefined;
    if (this.preface === 'pending') {
      this.preface = 'absent';
      return;
    }
    if (!this.synced) return;
    const frame = this.current;
    if (frame && n <= frame.remaining) {
      // Inside one frame's payload: the framing survives.
      frame.remaining -= n;
      frame.complete = false;
      if (frame.remaining === 0) this.finish(stamp);
      return;
    }
    this.loseSync(this.inHeaderBlock());
  }

  /** Whether the byte now due belongs to a frame that may carry header block bytes. */
  private inHeaderBlock(): boolean {
    if (!this.current && this.headerFill === 0) return false;
    // Inside a frame header whose type byte was not captured: it may be anything.
    if (!this.current && this.headerFill <= 3) return true;
    const type = this.current ? this.current.header.type : this.header[3];
    return type === FrameType.HEADERS || type === FrameType.PUSH_PROMISE || type === FrameType.CONTINUATION;
  }

  private loseSync(cutHeaderBlock: boolean): void {
    if (!this.synced) return;
    this.synced = false;
    this.everLostSync = true;
    this.current = undefined;
    this.headerFill = 0;
    this.options.counters.lostSync++;
    this.options.onLostSync(cutHeaderBlock);
  }
}
