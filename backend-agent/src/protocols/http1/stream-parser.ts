/**
 * The incremental parser of one direction of an HTTP/1.x connection, as an
 * observer sees it: chunks of captured calls, each a payload prefix of what
 * the call moved, with stream positions that reveal lost bytes.
 *
 * Design rules:
 * - Advance by what calls moved (`bytes`), not by what was captured: bytes
 *   beyond the captured prefix are skipped by count while the framing says
 *   where they belong (a Content-Length body, chunk data), and mark the
 *   message truncated.
 * - Once a message's head is parsed, the message is always emitted, possibly
 *   truncated; only partial heads are ever thrown away. Pairing relies on it.
 * - After lost bytes or garbage, look for the next plausible start line
 *   (start-line.ts), the same way whatever the chunking.
 * - Bounded memory: a head may not exceed maxHeaderBytes; a possible start
 *   line kept across calls may not exceed maxStartLineBytes.
 * - Little memory per idle connection (an agent holds thousands): what only
 *   some messages need (a head split across calls, a chunked body, bytes held
 *   for an upgrade) is created when needed and dropped when done, and nothing
 *   keeps a view of a captured payload (a view keeps the loader's whole read
 *   alive) once the call is parsed.
 * - Never throw out of the public methods.
 *
 * Requests and responses differ only in how a head turns into a message and
 * its framing; subclasses supply that (request-parser.ts, response-parser.ts).
 */
import type { Direction } from '../../model/events.js';
import { ByteAccumulator } from './byte-accumulator.js';
import { ChunkedBodyDecoder } from './chunked.js';
import type { AfterMessage, BodyFraming } from './framing.js';
import { parseHead, type ParsedHead } from './head.js';
import { findHeadEnd } from './head-end.js';
import { findStartLine, type MessageKind } from './start-line.js';
import { TimedWindow, heldFromOneCall, lastStampOf, type CallStamp, type HeldBytes } from './timed-window.js';
import { emptyParserCounters, type Http1Chunk, type Http1Message, type Http1ParserCounters } from './types.js';
import { UpgradeHold, type HeldChunk } from './upgrade-hold.js';

export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
export const DEFAULT_MAX_START_LINE_BYTES = 8 * 1024;

/**
 * The parser keeps this object and calls its callbacks as methods, so a
 * class instance can be passed instead of closures (one object per parser
 * rather than a closure and its context per callback).
 */
export interface Http1StreamParserOptions<M extends Http1Message> {
  /** Which way the bytes flow; decides which call timestamp marks a byte (see Http1Message.firstByteNs). */
  direction: Direction;
  /** Emitted once per message whose head was parsed, complete or truncated. */
  onMessage(message: M): void;
  /** Bytes were lost where messages may have started: whole messages may be missing from this direction. */
  onLostSync?(): void;
  /** Cap on a head's bytes (start line + header lines); larger heads are dropped as errors. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Longest request line recognised when resynchronising. Default 8 KiB. */
  maxStartLineBytes?: number;
}

/** What a subclass makes of a parsed head. */
export type HeadOutcome<M> =
  /** A 1xx interim response: no message, the final response follows. */
  | { kind: 'interim' }
  /**
   * framingGuessed: the framing comes from headers nothing vouches for (a
   * response to no request we saw). Bytes lost inside such a body are not
   * taken to be body by count: the body then ends at the next start line.
   */
  | { kind: 'message'; message: M; framing: BodyFraming; after: AfterMessage; framingGuessed?: boolean };

type ParserState =
  | 'start' // expecting a start line (scanning for one if the bytes are not)
  | 'head' // start line seen, head bytes held until the empty line
  | 'body-length'
  | 'body-chunked'
  | 'body-until-close'
  | 'body-until-resync' // framing lost: body until the next start line (or close)
  | 'upgrade-pending' // after an upgrade/CONNECT request: holding bytes until the response tells
  | 'opaque' // after an accepted upgrade: not HTTP/1 any more
  | 'ended';

