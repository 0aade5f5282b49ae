/**
 * The HPACK Huffman code (RFC 7541 Appendix B). The code is canonical:
 * codes of equal length are consecutive in symbol order, and each length's
 * first code follows the last code of the shorter lengths. So the bit length
 * of each of the 257 symbols (256 = EOS) is all the table needs; the codes
 * are rebuilt from them (tests check them against the RFC's listing).
 */

// prettier-ignore
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0..15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16..31
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6, //  ' '..'/'
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10, //  '0'..'?'
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, //  '@'..'O'
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6, //  'P'..'_'
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, //  '`'..'o'
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28, //  'p'..127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..255
  30, // EOS
];

export const EOS = 256;

export interface HuffmanCode {
  code: number;
  length: number;
}

/** Canonical code assignment from the bit lengths. */
function buildCodes(): HuffmanCode[] {
  const symbols = CODE_LENGTHS.map((length, symbol) => ({ symbol, length }));
  symbols.sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  const codes: HuffmanCode[] = new Array<HuffmanCode>(CODE_LENGTHS.length);
  let code = 0;
  let length = symbols[0]!.length;
  for (const s of symbols) {
    code *= 2 ** (s.length - length);
    length = s.length;
    codes[s.symbol] = { code, length };
    code++;
  }
  return codes;
}

export const HUFFMAN_CODES: readonly HuffmanCode[] = buildCodes();

/**
 * Decoding trie: node n has children at [2n] (bit 0) and [2n+1] (bit 1);
 * a value >= 0 is the next node, -(symbol + 1) is a leaf, 0 (only ever the
 * root's index) marks no child.
 */
const TRIE = buildTrie();

function buildTrie(): Int32Array {
  const children: number[] = [0, 0];
  let nodes = 1;
  HUFFMAN_CODES.forEach(({ code, length }, symbol) => {
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const slot = 2 * node + (Math.floor(code / 2 ** bit) & 1);
      if (bit === 0) {
        children[slot] = -(symbol + 1);
      } else {
        if (children[slot] === 0) {
          children[slot] = nodes++;
          children.push(0, 0);
        }
        node = children[slot]!;
      }
    }
  });
  return Int32Array.from(children);
}

/**
 * Decodes a Huffman-coded string literal, or undefined when it is invalid:
 * the EOS symbol inside the data, or padding longer than 7 bits or not all
 * ones (RFC 7541 5.2).
 */
export function decodeHuffman(buf: Buffer, start: number, end: number): string | undefined {
  const out: number[] = [];
  let node = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      const next = TRIE[2 * node + b]!;
      depth++;
      if (b === 0) allOnes = false;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) return undefined;
        out.push(symbol);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        return undefined; // cannot happen with a complete code; kept for safety
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !allOnes) return undefined;
  return Buffer.from(out).toString('latin1');
}
