/**
 * Whether bytes one side of a gRPC connection lost (not captured, or skipped
 * until frame boundaries were found again) can have held a header block. If
 * not, that side's HPACK table is still known and header blocks after the
 * gap decode in full; if so, the table is unknown (degraded decoding).
 *
 * The lost bytes themselves are unknown, so this reasons from what gRPC lets
 * each side send (PROTOCOL-HTTP2.md) and from what came after the gap, up to
 * the side's first header block, which is judged before it is decoded:
 *  - a client sends one header block per call, the one opening its stream
 *    (requests have no trailers). One lost would be a stream opened in the
 *    gap: ruled out when the first header block after the gap opens the next
 *    stream id after the highest one seen before it.
 *  - a server sends per call response headers then trailers (END_STREAM), or
 *    trailers alone, and never pushes. For every call still waiting on the
 *    server: if its response headers came before the gap, only trailers can
 *    have been lost, and a DATA frame of that response after the gap shows
 *    the response had not ended; the call the judged block belongs to needs
 *    no such proof (trailers after trailers cannot be) unless its headers are
 *    still to come, when a block without END_STREAM is those headers. A call
 *    whose request the observed process moved only after the last lost byte
 *    had been moved (times of the calls) cannot have been answered in the
 *    gap. Any other case (an interim response, a call whose response may
 *    have started in the gap) is not ruled out.
 * Applies only to connections whose requests were all gRPC (content-type
 * application/grpc) and that never pushed; other HTTP/2 may send trailers
 * on requests, 1xx responses and pushes, so every gap costs the table.
 */
import type { Side } from './stream-state.js';

/** What the connection knew of one stream's side when the bytes were lost. */
export interface SideBefore {
  /** That side's opening header block had been seen. */
  headersSeen: boolean;
}

/** An open stream as the connection knows it when a header block is judged. */
export interface OpenStream {
  id: number;
  /** The audited side had ended its message (END_STREAM seen). */
  ended: boolean;
  /** The other side's (the client's, for a server audit) opening header block was seen. */
  requestSeen: boolean;
  /** When the observed process moved the request's first byte (monotonic ns). */
  requestFirstNs: bigint | undefined;
}

export class GapAudit {
  private readonly continued = new Set<number>();
  /** When the call holding the side's first frame after the gap ended: every lost byte was moved by then. */
  private resumedNs: bigint | undefined;

  constructor(
    readonly side: Side,
    /** Streams open at the gap, keyed by id, with what was known of the audited side. */
    private readonly before: ReadonlyMap<number, SideBefore>,
    /** Highest client stream id whose request was seen before the gap (0: none). */
    private readonly highestOpened: number,
  ) {}

  /** A frame of the audited side arrived after the gap. */
  frame(lastByteNs: bigint): void {
    this.resumedNs ??= lastByteNs;
  }

  /** A DATA frame of the audited side arrived after the gap. */
  data(streamId: number): void {
    this.continued.add(streamId);
  }

  /** Whether the header block starting now, the side's first after the gap, proves none was lost in it. */
  cleared(streamId: number, endStream: boolean, open: Iterable<OpenStream>): boolean {
    return this.side === 'client' ? this.clientCleared(streamId) : this.serverCleared(streamId, endStream, open);
  }

  private clientCleared(streamId: number): boolean {
    // Client stream ids go up by two with every call (RFC 9113 5.1.1).
    const next = this.highestOpened === 0 ? 1 : this.highestOpened + 2;
    return streamId === next;
  }

  private serverCleared(streamId: number, endStream: boolean, open: Iterable<OpenStream>): boolean {
    let ownAfter = false;
    for (const s of open) {
      const after = this.requestAfterGap(s);
      if (s.id === streamId) ownAfter = after;
      if (s.ended || !s.requestSeen || s.id === streamId || after) continue;
      const before = this.before.get(s.id);
      if (!before?.headersSeen || !this.continued.has(s.id)) return false;
    }
    const own = this.before.get(streamId);
    if (own?.headersSeen || ownAfter) return true;
    // Its headers still to come: a block without END_STREAM is them (trailers always end the
    // stream); with END_STREAM it is trailers alone or trailers after headers lost in the gap.
    return !endStream && !this.continued.has(streamId);
  }

  private requestAfterGap(s: OpenStream): boolean {
    return s.requestFirstNs !== undefined && this.resumedNs !== undefined && s.requestFirstNs > this.resumedNs;
  }
}
