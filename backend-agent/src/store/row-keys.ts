/**
 * Integer keys for the span identity index (schema v8): `trace_key` from the
 * trace id, `span_key` from the rest of a span's identity. The index
 * (trace_key, span_key) replaces one over the seven identity columns
 * themselves (~100-byte entries of text): real trace ids are random, so
 * every insert lands on a random leaf page, and a store of a few hundred
 * thousand spans paid more for that index than for everything else
 * (docs/BENCHMARKS.md, "Ingest, session 4"). Two integers make entries ~4x
 * smaller, so a batch dirties far fewer pages.
 *
 * The keys are stored: changing these functions makes every stored span
 * unreachable by its keys (row-keys.test.ts pins known values). A key is
 * never trusted alone: readers also compare trace_id, and the writer compares
 * every identity column before replacing a row (span-insert.ts), so a
 * collision costs a probe, never a span.
 */

/**
 * Keys are below 2^52: exact JavaScript numbers and SQLite integers, with
 * room above for the writer's probe (a collision takes a following key).
 */
const HIGH = 2 ** 21;

/**
 * 52 bits of a string hash: two 32-bit multiply-xorshift lanes over the
 * UTF-16 code units, each finalised with an avalanche mix so close inputs
 * (sequential ids) spread over the whole range.
 */
export function key52(text: string, seed: number): number {
  const h = new KeyHash(seed);
  h.add(text);
  return h.finish();
}

/**
 * key52 fed piece by piece: the key of pieces a, b is key52(a + b), without
 * building the joined string (spanKey runs once per stored span).
 */
class KeyHash {
  private a: number;
  private b: number;
  private length = 0;

  constructor(seed: number) {
    this.a = (0x243f6a88 ^ seed) | 0;
    this.b = (0x85a308d3 + seed) | 0;
  }

  add(text: string): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x5bd1e995);
      a ^= a >>> 15;
      b = Math.imul(b ^ c, 0x27d4eb2d);
      b ^= b >>> 13;
    }
    this.a = a;
    this.b = b;
    this.length += text.length;
  }

  finish(): number {
    let a = this.a ^ this.length;
    let b = this.b ^ a;
    a = avalanche(a);
    b = avalanche(b ^ a);
    return (a >>> 1) * HIGH + ((b >>> 0) & (HIGH - 1));
  }
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return h ^ (h >>> 16);
}

export function traceKey(traceId: string): number {
  return key52(traceId, 0x1);
}

/** The rest of the identity (schema v5's columns). Two identities giving one text only collide, which the writer handles. */
export function spanKey(spanId: string, kind: string, host: string, pid: number, connectionId: string, exchangeIndex: number): number {
  // The key of `${spanId}|${kind}|${pid}|${exchangeIndex}|${host}|${connectionId}`.
  const h = new KeyHash(0x2);
  h.add(spanId);
  h.add('|');
  h.add(kind);
  h.add('|');
  h.add(String(pid));
  h.add('|');
  h.add(String(exchangeIndex));
  h.add('|');
  h.add(host);
  h.add('|');
  h.add(connectionId);
  return h.finish();
}