const EMPTY = Buffer.alloc(0);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A window is in use only while one call's bytes are parsed, so a few serve
 * every parser: taken at the start of a call, emptied and given back at its
 * end. More than one is out only when a parse nests (held bytes replayed
 * after an upgrade was refused).
 */
const spareWindows: TimedWindow[] = [];
const NO_TROUBLE: Readonly<Http1ParserCounters> = Object.freeze(emptyParserCounters());
const IDLE_WINDOW = new TimedWindow();

export abstract class Http1StreamParser<M extends Http1Message, O extends Http1StreamParserOptions<M> = Http1StreamParserOptions<M>> {
  protected abstract readonly kind: MessageKind;
  private readonly direction: Direction;
  /** Where messages go (the callbacks are its methods). */
  protected readonly options: O;
  private readonly maxHeaderBytes: number;
  private readonly maxStartLineBytes: number;

  private state: ParserState = 'start';
  /** Stream position of the next byte; undefined until the first chunk. */
  private expectedPos: bigint | undefined;
  /** Skipped bytes are the aftermath of lost bytes (not counted as parse errors). */
  private resyncing = false;
  /** Inside a run of skipped garbage (counts one parse error event per run). */
  private inErrorRun = false;
  /** A possible start line cut by the end of a call (states start and body-until-resync). */
  private held: HeldBytes | undefined;
  /** The window of the call being parsed (a spare one's, see spareWindows); IDLE_WINDOW between calls. */
  private window: TimedWindow = IDLE_WINDOW;
  /** Head bytes held across calls (state head): only while a head is split across calls. */
  private head: ByteAccumulator | undefined;
  private headStamp: CallStamp | undefined;
  private headResumeAt = 0;
  private current: M | undefined;
  private currentAfter: AfterMessage = 'continue';
  private currentFramingGuessed = false;
  private bodyRemaining = 0;
  /** Only during a chunked body. */
  private chunked: ChunkedBodyDecoder | undefined;
  /** Set when the connection learned the upgrade's fate before its request ended. */
  private upgradeOutcome: boolean | undefined;
  /** Only while an upgrade's fate is unknown. */
  private upgradeHold: UpgradeHold | undefined;
  /** Whether the call being parsed was captured whole (no uncaptured tail). */
  private callCapturedWhole = true;
  /** Stamp of the last captured byte, for messages cut by a gap (none between messages). */
  private lastStamp: CallStamp | undefined;

  private messages = 0;
  private truncatedMessages = 0;
  /** Every other counter: only trouble (or an upgrade) moves them, so the object comes with the first. */
  private trouble: Http1ParserCounters | undefined;

  constructor(options: O) {
    this.direction = options.direction;
    this.options = options;
    this.maxHeaderBytes = positiveOr(options.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES);
    this.maxStartLineBytes = positiveOr(options.maxStartLineBytes, DEFAULT_MAX_START_LINE_BYTES);
  }

  /** A snapshot of the counters. */
  get counters(): Http1ParserCounters {
    return { ...(this.trouble ?? NO_TROUBLE), messages: this.messages, truncatedMessages: this.truncatedMessages };
  }

  /** counters.parseErrorBytes without a snapshot (health sums it over every connection). */
  get parseErrorBytes(): number {
    return this.trouble?.parseErrorBytes ?? 0;
  }

  /** counters.gaps, likewise. */
  get gaps(): number {
    return this.trouble?.gaps ?? 0;
  }

  private get issues(): Http1ParserCounters {
    return (this.trouble ??= emptyParserCounters());
  }

  /** Turns a parsed head into a message and its framing (or an interim response). */
  protected abstract beginMessage(head: ParsedHead, headerBytes: number, first: CallStamp, last: CallStamp): HeadOutcome<M> | undefined;

  // The public methods catch everything (no closure per call: push runs per captured syscall).

