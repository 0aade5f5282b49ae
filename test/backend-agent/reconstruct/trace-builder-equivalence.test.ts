/**
 * The optimised trace builder (rounds reused, windows read once where they
 * overlap, header traces read only outside the window) must answer exactly as
 * the builder did before
 * (reference-trace-builder.ts), on a randomized store with header and
 * header-less trees, nested calls, reused connections, event-loop and
 * thread-per-request processes, long trees that move the window, and header
 * traces with spans far outside it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { openStore, type SpanStore } from '../../../backend-agent/src/store/index.js';
import { buildTrace, buildTraces, DEFAULT_BUILD_OPTIONS, type BuildOptions, type CandidateSource } from '../../../backend-agent/src/reconstruct/index.js';
import { traceIdOf } from '../fixtures/spans.js';
import { side } from './link-fixtures.js';
import { referenceBuildTrace, referenceBuildTraces } from './reference-trace-builder.js';
import { seededRandom } from '../fixtures/seeded-random.js';


/** pids 20..25; odd ones are event loops (one thread), even ones give each request a thread. */
const PIDS = [20, 21, 22, 23, 24, 25];

function randomStore(seed: number): Span[] {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const spans: Span[] = [];
  let n = 1;
  /** A small pool of client ports per caller/callee pair: connections are reused, so socket joins must pair by time. */
  const port = (from: number, to: number): number => 30000 + from * 100 + to * 3 + Math.floor(r() * 3);

  function call(from: number, fromTid: number, to: number, startUs: number, durationUs: number, header: string | undefined, depth: number): void {
    const clientPort = port(from, to);
    const serverPort = 8000 + to;
    const reqPath = `/api/${to}/items/${Math.floor(r() * 50)}`;
    const headers = r() < 0.2 ? { 'x-request-id': `req-${Math.floor(r() * 40)}` } : undefined;
    const clientN = n++;
    const serverN = n++;
    let client = side({ n: clientN, kind: 'client', pid: from, tid: fromTid, startUs, durationUs, local: clientPort, remote: serverPort, path: reqPath, ...(headers ? { headers } : {}) });
    const serverTid = to % 2 === 1 ? to : 1000 + Math.floor(r() * 8);
    let server = side({ n: serverN, kind: 'server', pid: to, tid: serverTid, startUs: startUs + 40, durationUs: Math.max(1, durationUs - 80), local: serverPort, remote: clientPort, path: reqPath, ...(headers ? { headers } : {}) });
    if (header) {
      client = { ...client, traceId: header, traceIdSource: 'w3c' };
      server = { ...server, traceId: header, traceIdSource: 'w3c', traceContext: { source: 'w3c', traceId: header, callerSpanId: client.spanId } };
      if (r() < 0.5) server.parentSpanId = client.spanId;
    }
    // Some calls were seen from one side only (the other end not captured).
    const seen = r();
    if (seen > 0.1) spans.push(client);
    if (seen < 0.9 || !header) spans.push(server);
    if (depth >= 3) return;
    const children = Math.floor(r() * 3);
    for (let k = 0; k < children; k++) {
      const childStart = startUs + 100 + Math.floor(r() * Math.max(1, durationUs - 400));
      const childDuration = Math.max(50, Math.floor(r() * (startUs + durationUs - 100 - childStart)));
      const next = pick(PIDS.filter((p) => p !== to));
      call(to, serverTid, next, childStart, childDuration, header, depth + 1);
    }
  }

  for (let t = 0; t < 60; t++) {
    const header = r() < 0.5 ? traceIdOf(0x10000 + t) : undefined;
    const startUs = Math.floor(r() * 4_000_000);
    // Most requests are short; a few last longer than the look-back, so the window moves between rounds.
    const durationUs = r() < 0.1 ? 400_000 + Math.floor(r() * 800_000) : 1000 + Math.floor(r() * 40_000);
    call(10, 10, pick(PIDS), startUs, durationUs, header, 0);
    if (header && r() < 0.3) {
      // A later request of the same header trace, far outside any window of the first.
      spans.push({ ...side({ n: n++, kind: 'server', pid: pick(PIDS), startUs: startUs + 3_000_000, durationUs: 500, local: 9999, remote: 1 }), traceId: header, traceIdSource: 'w3c' });
    }
  }
  return spans;
}

