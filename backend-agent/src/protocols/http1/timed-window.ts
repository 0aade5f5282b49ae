/**
 * The bytes being parsed, with the capture call each byte came from. Nearly
 * always that is one call's payload as is (no copy). When the end of earlier
 * calls was kept (a possible start line cut by a call boundary), those bytes
 * come first. A message's timestamps and thread id are those of the calls
 * holding its first and last byte, so each byte must be traceable to its call.
 */

/** What a message takes from the capture call holding one of its bytes. */
export interface CallStamp {
  /** When this call's bytes count as sent or received for a first byte (see Http1Message.firstByteNs). */
  firstNs: bigint;
  /** Same for a last byte. */
  lastNs: bigint;
  tid: number | undefined;
}

/** Bytes kept between calls, in segments that each came from one call. */
export interface HeldBytes {
  bytes: Buffer;
  /** Exclusive end offset of each segment in `bytes`. */
  segmentEnds: number[];
  segmentStamps: CallStamp[];
}

const EMPTY = Buffer.alloc(0);
const NO_STAMP: CallStamp = Object.freeze({ firstNs: 0n, lastNs: 0n, tid: undefined });

export class TimedWindow {
  buf: Buffer = EMPTY;
  private held: HeldBytes | undefined;
  private heldLength = 0;
  private stamp: CallStamp = NO_STAMP;

  /** Starts parsing a call's bytes, after whatever was held from earlier calls. */
  set(held: HeldBytes | undefined, data: Buffer, stamp: CallStamp): Buffer {
    this.held = held;
    this.stamp = stamp;
    this.heldLength = held ? held.bytes.length : 0;
    this.buf = held ? Buffer.concat([held.bytes, data]) : data;
    return this.buf;
  }

  /** Forgets the call: `buf` may be a view of a whole loader read, which it would keep alive. */
  release(): void {
    this.buf = EMPTY;
    this.held = undefined;
    this.heldLength = 0;
    this.stamp = NO_STAMP;
  }

  /** Bytes of the window that came from earlier calls. */
  get heldPrefixLength(): number {
    return this.heldLength;
  }

  stampAt(offset: number): CallStamp {
    const held = this.held;
    if (held === undefined || offset >= this.heldLength) return this.stamp;
    const ends = held.segmentEnds;
    for (let k = 0; k < ends.length; k++) if (offset < (ends[k] as number)) return held.segmentStamps[k] as CallStamp;
    return this.stamp;
  }

  /** Copies buf[from..] with its stamps, to keep until the next call (the caller's payload may be reused). */
  hold(from: number): HeldBytes {
    const segmentEnds: number[] = [];
    const segmentStamps: CallStamp[] = [];
    const held = this.held;
    if (held) {
      for (let k = 0; k < held.segmentEnds.length; k++) {
        const end = held.segmentEnds[k] as number;
        if (end > from) {
          segmentEnds.push(end - from);
          segmentStamps.push(held.segmentStamps[k] as CallStamp);
        }
      }
    }
    if (this.buf.length > Math.max(from, this.heldLength)) {
      segmentEnds.push(this.buf.length - from);
      segmentStamps.push(this.stamp);
    }
    return { bytes: Buffer.from(this.buf.subarray(from)), segmentEnds, segmentStamps };
  }
}

/** Held bytes all from one call (a head's bytes being re-scanned after it failed to parse). */
export function heldFromOneCall(bytes: Buffer, stamp: CallStamp): HeldBytes {
  return { bytes: Buffer.from(bytes), segmentEnds: [bytes.length], segmentStamps: [stamp] };
}

/** The last stamp of held bytes (for a body that absorbs them). */
export function lastStampOf(held: HeldBytes): CallStamp | undefined {
  return held.segmentStamps[held.segmentStamps.length - 1];
}
