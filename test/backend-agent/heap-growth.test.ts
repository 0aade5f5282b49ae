import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOOR_BYTES, HeapGrowth, growthFor, type HeapGrowthHost } from '../../backend-agent/src/heap-growth.js';

const MiB = 2 ** 20;

interface FakeHost extends HeapGrowthHost {
  set: string[];
  live: number;
  gc(): void;
  observing: boolean;
}

function fakeHost(execArgv: string[] = []): FakeHost {
  let listener: (() => void) | undefined;
  const h: FakeHost = {
    execArgv,
    set: [],
    live: 0,
    observing: false,
    setFlags: (flags) => void h.set.push(flags),
    oldBytes: () => h.live,
    afterGc: (fn) => {
      listener = fn;
      h.observing = true;
      return () => {
        listener = undefined;
        h.observing = false;
      };
    },
    gc: () => listener?.(),
  };
  return h;
}

test('growthFor: V8 sizes a small heap itself; a large one may grow by the percentage, never under the floor', () => {
  assert.equal(FLOOR_BYTES, 64 * MiB);
  assert.equal(growthFor(0, 50), 0);
  // 10 MiB live: the floor allows 540%, more than V8's own 300% at most.
  assert.equal(growthFor(10 * MiB, 50), 0);
  // 32 MiB live: up to the 64 MiB floor.
  assert.equal(growthFor(32 * MiB, 50), 100);
  assert.equal(growthFor(46 * MiB, 50), 50);
  assert.equal(growthFor(200 * MiB, 50), 50);
  assert.equal(growthFor(200 * MiB, 20), 20);
  // Rounded down to 5 points, never under the percentage asked for.
  assert.equal(growthFor(40 * MiB, 50), 60);
  assert.equal(growthFor(200 * MiB, 33), 33);
});

test('steers by the old generation after each GC and tells V8 only when the growth changes', () => {
  const h = fakeHost(['--import', 'tsx']);
  h.live = 8 * MiB;
  const g = new HeapGrowth(50, h);
  assert.deepEqual(g.start(), { steered: 50 });
  assert.equal(g.growthPercent, 0);
  assert.deepEqual(h.set, []);
  // The old generation grows between full GCs: the growth tightens as it does.
  h.live = 32 * MiB;
  h.gc();
  assert.equal(g.growthPercent, 100);
  h.live = 46 * MiB;
  h.gc();
  assert.equal(g.growthPercent, 50);
  h.live = 60 * MiB;
  h.gc();
  assert.deepEqual(h.set, ['--heap-growing-percent=100', '--heap-growing-percent=50']);
  // Connections closed: the heap is small again and V8 sizes it itself.
  h.live = 12 * MiB;
  h.gc();
  assert.deepEqual(h.set, ['--heap-growing-percent=100', '--heap-growing-percent=50', '--heap-growing-percent=0']);
  g.close();
  assert.equal(h.observing, false);
});

test('0 leaves V8 its own heap sizing and watches nothing', () => {
  const h = fakeHost();
  h.live = 100 * MiB;
  assert.deepEqual(new HeapGrowth(0, h).start(), { kept: 'v8-default' });
  assert.deepEqual(h.set, []);
  assert.equal(h.observing, false);
});

test("a growth node was started with wins, in any of V8's spellings", () => {
  for (const arg of ['--heap-growing-percent=20', '--heap_growing_percent=20', '--heap-growing-percent']) {
    const h = fakeHost(['--max-semi-space-size=8', arg]);
    h.live = 100 * MiB;
    assert.deepEqual(new HeapGrowth(50, h).start(), { kept: 'node-flag' }, arg);
    assert.deepEqual(h.set, [], arg);
    assert.equal(h.observing, false, arg);
  }
  // A similarly named option is not the same one.
  const h = fakeHost(['--heap-growing-percentage=20']);
  h.live = 100 * MiB;
  assert.deepEqual(new HeapGrowth(50, h).start(), { steered: 50 });
  assert.deepEqual(h.set, ['--heap-growing-percent=50']);
});