  /** Feeds one captured call's bytes, in stream order. */
  push(chunk: Http1Chunk): void {
    try {
      this.pushChunk(chunk);
    } catch {
      this.recoverFromInternalError();
    }
  }

  /** The connection closed: finishes the message in progress (a body delimited by close ends here). */
  end(): void {
    try {
      this.finishStream();
    } catch {
      this.recoverFromInternalError();
      this.state = 'ended';
    }
  }

  /**
   * The connection learned whether the pending upgrade/CONNECT was accepted
   * (101, or 2xx to CONNECT). Accepted: the rest is opaque. Refused: held
   * bytes are parsed as HTTP/1 again.
   */
  setUpgradeOutcome(accepted: boolean): void {
    try {
      this.applyUpgradeOutcome(accepted);
    } catch {
      this.recoverFromInternalError();
    }
  }

  /** A bug, or a throwing callback: count it and start over rather than take the agent down. */
  private recoverFromInternalError(): void {
    this.issues.internalErrors++;
    if (this.state !== 'ended') this.state = 'start';
    this.held = undefined;
    this.dropHead();
    this.current = undefined;
    this.currentFramingGuessed = false;
    this.chunked = undefined;
    this.upgradeHold = undefined;
    this.window = IDLE_WINDOW;
    this.resyncing = true;
  }

  private pushChunk(chunk: Http1Chunk): void {
    if (this.state === 'ended') {
      this.issues.chunksAfterEnd++;
      return;
    }
    if (this.state === 'upgrade-pending') {
      this.holdForUpgrade(chunk, false);
      return;
    }
    const payload = Buffer.isBuffer(chunk.payload) ? chunk.payload : EMPTY;
    const bytes = Number.isSafeInteger(chunk.bytes) && chunk.bytes >= payload.length ? chunk.bytes : payload.length;
    const stamp = this.stampOf(chunk);
    // Without a usable position, the chunk is taken to follow on.
    const streamPos = typeof chunk.streamPos === 'bigint' ? chunk.streamPos : (this.expectedPos ?? 0n);
    let skip = 0;
    if (this.expectedPos === undefined) {
      // Whatever came before the first chunk we see is unknown, not lost.
      this.expectedPos = streamPos;
    } else if (streamPos > this.expectedPos) {
      this.loseBytes(streamPos - this.expectedPos, 'gap', stamp, (chunk as HeldChunk).lossCounted === true);
      if (this.upgradePending()) {
        // An upgrade request ended inside the gap; what followed it is held, this chunk too.
        this.holdForUpgrade(chunk, false);
        return;
      }
      this.expectedPos = streamPos;
    } else if (streamPos < this.expectedPos) {
      // Bytes we already had (a replayed or duplicated call): use only what is new.
      const overlap = this.expectedPos - streamPos;
      if (overlap >= BigInt(bytes)) return;
      skip = Number(overlap);
    }
    const captured = Math.min(payload.length, bytes);
    // The payload itself when all of it is new (nearly always): a subarray is an object per call.
    const data = skip >= captured ? EMPTY : skip === 0 && captured === payload.length ? payload : payload.subarray(skip, captured);
    const missing = bytes - Math.max(skip, captured);
    this.callCapturedWhole = missing === 0;
    if (data.length > 0 && !this.consume(data, stamp, missing)) {
      // Held for an upgrade: a gap before the next call cuts what this call ended with.
      this.lastStamp = stamp;
      return;
    }
    this.expectedPos += BigInt(data.length);
    // Only a message in progress (or held for an upgrade) needs it, when a gap cuts it: an idle connection keeps none.
    if (data.length > 0) this.lastStamp = this.betweenMessages() ? undefined : stamp;
    if (missing > 0) {
      this.loseBytes(BigInt(missing), 'uncaptured', stamp, (chunk as HeldChunk).lossCounted === true);
      // When an upgrade became pending, the uncaptured rest is held and expectedPos already points at it.
      if (!this.upgradePending()) this.expectedPos += BigInt(missing);
    }
  }

