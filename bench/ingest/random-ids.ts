/**
 * Seeded random W3C ids for the ingest bench. Real trace and span ids are
 * random, and a store's identity index pays for that (every insert lands on
 * a random leaf); counting ids would flatter it. Seeded, so a run's ids are
 * the same every time and runs can be compared.
 */

/** A 32-bit generator (a SplitMix-style counter hashed by multiply-xorshift): fast, well spread, not for secrets. */
export function seededRandom(seed: number): () => number {
  let state = (seed * 0x9e3779b9) | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

export interface IdSource {
  /** 32 lowercase hex digits, never all zero. */
  traceId(): string;
  /** 16 lowercase hex digits, never all zero. */
  spanId(): string;
}

export function randomIds(seed: number): IdSource {
  const next = seededRandom(seed);
  const hex = (words: number): string => {
    let out = '';
    for (let i = 0; i < words; i++) out += next().toString(16).padStart(8, '0');
    // All-zero ids are invalid in W3C trace context (and one in 2^64 here).
    return /^0+$/.test(out) ? `${out.slice(0, -1)}1` : out;
  };
  return { traceId: () => hex(4), spanId: () => hex(2) };
}
