/**
 * Chunks kept while a request direction waits to learn whether an Upgrade or
 * CONNECT was accepted. Until the response says, the bytes after such a
 * request may be HTTP/1 (refused: parse them) or another protocol (accepted:
 * skip them), so they are copied and kept, within bounds.
 */
import type { Http1Chunk } from './types.js';

/** A kept chunk. */
export interface HeldChunk extends Http1Chunk {
  /** It stands for bytes whose loss was already counted (it holds no captured bytes). */
  lossCounted?: boolean;
}

const MAX_CHUNKS = 64;
const EMPTY = Buffer.alloc(0);

export class UpgradeHold {
  private chunks: HeldChunk[] = [];
  private capturedBytes = 0;

  constructor(private readonly maxCapturedBytes: number) {}

  get isEmpty(): boolean {
    return this.chunks.length === 0;
  }

  /** Copies and keeps a chunk (the caller may reuse its buffers). True when the bounds are exceeded: decide now. */
  add(chunk: HeldChunk): boolean {
    const payload = Buffer.isBuffer(chunk.payload) ? chunk.payload : EMPTY;
    const bytes = Number.isSafeInteger(chunk.bytes) && chunk.bytes >= payload.length ? chunk.bytes : payload.length;
    this.chunks.push({ ...chunk, payload: Buffer.from(payload), bytes });
    this.capturedBytes += payload.length;
    return this.chunks.length > MAX_CHUNKS || this.capturedBytes > this.maxCapturedBytes;
  }

  /** The first captured bytes kept, for guessing when nobody tells. */
  firstPayload(): Buffer {
    return this.chunks.find((c) => c.payload.length > 0)?.payload ?? EMPTY;
  }

  takeAll(): HeldChunk[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.capturedBytes = 0;
    return chunks;
  }
}