  /** A method, not an inline comparison: TypeScript would keep `state` narrowed across the calls that change it. */
  private upgradePending(): boolean {
    return this.state === 'upgrade-pending';
  }

  /** No message in progress and none held back: what a gap now cuts has no timestamps to take. */
  private betweenMessages(): boolean {
    return this.state === 'start' || this.state === 'opaque' || this.state === 'ended';
  }

  private stampOf(chunk: Http1Chunk): CallStamp {
    // Ingress: a read may block long before data arrives; bytes are known received when it returns.
    // Egress: the process started sending when it entered the call.
    return {
      firstNs: this.direction === 'egress' ? chunk.tsEnterNs : chunk.tsExitNs,
      lastNs: chunk.tsExitNs,
      tid: chunk.tid,
    };
  }

  /**
   * Parses one call's captured bytes. Returns false when it stopped early to
   * hold the rest for a pending upgrade (it then accounted for the call).
   */
  private consume(data: Buffer, stamp: CallStamp, missing: number): boolean {
    const window = spareWindows.pop() ?? new TimedWindow();
    this.window = window;
    const whole = this.consumeIn(data, stamp, missing);
    // The window viewed the caller's payload: let go of it (a thrown parse leaves it to the GC).
    window.release();
    if (this.window === window) this.window = IDLE_WINDOW;
    spareWindows.push(window);
    return whole;
  }

  private consumeIn(data: Buffer, stamp: CallStamp, missing: number): boolean {
    let buf: Buffer;
    let from = 0;
    if (this.state === 'head') {
      const next = this.continueHead(data, stamp);
      if (next === undefined) return true;
      if (next === 'rescan') {
        buf = this.window.set(this.takeHeld(), data, stamp);
      } else {
        buf = this.window.set(undefined, data, stamp);
        from = next;
      }
    } else {
      buf = this.window.set(this.takeHeld(), data, stamp);
    }
    const stoppedAt = this.run(buf, from);
    if (stoppedAt < 0) return true;
    // An upgrade request ended inside this call: keep the rest (and what was not captured) for later.
    const basePos = (this.expectedPos as bigint) - BigInt(this.window.heldPrefixLength);
    this.holdForUpgrade(this.chunkFrom(buf.subarray(stoppedAt), buf.length - stoppedAt + missing, basePos + BigInt(stoppedAt), stamp), true);
    return false;
  }

  /** A chunk standing for bytes already stamped, so a replay stamps them the same. */
  private chunkFrom(payload: Buffer, bytes: number, streamPos: bigint, stamp: CallStamp | undefined): HeldChunk {
    const chunk: HeldChunk = {
      payload,
      bytes,
      streamPos,
      // stampOf() gives back firstNs/lastNs from these in either direction (ingress: both are tsExitNs).
      tsEnterNs: stamp?.firstNs ?? 0n,
      tsExitNs: stamp?.lastNs ?? 0n,
    };
    if (stamp?.tid !== undefined) chunk.tid = stamp.tid;
    return chunk;
  }

  private takeHeld(): HeldBytes | undefined {
    const held = this.held;
    this.held = undefined;
    return held;
  }

  /**
   * The state machine over buf[from..]. Returns -1 when all bytes were used,
   * or the offset where it stopped because an upgrade is pending.
   */
  private run(buf: Buffer, from: number): number {
    let i = from;
    const end = buf.length;
    while (i < end) {
      switch (this.state) {
        case 'start':
          i = this.scanForStart(buf, i);
          break;
        case 'head':
          i = this.readHead(buf, i);
          break;
        case 'body-length': {
          const n = Math.min(this.bodyRemaining, end - i);
          this.bodyRemaining -= n;
          i += n;
          this.addBody(n, this.window.stampAt(i - 1));
          if (this.bodyRemaining === 0) this.finishMessage();
          break;
        }
        case 'body-chunked':
          i = this.readChunked(buf, i);
          break;
        case 'body-until-close':
          this.addBody(end - i, this.window.stampAt(end - 1));
          i = end;
          break;
        case 'body-until-resync':
          i = this.readBodyUntilStartLine(buf, i);
          break;
        case 'opaque':
          this.issues.opaqueBytes += end - i;
          i = end;
          break;
        case 'upgrade-pending':
          return i;
        case 'ended':
          i = end;
          break;
      }
    }
    return -1;
  }

