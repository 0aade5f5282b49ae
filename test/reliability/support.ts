/**
 * Shared pieces of the reliability tests: a seeded PRNG (so a failing fuzz
 * case is reproducible from its seed), input mutators, loopback HTTP traffic
 * and a few store/agent helpers. Nothing here fakes the system under test.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { StreamBuilder } from '../backend-agent/fixtures/capture-stream.js';
import { seededRandom } from '../backend-agent/fixtures/seeded-random.js';
import type { SocketTuple } from '../../backend-agent/src/model/events.js';

/** A seeded PRNG (mulberry32) with the helpers a fuzzer needs. */
export class Rng {
  private readonly random: () => number;
  constructor(readonly seed: number) {
    this.random = seededRandom(seed);
  }
  next(): number {
    return this.random();
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** Iterations per parser: small in CI, `WIRETRACE_FUZZ_ITERATIONS=1000000` for a benchmark run. */
export function fuzzIterations(ciDefault: number): number {
  const raw = process.env.WIRETRACE_FUZZ_ITERATIONS;
  if (raw === undefined || raw === '') return ciDefault;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`WIRETRACE_FUZZ_ITERATIONS must be a positive integer, got "${raw}"`);
  return n;
}

/** The seed: fixed in CI so failures reproduce; override with WIRETRACE_FUZZ_SEED. */
export function fuzzSeed(fallback: number): number {
  const raw = process.env.WIRETRACE_FUZZ_SEED;
  return raw ? Number(raw) >>> 0 : fallback;
}

/** Characters that break hand-written parsers: delimiters, controls, non-ASCII, huge digits. */
const NASTY = ['\r', '\n', '\r\n', '\0', ' ', '\t', ':', ';', ',', '-', '=', '%', '%00', '\u00ff', '\u2028', '\ud800', '9'.repeat(40), 'ffffffffffffffff', '0'];

/** One mutation of a string: flip, insert, delete, duplicate, truncate, splice in nasties. */
export function mutateString(rng: Rng, s: string): string {
  const at = s.length ? rng.int(s.length) : 0;
  switch (rng.int(8)) {
    case 0:
      return s.slice(0, at) + String.fromCharCode(rng.int(256)) + s.slice(at + 1);
    case 1:
      return s.slice(0, at) + rng.pick(NASTY) + s.slice(at);
    case 2:
      return s.slice(0, at) + s.slice(at + 1 + rng.int(8));
    case 3:
      return s.slice(0, at) + s.slice(at, at + rng.int(16)).repeat(1 + rng.int(4)) + s.slice(at);
    case 4:
      return s.slice(0, at);
    case 5:
      return s.toUpperCase();
    case 6:
      return s + rng.pick(NASTY) + s;
    default:
      return Array.from({ length: rng.int(40) }, () => String.fromCharCode(rng.int(128))).join('');
  }
}

/** One mutation of bytes, same idea as mutateString. */
export function mutateBytes(rng: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const at = out.length ? rng.int(out.length) : 0;
  switch (rng.int(6)) {
    case 0:
      if (out.length) out[at] = rng.int(256);
      return out;
    case 1:
      if (out.length) out[at] = (out[at] ?? 0) ^ (1 << rng.int(8));
      return out;
    case 2:
      return Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(32)), out.subarray(at)]);
    case 3:
      return Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + rng.int(64)))]);
    case 4:
      return out.subarray(0, at);
    default:
      return Buffer.concat([out.subarray(0, at), out.subarray(at, at + rng.int(64)), out.subarray(at)]);
  }
}

/** A loopback HTTP server answering 200 with a tiny body; returns its port and a closer. */
export async function startEchoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

/** n sequential GETs on fresh connections (agent: no keep-alive pooling). */
export async function getMany(port: number, path: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } });
    await res.text();
  }
}

const CLIENT = { pid: 5101, comm: 'fuzzclient' };
const SERVER = { pid: 5102, comm: 'fuzzserver' };

/**
 * A replay stream of `calls` request/response pairs, one connection per call,
 * seen from both sides; `between(i)` may append raw bytes to the request
 * stream of call i (garbage before a well-formed request, for instance).
 */
export function buildCallStream(calls: number, offsetNs: bigint, opts: { garbage?: (i: number) => string | undefined; headers?: string; query?: string } = {}): Buffer {
  const b = new StreamBuilder(offsetNs);
  for (let i = 0; i < calls; i++) {
    const cport = 20000 + (i % 40000);
    const cs: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: cport }, remote: { address: '127.0.0.1', port: 8080 } };
    const ss: SocketTuple = { family: 'ipv4', local: cs.remote, remote: cs.local };
    const c = BigInt(2 * i + 1);
    const s = BigInt(2 * i + 2);
    const traceId = (i + 1).toString(16).padStart(32, '0');
    const req =
      (opts.garbage?.(i) ?? '') +
      `GET /items/${i}${opts.query ?? ''} HTTP/1.1\r\nHost: fuzzserver\r\ntraceparent: 00-${traceId}-${(i + 1).toString(16).padStart(16, '0')}-01\r\n${opts.headers ?? ''}\r\n`;
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    b.open(c, CLIENT, 'client', cs).open(s, SERVER, 'server', ss);
    b.data(c, CLIENT, 'client', cs, 'egress', req).data(s, SERVER, 'server', ss, 'ingress', req);
    b.data(s, SERVER, 'server', ss, 'egress', res).data(c, CLIENT, 'client', cs, 'ingress', res);
    b.close(c, CLIENT, cs).close(s, SERVER, ss).advance(1_000_000n);
  }
  return b.bytes();
}

/** The trace id buildCallStream gives call i. */
export function callTraceId(i: number): string {
  return (i + 1).toString(16).padStart(32, '0');
}

/** Ports this suite's agents and servers use on shared machines (agreed range). */
const RESERVED_PORTS = { first: 19500, last: 19599 };

/**
 * The first of `count` consecutive free ports in the reserved range
 * (19500-19599), tried from a random start so concurrent runs rarely collide;
 * each checked by binding 127.0.0.1 once.
 */
export async function reservedPort(count = 1): Promise<number> {
  const span = RESERVED_PORTS.last - RESERVED_PORTS.first + 2 - count;
  const start = Math.floor(Math.random() * span);
  const free = (port: number): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (let k = 0; k < span; k++) {
    const first = RESERVED_PORTS.first + ((start + k) % span);
    let all = true;
    for (let i = 0; i < count && all; i++) all = await free(first + i);
    if (all) return first;
  }
  throw new Error(`no ${count} free consecutive ports in ${RESERVED_PORTS.first}-${RESERVED_PORTS.last}`);
}
