/**
 * A bounded FIFO of spans: pushing past the capacity overwrites the oldest
 * (and says how many), so the export queue's memory is fixed whatever the
 * collector does. O(1) per span, unlike Array.prototype.shift/splice.
 */
import type { Span } from '../../model/span.js';

export class SpanRing {
  private readonly items: Array<Span | undefined>;
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`queue capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<Span | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Appends; returns how many of the oldest were dropped to make room. */
  push(spans: readonly Span[]): number {
    let dropped = 0;
    for (const s of spans) {
      const tail = (this.head + this.size) % this.capacity;
      this.items[tail] = s;
      if (this.size < this.capacity) this.size++;
      else {
        this.head = (this.head + 1) % this.capacity;
        dropped++;
      }
    }
    return dropped;
  }

  /** Removes and returns up to `n` of the oldest. */
  take(n: number): Span[] {
    const count = Math.min(n, this.size);
    const out = new Array<Span>(count);
    for (let i = 0; i < count; i++) {
      out[i] = this.items[this.head]!;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.size -= count;
    return out;
  }
}