  private scanForStart(buf: Buffer, i: number): number {
    const candidate = findStartLine(this.kind, buf, i, this.maxStartLineBytes);
    if (!candidate) {
      this.skip(buf.length - i);
      return buf.length;
    }
    if (candidate.index > i) this.skip(candidate.index - i);
    if (!candidate.complete) {
      this.held = this.window.hold(candidate.index);
      return buf.length;
    }
    this.state = 'head';
    return candidate.index;
  }

  /** Head starting at p in the current window. */
  private readHead(buf: Buffer, p: number): number {
    const bound = Math.min(buf.length, p + this.maxHeaderBytes);
    const search = findHeadEnd(buf, p, bound);
    if (search.found) {
      return this.completeHead(buf, p, search.end, this.window.stampAt(p), this.window.stampAt(search.end - 1)) ? search.end : p + 1;
    }
    if (buf.length - p >= this.maxHeaderBytes) {
      this.overflowHead(this.maxHeaderBytes);
      return p + this.maxHeaderBytes;
    }
    const head = (this.head ??= new ByteAccumulator());
    head.clear();
    head.append(buf, p, buf.length);
    this.headStamp = this.window.stampAt(p);
    this.headResumeAt = search.resumeAt - p;
    return buf.length;
  }

  /**
   * A head held from earlier calls meets a new call's bytes. Returns undefined
   * when all of data was absorbed, the offset in data to go on from, or
   * 'rescan' when the held head failed to parse and its bytes (minus the first)
   * are now held for scanning.
   */
  private continueHead(data: Buffer, stamp: CallStamp): number | 'rescan' | undefined {
    const head = (this.head ??= new ByteAccumulator());
    const before = head.length;
    const take = Math.min(data.length, this.maxHeaderBytes - before);
    head.append(data, 0, take);
    const view = head.view();
    const search = findHeadEnd(view, this.headResumeAt, view.length);
    const headStamp = this.headStamp ?? stamp;
    if (search.found) {
      // Dropped before parsing: `view` stays valid, and a head the parse leads to is accumulated afresh.
      this.dropHead();
      const ok = this.completeHead(view, 0, search.end, headStamp, stamp);
      if (ok) return search.end - before;
      // Not a head after all: scan again from its second byte, held bytes first.
      this.held = heldFromOneCall(view.subarray(1, before), headStamp);
      return 'rescan';
    }
    if (view.length >= this.maxHeaderBytes) {
      this.dropHead();
      this.overflowHead(this.maxHeaderBytes);
      return take;
    }
    this.headResumeAt = search.resumeAt;
    return undefined;
  }

  private overflowHead(dropped: number): void {
    this.issues.headerOverflows++;
    this.state = 'start';
    this.skip(dropped);
  }

  /**
   * Parses the head in buf[p, end) and starts its message. False when it does
   * not parse: the first byte is then counted as garbage and scanning goes on.
   */
  private completeHead(buf: Buffer, p: number, end: number, first: CallStamp, last: CallStamp): boolean {
    const head = parseHead(this.kind, buf, p, end, false);
    if (!head) {
      this.state = 'start';
      this.inErrorRun = false;
      this.skip(1);
      return false;
    }
    this.inErrorRun = false;
    this.resyncing = false;
    const outcome = this.beginMessage(head, end - p, first, last);
    this.state = 'start';
    if (!outcome || outcome.kind === 'interim') return true;
    this.current = outcome.message;
    this.currentAfter = outcome.after;
    this.currentFramingGuessed = outcome.framingGuessed === true;
    this.startBody(outcome.framing);
    return true;
  }

