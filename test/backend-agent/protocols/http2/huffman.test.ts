import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HUFFMAN_CODES, decodeHuffman } from '../../../../backend-agent/src/protocols/http2/index.js';
import { hex } from './helpers.js';

test('the canonical code rebuilt from bit lengths matches RFC 7541 Appendix B', () => {
  // Samples across lengths, copied from the RFC's listing (code as hex, length).
  const rfc: Array<[number, number, number]> = [
    [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [13, 0x3ffffffd, 30], [22, 0x3ffffffe, 30],
    [32, 0x14, 6], [48, 0x0, 5], [58, 0x5c, 7], [60, 0x7ffc, 15], [92, 0x7fff0, 19], [97, 0x3, 5], [116, 0x9, 5],
    [127, 0xffffffc, 28], [128, 0xfffe6, 20], [153, 0x1fffdc, 21], [199, 0x1ffffec, 25], [203, 0x7ffffde, 27],
    [220, 0xffffffd, 28], [249, 0xffffffe, 28], [254, 0x7fffff0, 27], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [symbol, code, length] of rfc) assert.deepEqual(HUFFMAN_CODES[symbol], { code, length }, `symbol ${symbol}`);
});

test('the code is complete and prefix-free (Kraft sum exactly 1)', () => {
  assert.equal(HUFFMAN_CODES.length, 257);
  const sum = HUFFMAN_CODES.reduce((s, c) => s + 2 ** (30 - c.length), 0);
  assert.equal(sum, 2 ** 30);
});

/** Encoder for tests: MSB-first bits, padded with ones. */
function encode(text: Buffer): Buffer {
  const bits: number[] = [];
  for (const byte of text) {
    const { code, length } = HUFFMAN_CODES[byte]!;
    for (let i = length - 1; i >= 0; i--) bits.push(Math.floor(code / 2 ** i) & 1);
  }
  while (bits.length % 8) bits.push(1);
  const out = Buffer.alloc(bits.length / 8);
  bits.forEach((b, i) => (out[i >> 3]! |= b << (7 - (i & 7))));
  return out;
}

test('RFC 7541 C.4 and C.6 strings decode', () => {
  const d = (h: string): string | undefined => {
    const b = hex(h);
    return decodeHuffman(b, 0, b.length);
  };
  assert.equal(d('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), 'www.example.com');
  assert.equal(d('a8eb 1064 9cbf'), 'no-cache');
  assert.equal(d('25a8 49e9 5ba9 7d7f'), 'custom-key');
  assert.equal(d('25a8 49e9 5bb8 e8b4 bf'), 'custom-value');
  assert.equal(d('6402'), '302');
  assert.equal(d('aec3 771a 4b'), 'private');
  assert.equal(d('9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'), 'https://www.example.com');
});

test('every byte value round-trips, alone and in a run', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  for (let i = 0; i < 256; i++) {
    const enc = encode(all.subarray(i, i + 1));
    assert.equal(decodeHuffman(enc, 0, enc.length), String.fromCharCode(i));
  }
  const enc = encode(all);
  assert.equal(decodeHuffman(enc, 0, enc.length), all.toString('latin1'));
  assert.equal(decodeHuffman(Buffer.alloc(0), 0, 0), '');
});

test('invalid padding and EOS are rejected', () => {
  assert.equal(decodeHuffman(hex('ffffffff'), 0, 4), undefined, 'EOS decoded as a symbol');
  assert.equal(decodeHuffman(hex('1f'), 0, 1), 'a', '"a" is 00011, then three padding ones');
  assert.equal(decodeHuffman(hex('18'), 0, 1), undefined, '"a" followed by zero padding');
  assert.equal(decodeHuffman(hex('1fff'), 0, 2), undefined, 'padding longer than 7 bits');
});
