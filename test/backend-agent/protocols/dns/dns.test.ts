import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DnsTransactions, looksLikeDns, parseDnsMessage, readName, type DnsLookup } from '../../../../backend-agent/src/protocols/dns/index.js';
import { loadFixture } from '../db-harness.js';

/** Recorded: node's c-ares resolver through a relay to this machine's resolver (which answers NXDOMAIN here). */
const FIXTURE = loadFixture(new URL('./fixtures/c-ares-lookups.json', import.meta.url))[0]!;

function name(n: string): Buffer {
  return Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

/** A response for `www.example.com A` with two answers whose owner names are compression pointers to the question. */
function answer(id: number): Buffer {
  const header = Buffer.from([id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
  const question = Buffer.concat([name('www.example.com'), Buffer.from([0, 1, 0, 1])]);
  const rr = (ip: number[]): Buffer => Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip]);
  return Buffer.concat([header, question, rr([93, 184, 215, 14]), rr([93, 184, 215, 15])]);
}

test('recorded c-ares lookups pair by id and question, with their response codes', () => {
  const lookups: DnsLookup[] = [];
  const t = new DnsTransactions((l) => lookups.push(l));
  FIXTURE.forEach((c, i) => t.onMessage(c.data, BigInt(i * 1000)));
  assert.deepEqual(
    lookups.map((l) => [l.name, l.type, l.rcode, l.answers, l.responseNs! - l.queryNs]),
    [
      ['example.com', 'A', 'NXDOMAIN', 0, 1000n],
      ['example.com', 'AAAA', 'NXDOMAIN', 0, 1000n],
      ['nonexistent.invalid', 'A', 'NXDOMAIN', 0, 1000n],
      ['_http._tcp.example.com', 'SRV', 'NXDOMAIN', 0, 1000n],
      ['example.com', 'MX', 'NXDOMAIN', 0, 1000n],
    ],
  );
  for (const c of FIXTURE) assert.equal(looksLikeDns(c.data), c.dir === 'c2s' ? 'request' : 'response');
});

test('an answer with compressed names: question, rcode and answer count', () => {
  const m = parseDnsMessage(answer(0x1234));
  assert.deepEqual(m, { id: 0x1234, response: true, opcode: 0, rcode: 0, truncated: false, questions: [{ name: 'www.example.com', type: 'A', class: 1 }], answers: 2 });
  assert.deepEqual(readName(answer(1), 12 + 17 + 4), { name: 'www.example.com', next: 12 + 17 + 4 + 2 });
});

test('malformed names: loops, forward pointers, overlong names and cut labels give undefined', () => {
  const loop = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 12])]);
  assert.equal(readName(loop, 12), undefined, 'a pointer to itself');
  assert.equal(readName(Buffer.from([0xc0, 5, 0, 0, 0, 0]), 0), undefined, 'a forward pointer');
  assert.equal(readName(Buffer.from([5, 0x61, 0x62]), 0), undefined, 'a label past the end');
  const long = Buffer.concat([...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])), Buffer.from([0])]);
  assert.equal(readName(long, 0), undefined, 'more than 255 bytes');
  assert.equal(readName(Buffer.from([0x40, 0]), 0), undefined, 'extended label type');
  assert.deepEqual(readName(Buffer.from([3, 0x61, 0x2e, 0x00, 0]), 0), { name: 'a\\046\\000', next: 5 }, 'dots and control bytes escaped');
});

test('truncated messages: short headers are not DNS, a cut question is left out', () => {
  const full = answer(7);
  assert.equal(parseDnsMessage(full.subarray(0, 11)), undefined);
  assert.deepEqual(parseDnsMessage(full.subarray(0, 20))?.questions, []);
  assert.equal(looksLikeDns(full.subarray(0, 20)), undefined);
  assert.equal(looksLikeDns(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), undefined);
});

test('unanswered lookups are reported by the time-out, without a response code', () => {
  const lookups: DnsLookup[] = [];
  const t = new DnsTransactions((l) => lookups.push(l));
  t.onMessage(FIXTURE[0]!.data, 0n);
  t.expire(1_000n, 5_000n);
  assert.equal(lookups.length, 0);
  t.expire(10_000n, 5_000n);
  assert.deepEqual(lookups.map((l) => [l.name, l.rcode]), [['example.com', undefined]]);
  t.onMessage(FIXTURE[1]!.data, 11_000n); // the late response matches nothing now
  assert.equal(lookups.length, 1);
});

test('property: any bytes parse without throwing', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const b = Buffer.from(bytes);
      parseDnsMessage(b);
      looksLikeDns(b);
      for (let at = 0; at < Math.min(b.length, 20); at++) readName(b, at);
      new DnsTransactions(() => undefined).onMessage(b, 0n);
    }),
    { numRuns: 1000, seed: 29 },
  );
});

test('property: a corrupted real message never throws and keeps its header', () => {
  const base = answer(42);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 8 }), fc.nat(base.length), (edits, cut) => {
      const b = Buffer.from(base);
      for (const [at, v] of edits) b[at] = v;
      const m = parseDnsMessage(b.subarray(0, Math.max(cut, 12)));
      assert.ok(m);
      assert.equal(m.id, b.readUInt16BE(0));
    }),
    { numRuns: 500, seed: 31 },
  );
});
