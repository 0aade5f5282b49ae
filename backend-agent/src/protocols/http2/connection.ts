/**
 * One HTTP/2 connection as an observer sees it: a frame reader and an HPACK
 * decoder per direction, header blocks assembled from HEADERS/PUSH_PROMISE
 * and CONTINUATION frames, and per-stream state that becomes one exchange
 * per stream.
 *
 * Whether a direction's HPACK state is known is decided at its first header
 * block: the client's is known when its bytes began with the connection
 * preface; the server's when, besides, its first frame was the SETTINGS that
 * opens every server's side. Otherwise the decoder starts desynchronised and
 * reports only what it can know (hpack-decoder.ts). Bytes lost later (a
 * large message cut by the capture) cost a direction its table only when
 * they may have held a header block (gap-audit.ts).
 */
import type { Direction } from '../../model/events.js';
import { Flag, FrameType, MAX_FRAME_SIZE_LIMIT, DEFAULT_MAX_FRAME_SIZE, Setting } from './constants.js';
import { frameHeaderProblem } from './frame-header.js';
import { FrameReader, type Frame } from './frame-reader.js';
import { GapAudit, type OpenStream, type SideBefore } from './gap-audit.js';
import { headerValue } from './grpc.js';
import { HpackDecoder } from './hpack-decoder.js';
import { newStream, parseStatus, toMessage, toResponse, touch, type MessageState, type Side, type StreamRecord } from './stream-state.js';
import { emptyCounters, type HeaderField, type Http2Counters, type Http2DirectedChunk, type Http2Exchange, type MissingResponseReason } from './types.js';

/** Pushed stream ids remembered per connection. */
const MAX_PUSHED_IDS = 4096;

export interface Http2ConnectionOptions {
  /** Which side the observed process is: decides which direction carries requests. */
  role: 'client' | 'server';
  onExchange: (exchange: Http2Exchange) => void;
  /** Open streams tracked before the oldest is given up (default 512). */
  maxStreams?: number;
}

interface PendingBlock {
  kind: 'headers' | 'push';
  streamId: number;
  endStream: boolean;
  parts: Buffer[];
  complete: boolean;
  /** Wire bytes of the frames carrying the block (frame headers and padding included). */
  frameBytes: number;
  firstByteNs: bigint;
  tid: number | undefined;
}

const DEFAULT_MAX_STREAMS = 512;
const MAX_BLOCK_BYTES = 1024 * 1024;

export class Http2Connection {
  private readonly counters: Http2Counters = emptyCounters();
  private readonly readers: Record<Side, FrameReader>;
  private readonly decoders: Record<Side, HpackDecoder> = {
    client: new HpackDecoder({ synced: true }),
    server: new HpackDecoder({ synced: true }),
  };
  private readonly hpackDecided: Record<Side, boolean> = { client: false, server: false };
  private readonly blocks: Record<Side, PendingBlock | undefined> = { client: undefined, server: undefined };
  /** Lost bytes whose effect on a side's table is judged at its next header block. */
  private readonly audits: Record<Side, GapAudit | undefined> = { client: undefined, server: undefined };
  /** Every request seen was gRPC (and there was one), and nothing was pushed: gap-audit.ts applies. */
  private grpcRequests = 0;
  private otherTraffic = false;
  private serverFirstFrameWasSettings: boolean | undefined;
  private readonly streams = new Map<number, StreamRecord>();
  /** Highest stream id whose request header block was seen: frames on lower ids not tracked are late. */
  private highestOpened = 0;
  private readonly pushed = new Set<number>();
  private nextIndex = 0;
  private lastNs = 0n;
  private closedAt: bigint | undefined;
  private readonly clientDirection: Direction;