  private startBody(framing: BodyFraming): void {
    const message = this.current as M;
    switch (framing.kind) {
      case 'none':
        this.finishMessage();
        break;
      case 'length':
        this.bodyRemaining = framing.length;
        this.state = 'body-length';
        break;
      case 'chunked':
        message.chunked = true;
        this.chunked = new ChunkedBodyDecoder(this.maxHeaderBytes);
        this.state = 'body-chunked';
        break;
      case 'until-close':
        this.state = 'body-until-close';
        break;
      case 'until-resync':
        message.truncated = true;
        this.state = 'body-until-resync';
        break;
    }
  }

  private readChunked(buf: Buffer, i: number): number {
    const chunked = (this.chunked ??= new ChunkedBodyDecoder(this.maxHeaderBytes));
    const next = chunked.consume(buf, i);
    if (next > i) this.addBody(next - i, this.window.stampAt(next - 1));
    if (chunked.done) {
      this.finishMessage();
    } else if (chunked.failed) {
      // Malformed chunk framing: end the message here and treat what follows as unknown bytes.
      this.issues.parseErrorEvents++;
      (this.current as M).truncated = true;
      this.finishMessage();
    }
    return next;
  }

  /** Framing lost: everything up to the next start line is this message's body. */
  private readBodyUntilStartLine(buf: Buffer, i: number): number {
    const candidate = findStartLine(this.kind, buf, i, this.maxStartLineBytes);
    if (candidate?.complete) {
      if (candidate.index > i) this.addBody(candidate.index - i, this.window.stampAt(candidate.index - 1));
      this.finishMessage();
      return candidate.index;
    }
    const stop = candidate ? candidate.index : buf.length;
    if (stop > i) this.addBody(stop - i, this.window.stampAt(stop - 1));
    if (candidate) {
      this.held = this.window.hold(candidate.index);
    } else if ((this.current as M).chunked && this.callCapturedWhole && endsWithLastChunk(buf)) {
      // A whole call ending with the last-chunk marker most likely ended the body.
      this.finishMessage();
    }
    return buf.length;
  }

  private addBody(n: number, stamp: CallStamp | undefined): void {
    const message = this.current;
    if (!message || n <= 0) return;
    message.bodyBytes += n;
    if (stamp) message.lastByteNs = stamp.lastNs;
  }

  private finishMessage(): void {
    const message = this.current;
    if (!message) return;
    this.current = undefined;
    if (message.chunked && this.chunked?.done) message.trailers = this.chunked.trailers();
    this.chunked = undefined;
    this.state = this.stateAfter(this.currentAfter);
    this.currentAfter = 'continue';
    this.currentFramingGuessed = false;
    this.messages++;
    if (message.truncated) this.truncatedMessages++;
    this.options.onMessage(message);
  }

  private stateAfter(after: AfterMessage): ParserState {
    if (after === 'tunnel') return 'opaque';
    if (after === 'continue') return 'start';
    const outcome = this.upgradeOutcome;
    this.upgradeOutcome = undefined;
    if (outcome === undefined) return 'upgrade-pending';
    return outcome ? 'opaque' : 'start';
  }

  /** Skipped bytes: parse errors, unless they are what is left of a loss. */
  private skip(n: number): void {
    if (n <= 0) return;
    if (this.resyncing) {
      this.issues.resyncSkippedBytes += n;
      return;
    }
    this.issues.parseErrorBytes += n;
    if (!this.inErrorRun) {
      this.issues.parseErrorEvents++;
      this.inErrorRun = true;
    }
  }

  private markLostSync(): void {
    this.resyncing = true;
    this.inErrorRun = false;
    this.options.onLostSync?.();
  }

