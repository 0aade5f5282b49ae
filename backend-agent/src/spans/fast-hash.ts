/**
 * A 128-bit non-cryptographic string hash (MurmurHash3 x86_128's block and
 * finalisation mixing, lanes seeded apart, run over UTF-16 code units two per 32-bit word instead
 * of bytes, so no encoding step is needed). Pure 32-bit integer arithmetic
 * (Math.imul) and one hex formatting call: for the ~40-character keys derived
 * ids are made from, about 0.25 µs against ~0.9 µs for sha256 through
 * node:crypto (createHash, update, digest) on this machine.
 *
 * The output is part of the agent's behaviour (derived span and trace ids):
 * changing this function changes the ids new spans get, so don't, without
 * reason (fast-hash.test.ts pins known values).
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Word `w` of the key: code units 2w and 2w+1 (0 past the end). */
function word(key: string, w: number): number {
  const i = w * 2;
  const lo = key.charCodeAt(i);
  const hi = i + 1 < key.length ? key.charCodeAt(i + 1) : 0;
  return (lo | (hi << 16)) >>> 0;
}

/** The last digests; formatted to hex in one native call (number.toString(16) per word cost more than the hash). */
const digest = Buffer.alloc(32);

/** 2 * bytes lowercase hex digits of the hash (bytes <= 16: a prefix of the 128 bits). */
export function hash128Hex(key: string, seed = 0, bytes = 16): string {
  hash128(key, seed, 0);
  return digest.toString('hex', 0, bytes);
}

/**
 * hash128Hex(key, seedA) and hash128Hex(key, seedB, bytesB), the same two
 * strings, formatted in one native call (which costs as much as a hash).
 */
export function hash128HexPair(key: string, seedA: number, seedB: number, bytesB = 16): [string, string] {
  hash128(key, seedA, 0);
  hash128(key, seedB, 16);
  const hex = digest.toString('hex', 0, 16 + bytesB);
  return [hex.slice(0, 32), hex.slice(32)];
}

function hash128(key: string, seed: number, at: number): void {
  // Lanes start apart (unlike MurmurHash3) so short keys do not give repeated 32-bit groups.
  let h1 = seed | 0;
  let h2 = (seed ^ 0x9e3779b9) | 0;
  let h3 = (seed ^ 0x7f4a7c15) | 0;
  let h4 = (seed ^ 0x85ebca6b) | 0;
  const words = (key.length + 1) >> 1;
  const blocks = words >> 2;
  for (let b = 0; b < blocks; b++) {
    let k1 = word(key, b * 4);
    let k2 = word(key, b * 4 + 1);
    let k3 = word(key, b * 4 + 2);
    let k4 = word(key, b * 4 + 3);

    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // The last 1-3 words of a key that is not a whole number of blocks.
  const tail = blocks * 4;
  const left = words - tail;
  if (left >= 3) h3 ^= Math.imul(rotl(Math.imul(word(key, tail + 2), C3), 17), C4);
  if (left >= 2) h2 ^= Math.imul(rotl(Math.imul(word(key, tail + 1), C2), 16), C3);
  if (left >= 1) h1 ^= Math.imul(rotl(Math.imul(word(key, tail), C1), 15), C2);

  // The length in code units, so "a" and "a\0" differ.
  h1 ^= key.length;
  h2 ^= key.length;
  h3 ^= key.length;
  h4 ^= key.length;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  digest.writeInt32BE(h1, at);
  digest.writeInt32BE(h2, at + 4);
  digest.writeInt32BE(h3, at + 8);
  digest.writeInt32BE(h4, at + 12);
}