  constructor(private readonly options: Http2ConnectionOptions) {
    this.clientDirection = options.role === 'client' ? 'egress' : 'ingress';
    const serverDirection: Direction = this.clientDirection === 'egress' ? 'ingress' : 'egress';
    const reader = (side: Side, direction: Direction): FrameReader =>
      new FrameReader({
        direction,
        clientToServer: side === 'client',
        counters: this.counters,
        onFrame: (frame) => this.onFrame(side, frame),
        onLostSync: (cutHeaderBlock) => this.onLostSync(side, cutHeaderBlock),
      });
    this.readers = { client: reader('client', this.clientDirection), server: reader('server', serverDirection) };
  }

  onData(chunk: Http2DirectedChunk): void {
    try {
      if (this.closedAt !== undefined) return;
      if (typeof chunk.tsExitNs === 'bigint' && chunk.tsExitNs > this.lastNs) this.lastNs = chunk.tsExitNs;
      const side: Side = chunk.direction === this.clientDirection ? 'client' : 'server';
      this.readers[side].push(chunk);
    } catch {
      this.counters.internalErrors++;
    }
  }

  /** The connection closed: open streams become exchanges, complete or not. */
  onClose(tsNs: bigint): void {
    try {
      if (this.closedAt !== undefined) return;
      this.closedAt = tsNs;
      for (const stream of [...this.streams.values()]) this.finish(stream, 'closed');
    } catch {
      this.counters.internalErrors++;
    }
  }

  /** Streams waiting longer than maxAgeNs for a response are reported without one; 0 reports every open stream. */
  flush(nowNs: bigint, maxAgeNs: bigint): void {
    try {
      for (const stream of [...this.streams.values()]) {
        const since = stream.request.firstByteNs ?? stream.response.firstByteNs;
        if (maxAgeNs === 0n) {
          this.finish(stream, 'timeout');
        } else if (since !== undefined && nowNs - since > maxAgeNs && !stream.response.headersSeen) {
          this.finish(stream, 'timeout');
        }
      }
    } catch {
      this.counters.internalErrors++;
    }
  }

  snapshot(): Http2Counters {
    return { ...this.counters, framesByType: { ...this.counters.framesByType } };
  }

  // -------------------------------------------------------------- frames

  private onFrame(side: Side, frame: Frame): void {
    const { header } = frame;
    if (side === 'server' && this.serverFirstFrameWasSettings === undefined) {
      this.serverFirstFrameWasSettings =
        this.readers.server.startedAtFirstByte && header.type === FrameType.SETTINGS && (header.flags & Flag.ACK) === 0;
    }
    this.audits[side]?.frame(frame.lastByteNs);
    const pending = this.blocks[side];
    if (pending && (header.type !== FrameType.CONTINUATION || header.streamId !== pending.streamId)) {
      // Nothing may come between a header block's frames (RFC 9113 6.10).
      this.counters.malformedFrames++;
      this.blocks[side] = undefined;
      this.decoders[side].desync();
    }
    switch (header.type) {
      case FrameType.DATA:
        this.onDataFrame(side, frame);
        break;
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE:
        this.onHeaderBlockStart(side, frame);
        break;
      case FrameType.CONTINUATION:
        this.onContinuation(side, frame);
        break;
      case FrameType.RST_STREAM:
        this.onReset(side, frame);
        break;
      case FrameType.SETTINGS:
        this.onSettings(side, frame);
        break;
      case FrameType.GOAWAY:
        this.onGoaway(side, frame);
        break;
      default:
        // PRIORITY, PING, WINDOW_UPDATE and unknown types say nothing about exchanges.
        if (frameProblem(frame)) this.counters.malformedFrames++;
    }
  }

  private onDataFrame(side: Side, frame: Frame): void {
    const { header } = frame;
    if (header.streamId === 0) {
      this.counters.malformedFrames++;
      return;
    }
    this.audits[side]?.data(header.streamId);
    const stream = this.streamFor(header.streamId);
    if (!stream) return;
    const m = message(stream, side);
    let content = header.length;
    if (header.flags & Flag.PADDED) {
      const padLength = frame.payload.length > 0 ? (frame.payload[0] as number) : 0;
      if (padLength >= header.length) {
        this.counters.malformedFrames++;
        content = 0;
      } else {
        content = header.length - 1 - padLength;
      }
    }
    m.bodyBytes += content;
    m.headerBytes += 9 + header.length - content;
    touch(m, frame.firstByteNs, frame.lastByteNs, frame.tid);
    if (!frame.complete) stream.truncated = true;
    if (header.flags & Flag.END_STREAM) this.endSide(stream, side);
  }

