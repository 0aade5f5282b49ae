import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder } from '../../../../backend-agent/src/protocols/http2/index.js';
import { readInteger } from '../../../../backend-agent/src/protocols/http2/hpack-primitives.js';
import { block, hex, rep } from './helpers.js';

type Fields = Array<[string, string]>;

function decodeAll(decoder: HpackDecoder, blocks: string[]): Fields[] {
  return blocks.map((b) => {
    const r = decoder.decode(hex(b));
    assert.equal(r.error, undefined, `block ${b}: ${r.error}`);
    assert.equal(r.unknownFields, 0);
    return r.fields;
  });
}

test('C.1 integers: 10 and 1337 with a 5-bit prefix, 42 at an octet boundary', () => {
  assert.deepEqual(readInteger(hex('0a'), 0, 1, 5), { value: 10, next: 1 });
  assert.deepEqual(readInteger(hex('1f9a0a'), 0, 3, 5), { value: 1337, next: 3 });
  assert.deepEqual(readInteger(hex('2a'), 0, 1, 8), { value: 42, next: 1 });
  assert.equal(readInteger(hex('1f9a'), 0, 2, 5), undefined, 'continuation bytes cut');
  assert.equal(readInteger(hex('1fffffffffff7f'), 0, 7, 5), undefined, 'absurdly large');
});

test('C.2 header field representations', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')).fields, [['custom-key', 'custom-header']]);
  assert.deepEqual(d.dynamicTable(), [['custom-key', 'custom-header']]);
  assert.equal(d.dynamicTableSize, 55);
  const e = new HpackDecoder();
  assert.deepEqual(e.decode(hex('040c 2f73 616d 706c 652f 7061 7468')).fields, [[':path', '/sample/path']]);
  assert.deepEqual(e.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')).fields, [['password', 'secret']]);
  assert.deepEqual(e.decode(hex('82')).fields, [[':method', 'GET']]);
  assert.deepEqual(e.dynamicTable(), [], 'neither literal without indexing nor never-indexed enters the table');
});

const REQUESTS: Fields[] = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];