  /** `count` bytes at expectedPos were moved but never seen (a gap, or beyond a captured prefix). */
  private loseBytes(count: bigint, cause: 'gap' | 'uncaptured', stamp: CallStamp, alreadyCounted: boolean): void {
    const missing = count > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(count);
    if (!alreadyCounted) {
      if (cause === 'gap') {
        this.issues.gaps++;
        this.issues.gapBytes += missing;
      } else {
        this.issues.uncapturedBytes += missing;
      }
    }
    // Bytes cut from this call end with it; bytes lost in a gap ended some time before it.
    this.absorbMissing(missing, this.expectedPos ?? 0n, cause, cause === 'uncaptured' ? stamp : this.lastStamp);
  }

  /** `missing` bytes starting at stream position `pos`, given to whatever the current state is. */
  private absorbMissing(missing: number, pos: bigint, cause: 'gap' | 'uncaptured', stamp: CallStamp | undefined): void {
    const message = this.current;
    if (message && cause === 'gap' && this.currentFramingGuessed && (this.state === 'body-length' || this.state === 'body-chunked')) {
      // A declared length nothing vouches for would make whatever follows the
      // gap body by count, later messages included: the body ends at the next
      // start line instead, and messages may have been lost in the gap.
      message.truncated = true;
      this.addBody(missing, stamp);
      this.state = 'body-until-resync';
      this.markLostSync();
      return;
    }
    switch (this.state) {
      case 'start':
        this.dropHeld();
        this.markLostSync();
        return;
      case 'head':
        if (cause === 'uncaptured') {
          this.startFromCutHead(missing, stamp);
        } else {
          this.issues.discardedPartialMessages++;
          this.issues.resyncSkippedBytes += this.head?.length ?? 0;
          this.dropHead();
          this.state = 'start';
          this.markLostSync();
        }
        return;
      case 'body-length': {
        if (!message) return;
        const n = Math.min(this.bodyRemaining, missing);
        this.bodyRemaining -= n;
        message.truncated = true;
        this.addBody(n, stamp);
        if (this.bodyRemaining === 0) this.finishMessage();
        if (missing > n) this.absorbMissing(missing - n, pos + BigInt(n), cause, stamp);
        return;
      }
      case 'body-chunked': {
        if (!message) return;
        const n = (this.chunked ??= new ChunkedBodyDecoder(this.maxHeaderBytes)).skipMissing(missing);
        message.truncated = true;
        this.addBody(n, stamp);
        if (n === missing) return;
        if (cause === 'uncaptured') {
          // The rest of this call is most likely more of this body: keep it until a start line shows.
          this.addBody(missing - n, stamp);
          this.state = 'body-until-resync';
        } else {
          this.finishMessage();
          this.absorbMissing(missing - n, pos + BigInt(n), cause, stamp);
        }
        return;
      }
      case 'body-until-close':
        if (!message) return;
        message.truncated = true;
        this.addBody(missing, stamp);
        return;
      case 'body-until-resync':
        if (!message) return;
        this.absorbHeldIntoBody();
        message.truncated = true;
        if (cause === 'uncaptured') {
          this.addBody(missing, stamp);
        } else {
          this.finishMessage();
          this.absorbMissing(missing, pos, cause, stamp);
        }
        return;
      case 'opaque':
        this.issues.opaqueBytes += missing;
        return;
      case 'upgrade-pending': {
        const chunk = this.chunkFrom(EMPTY, missing, pos, stamp);
        chunk.lossCounted = true;
        this.holdForUpgrade(chunk, true);
        return;
      }
      case 'ended':
        return;
    }
  }