  private onHeaderBlockStart(side: Side, frame: Frame): void {
    const { header, payload } = frame;
    const isPush = header.type === FrameType.PUSH_PROMISE;
    if (header.streamId === 0 || (isPush && side === 'client')) {
      this.counters.malformedFrames++;
      this.decoders[side].desync();
      return;
    }
    let offset = 0;
    let padLength = 0;
    if (header.flags & Flag.PADDED) {
      padLength = payload.length > 0 ? (payload[0] as number) : 0;
      offset = 1;
    }
    let promisedId = 0;
    if (isPush) {
      promisedId = payload.length >= offset + 4 ? payload.readUInt32BE(offset) & 0x7fffffff : 0;
      offset += 4;
    } else if (header.flags & Flag.PRIORITY) {
      offset += 5;
    }
    const blockEnd = header.length - padLength;
    if (blockEnd < offset) {
      // Padding longer than the frame: the block cannot be found, so its effect on the table is unknown.
      this.counters.malformedFrames++;
      this.decoders[side].desync();
      if (!isPush && header.flags & Flag.END_STREAM) {
        const stream = this.streamFor(header.streamId);
        if (stream) this.endSide(stream, side);
      }
      return;
    }
    if (isPush) {
      // Bounded: a long-lived or hostile connection promises without end. Past
      // the cap the oldest ids are forgotten (their late frames then count as late).
      if (this.pushed.size >= MAX_PUSHED_IDS) this.pushed.delete(this.pushed.values().next().value as number);
      this.pushed.add(promisedId);
    }
    const fragment = payload.subarray(Math.min(offset, payload.length), Math.min(blockEnd, payload.length));
    const block: PendingBlock = {
      kind: isPush ? 'push' : 'headers',
      streamId: header.streamId,
      endStream: !isPush && (header.flags & Flag.END_STREAM) !== 0,
      parts: [fragment],
      complete: frame.complete,
      frameBytes: 9 + header.length,
      firstByteNs: frame.firstByteNs,
      tid: frame.tid,
    };
    if (header.flags & Flag.END_HEADERS) this.completeBlock(side, block, frame);
    else this.blocks[side] = block;
  }

  private onContinuation(side: Side, frame: Frame): void {
    const block = this.blocks[side];
    if (!block) {
      // A CONTINUATION of a block we did not see (stray, or its start was lost).
      this.counters.malformedFrames++;
      this.decoders[side].desync();
      return;
    }
    block.parts.push(frame.payload);
    block.frameBytes += 9 + frame.header.length;
    if (!frame.complete) block.complete = false;
    if (block.frameBytes > MAX_BLOCK_BYTES) {
      this.blocks[side] = undefined;
      this.decoders[side].desync();
      this.counters.malformedFrames++;
      return;
    }
    if (frame.header.flags & Flag.END_HEADERS) {
      this.blocks[side] = undefined;
      this.completeBlock(side, block, frame);
    }
  }