/** The store, counting what the optimised path read. */
function counting(store: SpanStore): CandidateSource & { outsideRows: number; windows: Set<string> } {
  const source = {
    outsideRows: 0,
    windows: new Set<string>(),
    getTraces: (ids: readonly string[]) => store.getTraces(ids),
    spansStartingBetween: (a: number, b: number, limit: number) => {
      source.windows.add(`${a}|${b}`);
      return store.spansStartingBetween(a, b, limit);
    },
    windowReader: () => {
      const reader = store.windowReader();
      return {
        read: (a: number, b: number, limit: number) => {
          source.windows.add(`${a}|${b}`);
          return reader.read(a, b, limit);
        },
      };
    },
    spansOfTracesOutside: (ids: readonly string[], a: number, b: number) => {
      const rows = store.spansOfTracesOutside(ids, a, b);
      source.outsideRows += rows.length;
      return rows;
    },
  };
  return source;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const VARIANTS: Array<[string, BuildOptions]> = [
  ['default options', DEFAULT_BUILD_OPTIONS],
  // A short look-back: trees outgrow their window, so several rounds run.
  ['short look-back, more rounds', { ...DEFAULT_BUILD_OPTIONS, lookbackUs: 5_000, lookaheadUs: 1_000, maxRounds: 4 }],
  // Window reads cut short: header traces must then be read whole, as before.
  ['few candidates per round', { ...DEFAULT_BUILD_OPTIONS, maxCandidates: 25 }],
];

for (const seed of [1, 2]) {
  describe(`optimised trace building equals the previous algorithm (random store ${seed})`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-equivalence-'));
    dirs.push(dir);
    const store = openStore({ path: path.join(dir, 'spans.db'), retention: {} });
    const spans = randomStore(seed);
    store.insertSpans(spans);
    const ids = [...new Set(spans.map((s) => s.traceId))].sort();
    after(() => store.close());

    for (const [name, options] of VARIANTS) {
      test(`trace by id, ${name}`, () => {
        const source = counting(store);
        let multiSpan = 0;
        let moved = 0;
        for (const id of ids) {
          const expected = referenceBuildTrace(store, id, options);
          source.windows.clear();
          assert.deepEqual(buildTrace(source, id, options), expected, id);
          if ((expected?.spans.length ?? 0) > 2) multiSpan++;
          if (source.windows.size > 1) moved++;
        }
        // The store is not trivial: trees join several spans, and some windows move between rounds.
        assert.ok(multiSpan > 10, `trees of more than two spans: ${multiSpan}`);
        assert.ok(moved > 0, 'some build read more than one window');
        if (options === DEFAULT_BUILD_OPTIONS) assert.ok(source.outsideRows > 0, 'some header trace had spans outside its window');
      });

      test(`search (several ids at once), ${name}`, () => {
        const r = seededRandom(seed * 7919);
        for (let k = 0; k < 25; k++) {
          const asked = Array.from({ length: 1 + Math.floor(r() * 20) }, () => ids[Math.floor(r() * ids.length)]!);
          assert.deepEqual(buildTraces(store, asked, options), referenceBuildTraces(store, asked, options));
        }
      });
    }

    test('without spansOfTracesOutside (another source), answers are the same', () => {
      const plain: CandidateSource = { getTraces: (x) => store.getTraces(x), spansStartingBetween: (a, b, l) => store.spansStartingBetween(a, b, l) };
      for (const id of ids.slice(0, 60)) assert.deepEqual(buildTrace(plain, id), referenceBuildTrace(store, id));
    });
  });
}

describe('window reader (one build\'s window reads)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-window-reader-'));
  dirs.push(dir);
  const store = openStore({ path: path.join(dir, 'spans.db'), retention: {} });
  store.insertSpans(randomStore(4));
  after(() => store.close());
  const key = (s: Span): string => `${s.traceId}|${s.spanId}|${s.kind}|${s.process.hostName}|${s.process.pid}`;
  const sorted = (spans: Span[]): Span[] => [...spans].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  const { oldestStartTimeUs = 0, newestStartTimeUs = 0 } = store.stats();

  test('returns the spans spansStartingBetween returns, for windows that grow, shift, jump and hit the limit', () => {
    const r = seededRandom(99);
    let nonEmpty = 0;
    for (let build = 0; build < 40; build++) {
      const reader = store.windowReader();
      let a = oldestStartTimeUs + Math.floor(r() * (newestStartTimeUs - oldestStartTimeUs));
      let b = a + Math.floor(r() * 200_000);
      for (let round = 0; round < 5; round++) {
        const limit = r() < 0.2 ? 1 + Math.floor(r() * 30) : 20_000;
        const got = reader.read(a + 0.4, b + 0.6, limit);
        assert.deepEqual(sorted(got), sorted(store.spansStartingBetween(a + 0.4, b + 0.6, limit)), `build ${build} round ${round} [${a}, ${b}] limit ${limit}`);
        if (got.length > 0) nonEmpty++;
        const move = r();
        if (move < 0.4) [a, b] = [a - Math.floor(r() * 50_000), b + Math.floor(r() * 50_000)];
        else if (move < 0.7) [a, b] = [a + Math.floor(r() * 100_000), b + Math.floor(r() * 100_000)];
        else if (move < 0.8) [a, b] = [a + 30_000, b - 30_000];
        else if (move < 0.9) [a, b] = [a + 1_000_000, b + 1_000_000];
      }
    }
    assert.ok(nonEmpty > 50, `windows with spans: ${nonEmpty}`);
  });
});
