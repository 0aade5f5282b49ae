/**
 * A growable byte buffer for the few things the parser must keep across
 * chunks (an unfinished head, trailer lines). Doubling keeps feeding a head
 * in many small chunks linear instead of copying it again per chunk. No
 * memory until the first append: most connections never hold anything.
 */

const INITIAL_CAPACITY = 512;
const EMPTY = Buffer.alloc(0);
/** After holding something this large, give the memory back on clear(). */
const SHRINK_ABOVE = 64 * 1024;

export class ByteAccumulator {
  private buf: Buffer = EMPTY;
  private used = 0;

  get length(): number {
    return this.used;
  }

  append(src: Buffer, start = 0, end = src.length): void {
    const n = end - start;
    if (n <= 0) return;
    if (this.used + n > this.buf.length) {
      let capacity = Math.max(INITIAL_CAPACITY, this.buf.length * 2);
      while (capacity < this.used + n) capacity *= 2;
      const grown = Buffer.allocUnsafe(capacity);
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    src.copy(this.buf, this.used, start, end);
    this.used += n;
  }

  /** The bytes held; valid until the next append or clear. */
  view(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  clear(): void {
    this.used = 0;
    if (this.buf.length > SHRINK_ABOVE) this.buf = EMPTY;
  }
}