  private completeBlock(side: Side, block: PendingBlock, last: Frame): void {
    this.decideHpack(side);
    this.judgeGap(side, block);
    const decoder = this.decoders[side];
    const wasSynced = decoder.isSynced;
    const result = decoder.decode(block.parts.length === 1 ? (block.parts[0] as Buffer) : Buffer.concat(block.parts), block.complete);
    if (result.error) this.counters.hpackErrors++;
    if (result.unknownFields > 0 || result.partial || (result.error && !wasSynced)) {
      this.counters.degradedHeaderBlocks++;
      this.counters.unknownHeaderFields += result.unknownFields;
    }
    if (block.kind === 'push') {
      this.counters.pushedStreams++;
      this.otherTraffic = true;
      return;
    }
    const stream = this.streamFor(block.streamId, side === 'client');
    if (!stream) return;
    const m = message(stream, side);
    m.headerBytes += block.frameBytes;
    m.unknownFields += result.unknownFields + (result.partial || result.error ? 1 : 0);
    if (!block.complete) stream.truncated = true;
    touch(m, block.firstByteNs, last.lastByteNs, block.tid);
    if (side === 'client') {
      if (!m.headersSeen) {
        m.headersSeen = true;
        m.headers = result.fields;
        this.noteRequest(result.fields, result.unknownFields > 0 || result.partial || result.error !== undefined);
        stream.index ??= this.nextIndex++;
        if (stream.id > this.highestOpened) this.highestOpened = stream.id;
      } else {
        m.trailers = result.fields;
      }
    } else if (!m.headersSeen) {
      const status = parseStatus(result.fields);
      if (status !== undefined && status < 200) {
        stream.interimStatuses.push(status);
      } else {
        m.headersSeen = true;
        m.headers = result.fields;
        stream.status = status;
      }
    } else {
      m.trailers = result.fields;
    }
    if (block.endStream) this.endSide(stream, side);
  }

  private onReset(side: Side, frame: Frame): void {
    if (frameProblem(frame) || frame.payload.length < 4) {
      this.counters.malformedFrames++;
      return;
    }
    this.counters.resets++;
    const stream = this.streamFor(frame.header.streamId);
    if (!stream) return;
    stream.reset = { code: frame.payload.readUInt32BE(0), by: side };
    touch(message(stream, side), frame.firstByteNs, frame.lastByteNs, frame.tid);
    this.finish(stream, 'reset');
  }

  private onSettings(side: Side, frame: Frame): void {
    const { header, payload } = frame;
    if (frameProblem(frame)) {
      this.counters.malformedFrames++;
      return;
    }
    if (header.flags & Flag.ACK) return;
    for (let at = 0; at + 6 <= payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      // A receiver's MAX_FRAME_SIZE bounds what the other side sends it.
      if (id === Setting.MAX_FRAME_SIZE && value >= DEFAULT_MAX_FRAME_SIZE && value <= MAX_FRAME_SIZE_LIMIT) {
        this.readers[other(side)].maxFrameSize = value;
      }
    }
  }