test('C.3 requests without Huffman coding, one decoder across the three', () => {
  const d = new HpackDecoder();
  const got = decodeAll(d, [
    '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '8286 84be 5808 6e6f 2d63 6163 6865',
    '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
  ]);
  assert.deepEqual(got, REQUESTS);
  assert.deepEqual(d.dynamicTable(), [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
  assert.equal(d.dynamicTableSize, 164);
});

test('C.4 requests with Huffman coding', () => {
  const d = new HpackDecoder();
  const got = decodeAll(d, [
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '8286 84be 5886 a8eb 1064 9cbf',
    '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
  ]);
  assert.deepEqual(got, REQUESTS);
  assert.equal(d.dynamicTableSize, 164);
});

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESPONSES: Fields[] = [
  [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
  [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
  [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', LOCATION], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]],
];

function checkResponseTables(d: HpackDecoder, blocks: string[]): void {
  const [b1, b2, b3] = blocks as [string, string, string];
  assert.deepEqual(decodeAll(d, [b1]), [RESPONSES[0]]);
  assert.equal(d.dynamicTableSize, 222);
  assert.deepEqual(decodeAll(d, [b2]), [RESPONSES[1]]);
  assert.equal(d.dynamicTableSize, 222);
  assert.deepEqual(d.dynamicTable()[0], [':status', '307'], ':status 302 evicted for 307');
  assert.equal(d.dynamicTable().length, 4);
  assert.deepEqual(decodeAll(d, [b3]), [RESPONSES[2]]);
  assert.equal(d.dynamicTableSize, 215);
  assert.deepEqual(d.dynamicTable(), [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]]);
}

test('C.5 responses without Huffman coding, 256-byte table: evictions', () => {
  checkResponseTables(new HpackDecoder({ synced: true, maxTableSize: 256 }), [
    '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '4803 3330 37c1 c0bf',
    '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
  ]);
});

test('C.6 responses with Huffman coding, 256-byte table: evictions', () => {
  checkResponseTables(new HpackDecoder({ synced: true, maxTableSize: 256 }), [
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    '4883 640e ffc1 c0bf',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ]);
});

test('size updates evict at once; an entry larger than the table empties it', () => {
  const d = new HpackDecoder();
  d.decode(block(rep.incremental('k1', 'v'), rep.incremental('k2', 'v'), rep.incremental('k3', 'v')));
  assert.equal(d.dynamicTableSize, 3 * 35);
  d.decode(block(rep.sizeUpdate(70), rep.indexed(62)));
  assert.deepEqual(d.dynamicTable(), [['k3', 'v'], ['k2', 'v']]);
  const r = d.decode(block(rep.incremental('big', 'x'.repeat(100))));
  assert.deepEqual(r.fields, [['big', 'x'.repeat(100)]]);
  assert.deepEqual(d.dynamicTable(), []);
});

test('a literal naming the entry its own insert evicts keeps the name', () => {
  const d = new HpackDecoder({ synced: true, maxTableSize: 70 });
  d.decode(block(rep.incremental('custom-key', 'value')));
  const r = d.decode(block(rep.incremental(62, 'a'.repeat(20))));
  assert.deepEqual(r.fields, [['custom-key', 'a'.repeat(20)]]);
  assert.deepEqual(d.dynamicTable(), [['custom-key', 'a'.repeat(20)]]);
});

test('malformed blocks are errors that leave the decoder desynchronised, never exceptions', () => {
  const cases: Array<[string, string]> = [
    ['80', 'index 0'],
    ['be', 'index 62 of an empty table'],
    ['400a 6375 7374 6f6d', 'name longer than the block'],
    ['40', 'representation byte only'],
    ['400a 6375 7374 6f6d 2d6b 6579 0576', 'value cut'],
    ['4184 ffff ffff', 'EOS inside a Huffman string'],
    ['4183 ffff ff', 'Huffman padding longer than 7 bits'],
    ['4181 00', 'Huffman padding not all ones'],
    ['82 20', 'size update after a field'],
    ['3fe1 ffff ff0f', 'size update absurdly large'],
  ];
  for (const [bytes, what] of cases) {
    const d = new HpackDecoder();
    const r = d.decode(hex(bytes));
    assert.ok(r.error, `${what}: expected an error`);
    assert.equal(d.isSynced, false, `${what}: desynchronised`);
  }
  const ok = new HpackDecoder();
  assert.deepEqual(ok.decode(hex('4100')).fields, [[':authority', '']], 'empty values are fine');
  assert.deepEqual(ok.decode(hex('0000 00')).fields, [['', '']]);
});

test('fields decoded before a malformed representation are kept', () => {
  const d = new HpackDecoder();
  const r = d.decode(hex('8286 80'));
  assert.deepEqual(r.fields, [[':method', 'GET'], [':scheme', 'http']]);
  assert.match(r.error ?? '', /index 0/);
});

test('a block cut by the capture: fields before the cut, then desynchronised', () => {
  const d = new HpackDecoder();
  const full = hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d');
  const r = d.decode(full.subarray(0, 6), false);
  assert.deepEqual(r.fields, [[':method', 'GET'], [':scheme', 'http'], [':path', '/']]);
  assert.equal(r.partial, true);
  assert.equal(r.error, undefined);
  assert.equal(d.isSynced, false);
});

test('desynchronised: static and literal fields known, older dynamic entries unknown, newer ones exact', () => {
  const d = new HpackDecoder({ synced: false });
  // The peer's table already holds entries we never saw; 62 and 63 are among them.
  const r1 = d.decode(block(rep.indexed(3), rep.indexed(62), rep.incremental(4, '/a.B/C'), rep.withoutIndexing('x-id', '7'), rep.indexed(63)));
  assert.deepEqual(r1.fields, [[':method', 'POST'], [':path', '/a.B/C'], ['x-id', '7']]);
  assert.equal(r1.unknownFields, 2);
  // The insert above is now index 62: exactly known, whatever else the table holds.
  const r2 = d.decode(block(rep.indexed(62), rep.indexed(64)));
  assert.deepEqual(r2.fields, [[':path', '/a.B/C']]);
  assert.equal(r2.unknownFields, 1);
  // A literal whose name is an unknown entry still inserts: its value is known, its name is not.
  const r3 = d.decode(block(rep.incremental(70, 'v'), rep.indexed(62), rep.indexed(63)));
  assert.deepEqual(r3.fields, [[':path', '/a.B/C']]);
  assert.equal(r3.unknownFields, 2);
  assert.equal(d.isSynced, false);
});

test('desynchronised, then a size update makes the seen entries provably the whole table', () => {
  const d = new HpackDecoder({ synced: false });
  d.decode(block(rep.sizeUpdate(100), rep.incremental('a', '1'.repeat(30)), rep.incremental('b', '2'.repeat(30))));
  // 62 + 63 = 126 bytes > 100: the older one went; no unknown entry (>= 32 bytes) fits beside the newest.
  assert.equal(d.isSynced, true);
  assert.deepEqual(d.dynamicTable(), [['b', '2'.repeat(30)]]);
  const r = d.decode(block(rep.indexed(63)));
  assert.ok(r.error, 'a reference past the known table is now an error, not an unknown');
});

test('size update to 0 clears the unknown table: synchronised', () => {
  const d = new HpackDecoder({ synced: false });
  d.decode(block(rep.sizeUpdate(0), rep.sizeUpdate(4096), rep.incremental('k', 'v')));
  assert.equal(d.isSynced, true);
  assert.deepEqual(d.decode(block(rep.indexed(62))).fields, [['k', 'v']]);
});

test('an HPACK bomb is bounded: fields past the cap are counted, not kept', () => {
  const d = new HpackDecoder();
  d.decode(block(rep.incremental('x', 'v'.repeat(4000))));
  const r = d.decode(Buffer.alloc(16384, 0xbe));
  assert.ok(r.fields.length < 100, `kept ${r.fields.length}`);
  assert.equal(r.fields.length + r.unknownFields, 16384);
});
