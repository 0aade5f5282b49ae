/**
 * Follows a chunked body (RFC 9112 section 7.1) across chunks of captured
 * bytes: chunk-size lines byte by byte (they are short), chunk data by count
 * (never looked at), then trailer lines. It also skips bytes that were not
 * captured, by count, for as long as they fall inside chunk data and its
 * closing CRLF: past that the next size line is unknown and sync is lost.
 */
import { CR, HTAB, LF, SEMICOLON, SP, hexDigitValue } from './ascii.js';
import { ByteAccumulator } from './byte-accumulator.js';
import { parseFieldLines } from './head.js';
import type { HeaderField } from './types.js';

type ChunkedState =
  | 'size'
  | 'size-extension'
  | 'size-lf'
  | 'data'
  | 'data-cr'
  | 'data-lf'
  | 'trailer-line-start'
  | 'trailer-line'
  | 'end-lf'
  | 'done'
  | 'failed';

/** 13 hex digits is 2^52: more than any real chunk and still an exact JS number. */
const MAX_SIZE_DIGITS = 13;
/** Chunk extensions are almost never sent; a long one means we are not reading a size line. */
const MAX_EXTENSION_BYTES = 4096;

export class ChunkedBodyDecoder {
  private state: ChunkedState = 'size';
  private sizeDigits = 0;
  private size = 0;
  private remaining = 0;
  private extensionBytes = 0;
  /** Only once a trailer line shows up: nearly every chunked body has none. */
  private trailerBytes: ByteAccumulator | undefined;

  constructor(private readonly maxTrailerBytes: number) {}

  reset(): void {
    this.state = 'size';
    this.sizeDigits = 0;
    this.size = 0;
    this.remaining = 0;
    this.extensionBytes = 0;
    this.trailerBytes = undefined;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  get failed(): boolean {
    return this.state === 'failed';
  }

  /** Consumes buf[from..] up to the end of the body (or of buf); returns the offset reached. */
  consume(buf: Buffer, from: number): number {
    const end = buf.length;
    let i = from;
    while (i < end) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, end - i);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'size': {
          const b = buf[i] as number;
          const digit = hexDigitValue(b);
          if (digit >= 0) {
            if (++this.sizeDigits > MAX_SIZE_DIGITS) return this.fail(i);
            this.size = this.size * 16 + digit;
            i++;
          } else if (this.sizeDigits === 0) {
            return this.fail(i);
          } else if (b === SEMICOLON || b === SP || b === HTAB) {
            this.state = 'size-extension';
            i++;
          } else if (b === CR) {
            this.state = 'size-lf';
            i++;
          } else if (b === LF) {
            i++;
            this.endSizeLine();
          } else {
            return this.fail(i);
          }
          break;
        }
        case 'size-extension': {
          const lf = buf.indexOf(LF, i);
          const stop = lf < 0 ? end : lf;
          this.extensionBytes += stop - i;
          if (this.extensionBytes > MAX_EXTENSION_BYTES) return this.fail(i);
          i = stop;
          if (lf >= 0) {
            i++;
            this.endSizeLine();
          }
          break;
        }
        case 'size-lf':
          if (buf[i] !== LF) return this.fail(i);
          i++;
          this.endSizeLine();
          break;
        case 'data-cr': {
          const b = buf[i];
          if (b === CR) this.state = 'data-lf';
          else if (b === LF) this.startSizeLine();
          else return this.fail(i);
          i++;
          break;
        }
        case 'data-lf':
          if (buf[i] !== LF) return this.fail(i);
          i++;
          this.startSizeLine();
          break;
        case 'trailer-line-start': {
          const b = buf[i];
          if (b === CR) {
            this.state = 'end-lf';
            i++;
          } else if (b === LF) {
            this.state = 'done';
            return i + 1;
          } else {
            this.state = 'trailer-line';
          }
          break;
        }
        case 'trailer-line': {
          const lf = buf.indexOf(LF, i);
          const stop = lf < 0 ? end : lf + 1;
          const trailer = (this.trailerBytes ??= new ByteAccumulator());
          if (trailer.length + (stop - i) > this.maxTrailerBytes) return this.fail(i);
          trailer.append(buf, i, stop);
          i = stop;
          if (lf >= 0) this.state = 'trailer-line-start';
          break;
        }
        case 'end-lf':
          if (buf[i] !== LF) return this.fail(i);
          this.state = 'done';
          return i + 1;
        case 'done':
        case 'failed':
          return i;
      }
    }
    return i;
  }

  /**
   * Accounts for `missing` bytes that were moved but not captured. Returns how
   * many of them fell where the framing is known (chunk data and the CRLF
   * after it); if fewer than `missing`, the decoder no longer knows where it is.
   */
  skipMissing(missing: number): number {
    let left = missing;
    if (this.state === 'data') {
      const n = Math.min(this.remaining, left);
      this.remaining -= n;
      left -= n;
      if (this.remaining === 0) this.state = 'data-cr';
    }
    // The CRLF closing chunk data is assumed, not seen: a sender that wrote data wrote it too.
    if (left > 0 && this.state === 'data-cr') {
      const n = Math.min(2, left);
      left -= n;
      if (n === 2) this.startSizeLine();
      else this.state = 'data-lf';
    }
    if (left > 0 && this.state === 'data-lf') {
      left -= 1;
      this.startSizeLine();
    }
    return missing - left;
  }

  /** Trailer fields, once done. Invalid lines are dropped rather than failing a finished body. */
  trailers(): HeaderField[] {
    if (!this.trailerBytes || this.trailerBytes.length === 0) return [];
    const block = this.trailerBytes.view();
    return parseFieldLines(block, 0, block.length);
  }

  private startSizeLine(): void {
    this.state = 'size';
    this.sizeDigits = 0;
    this.size = 0;
    this.extensionBytes = 0;
  }

  private endSizeLine(): void {
    if (this.size === 0) {
      this.state = 'trailer-line-start';
    } else {
      this.remaining = this.size;
      this.state = 'data';
    }
  }

  private fail(at: number): number {
    this.state = 'failed';
    return at;
  }
}
