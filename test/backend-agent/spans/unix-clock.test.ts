import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnixClock } from '../../../backend-agent/src/spans/unix-clock.js';
import { seededRandom } from '../fixtures/seeded-random.js';

/** What the pipeline computed before the clock had a fast path. */
const reference = (ns: bigint, offset: bigint): number => Number((ns + offset) / 1000n);

test('kernel ns to Unix µs is exactly the BigInt formula, fast path or not', () => {
  const random = seededRandom(52);
  const offsets = [0n, 1n, 999n, 1000n, 1_790_000_000_123_456_789n, 1_700_000_000_000_000_999n, 2n ** 62n, -5_000n, 9_007_190_000_000_000_000n];
  const edges = [0n, 1n, 999n, 1000n, 1001n, 2n ** 52n, 2n ** 53n - 1001n, 2n ** 53n - 1000n, 2n ** 53n, 2n ** 63n - 1n, -1n];
  for (const offset of offsets) {
    const clock = new UnixClock(offset);
    for (const ns of edges) assert.equal(clock.toUnixUs(ns), reference(ns, offset), `ns ${ns} offset ${offset}`);
    for (let i = 0; i < 2000; i++) {
      // Boot times from a second to a few years, at every magnitude, with arbitrary low digits.
      const ns = BigInt(Math.floor(random() * 2 ** 21)) * BigInt(Math.floor(random() * 2 ** 32)) + BigInt(Math.floor(random() * 1000));
      assert.equal(clock.toUnixUs(ns), reference(ns, offset), `ns ${ns} offset ${offset}`);
    }
  }
});