  /**
   * The call holding the rest of a head was cut by the capture limit. The
   * start line (and whole header lines) are known, so the message is kept,
   * truncated: a request lost here would leave its response unpaired. What
   * was not captured counts as body; the body ends at the next start line.
   */
  private startFromCutHead(missing: number, stamp: CallStamp | undefined): void {
    const view = this.head?.view() ?? EMPTY;
    const head = parseHead(this.kind, view, 0, view.length, true);
    const first = this.headStamp ?? stamp;
    const headerBytes = view.length;
    this.dropHead();
    this.state = 'start';
    const outcome = head && first ? this.beginMessage(head, headerBytes, first, stamp ?? first) : undefined;
    if (!outcome || outcome.kind === 'interim') {
      this.issues.discardedPartialMessages++;
      this.markLostSync();
      return;
    }
    this.inErrorRun = false;
    this.resyncing = false;
    this.current = outcome.message;
    this.currentAfter = outcome.after;
    this.currentFramingGuessed = outcome.framingGuessed === true;
    outcome.message.truncated = true;
    this.addBody(missing, stamp);
    this.state = 'body-until-resync';
  }

  /** A head held across calls is done with (parsed, dropped or given up): its memory goes. */
  private dropHead(): void {
    this.head = undefined;
    this.headStamp = undefined;
  }

  private dropHeld(): void {
    const held = this.takeHeld();
    if (held) this.skip(held.bytes.length);
  }

  private absorbHeldIntoBody(): void {
    const held = this.takeHeld();
    if (held) this.addBody(held.bytes.length, lastStampOf(held));
  }

  /**
   * Keeps a chunk until the upgrade's fate is known. `continuation`: the chunk
   * was cut from what this parser was already consuming, so it continues the
   * stream exactly; the first one sets where a replay must resume.
   */
  private holdForUpgrade(chunk: HeldChunk, continuation: boolean): void {
    const hold = (this.upgradeHold ??= new UpgradeHold(this.maxHeaderBytes));
    if (continuation && hold.isEmpty) this.expectedPos = chunk.streamPos;
    if (hold.add(chunk)) {
      // Nobody told us in time. Guess from the bytes: a start line means HTTP/1 went on.
      const candidate = findStartLine(this.kind, hold.firstPayload(), 0, this.maxStartLineBytes);
      this.applyUpgradeOutcome(!(candidate && candidate.index === 0));
    }
  }

  private applyUpgradeOutcome(accepted: boolean): void {
    if (this.state !== 'upgrade-pending') {
      if (this.current && this.currentAfter === 'await-upgrade') this.upgradeOutcome = accepted;
      return;
    }
    const held = this.upgradeHold?.takeAll() ?? [];
    this.upgradeHold = undefined;
    if (accepted) {
      this.state = 'opaque';
      for (const chunk of held) {
        this.issues.opaqueBytes += chunk.bytes;
        this.expectedPos = chunk.streamPos + BigInt(chunk.bytes);
      }
      return;
    }
    this.state = 'start';
    for (const chunk of held) this.pushChunk(chunk);
  }

  private finishStream(): void {
    switch (this.state) {
      case 'start':
        this.dropHeld();
        break;
      case 'head':
        this.issues.discardedPartialMessages++;
        this.dropHead();
        break;
      case 'body-length':
      case 'body-chunked':
        if (this.current) this.current.truncated = true;
        this.finishMessage();
        break;
      case 'body-until-close':
        this.finishMessage();
        break;
      case 'body-until-resync':
        this.absorbHeldIntoBody();
        this.finishMessage();
        break;
      case 'upgrade-pending':
      case 'opaque':
      case 'ended':
        break;
    }
    this.upgradeHold = undefined;
    this.chunked = undefined;
    this.current = undefined;
    this.state = 'ended';
  }
}

/** "...\n0\r\n\r\n" or a call that is exactly "0\r\n\r\n": the last-chunk marker with no trailers. */
function endsWithLastChunk(buf: Buffer): boolean {
  const n = buf.length;
  if (n < 5) return false;
  if (buf[n - 5] !== 0x30 || buf[n - 4] !== 0x0d || buf[n - 3] !== 0x0a || buf[n - 2] !== 0x0d || buf[n - 1] !== 0x0a) return false;
  return n === 5 || buf[n - 6] === 0x0a;
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