  private onGoaway(side: Side, frame: Frame): void {
    if (frameProblem(frame) || frame.payload.length < 4) {
      this.counters.malformedFrames++;
      return;
    }
    this.counters.goaways++;
    if (side !== 'server') return; // a client's GOAWAY refuses pushes only, which we do not report
    const lastStreamId = frame.payload.readUInt32BE(0) & 0x7fffffff;
    // Streams above the last one the server will process were never processed (RFC 9113 6.8).
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStreamId && stream.id % 2 === 1) this.finish(stream, 'goaway');
    }
  }

  // -------------------------------------------------------------- streams

  /** The record for a stream, created on first sight; undefined for late frames and pushed streams. */
  private streamFor(id: number, opening = false): StreamRecord | undefined {
    const existing = this.streams.get(id);
    if (existing) return existing;
    if (this.pushed.has(id)) return undefined;
    if (id <= this.highestOpened && !opening) {
      this.counters.lateFrames++;
      return undefined;
    }
    const stream = newStream(id);
    this.streams.set(id, stream);
    const max = this.options.maxStreams !== undefined && this.options.maxStreams > 0 ? this.options.maxStreams : DEFAULT_MAX_STREAMS;
    if (this.streams.size > max) {
      const oldest = this.streams.values().next().value as StreamRecord;
      this.finish(oldest, 'evicted');
    }
    return stream;
  }

  private endSide(stream: StreamRecord, side: Side): void {
    message(stream, side).ended = true;
    if (stream.request.ended && stream.response.ended) this.finish(stream, undefined);
  }

  private onLostSync(side: Side, cutHeaderBlock: boolean): void {
    for (const stream of this.streams.values()) stream.truncated = true;
    const decoder = this.decoders[side];
    const auditable = !cutHeaderBlock && !this.blocks[side] && this.hpackDecided[side] && decoder.isSynced && this.isGrpcOnly();
    this.blocks[side] = undefined;
    this.hpackDecided[side] = true;
    if (!auditable) {
      // Header blocks may be among the lost frames: the table is unknown from here.
      this.audits[side] = undefined;
      if (decoder.isSynced) this.counters.hpackLostToGaps++;
      decoder.desync();
      return;
    }
    const before = new Map<number, SideBefore>();
    for (const stream of this.streams.values()) {
      const m = message(stream, side);
      if (!m.ended) before.set(stream.id, { headersSeen: m.headersSeen });
    }
    this.audits[side] = new GapAudit(side, before, this.highestOpened);
  }

  /** A header block of `side` is about to be decoded: whether the table survived that side's last gap. */
  private judgeGap(side: Side, block: PendingBlock): void {
    const audit = this.audits[side];
    if (!audit) return;
    this.audits[side] = undefined;
    const open: OpenStream[] = [...this.streams.values()].map((s) => ({
      id: s.id,
      ended: message(s, side).ended,
      requestSeen: s.request.headersSeen,
      requestFirstNs: s.request.firstByteNs,
    }));
    if (block.kind === 'headers' && this.isGrpcOnly() && audit.cleared(block.streamId, block.endStream, open)) {
      this.counters.hpackKeptAcrossGaps++;
      return;
    }
    this.counters.hpackLostToGaps++;
    this.decoders[side].desync();
  }

  private noteRequest(fields: readonly HeaderField[], degraded: boolean): void {
    const contentType = headerValue(fields, 'content-type');
    if (contentType !== undefined && /^application\/grpc(?:[+;]|$)/i.test(contentType)) this.grpcRequests++;
    else if (!degraded) this.otherTraffic = true;
  }

  private isGrpcOnly(): boolean {
    return this.grpcRequests > 0 && !this.otherTraffic;
  }

  private decideHpack(side: Side): void {
    if (this.hpackDecided[side]) return;
    this.hpackDecided[side] = true;
    const client = this.readers.client;
    const clientFromStart = client.prefaceSeen && client.startedAtFirstByte;
    const fromStart = side === 'client' ? clientFromStart : clientFromStart && this.serverFirstFrameWasSettings === true;
    if (!fromStart) this.decoders[side].desync();
  }

  private finish(stream: StreamRecord, reason: MissingResponseReason | undefined): void {
    this.streams.delete(stream.id);
    if (!stream.request.headersSeen) {
      // Opened before we joined (or its request header block was lost): what we saw of it has no start.
      this.counters.orphanStreams++;
      return;
    }
    const fallbackNs = stream.request.firstByteNs ?? this.lastNs;
    const complete = stream.response.headersSeen && stream.response.ended && stream.request.ended;
    const exchange: Http2Exchange = {
      streamId: stream.id,
      index: stream.index as number,
      request: toMessage(stream.request, fallbackNs),
      response: stream.response.headersSeen ? toResponse(stream, fallbackNs) : undefined,
      incomplete: complete ? undefined : (reason ?? 'closed'),
      reset: stream.reset,
      truncated: stream.truncated,
    };
    this.counters.exchanges++;
    if (!exchange.response) this.counters.exchangesWithoutResponse++;
    try {
      this.options.onExchange(exchange);
    } catch {
      this.counters.internalErrors++;
    }
  }
}

function message(stream: StreamRecord, side: Side): MessageState {
  return side === 'client' ? stream.request : stream.response;
}

function other(side: Side): Side {
  return side === 'client' ? 'server' : 'client';
}

/** Fixed-size and stream-0 rules for control frames. */
function frameProblem(frame: Frame): boolean {
  return frameHeaderProblem(frame.header) !== undefined;
}
