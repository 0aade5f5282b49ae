/**
 * Kernel time (CLOCK_BOOTTIME ns) to Unix µs, given the loader's offset
 * between the clocks: Number((ns + offset) / 1000n), computed per span.
 *
 * BigInt addition and division allocate and run in the runtime; while the
 * values are exact as doubles (boot times below 2^53 ns, about 104 days, and
 * Unix µs below 2^53 - 2^43, until about the year 2255) the same integer
 * comes out of double arithmetic. Outside that range it falls back to BigInt.
 */
/** x = ns + remNs stays below 2^53; the quotient then stays below 2^43. */
const NS_LIMIT = 2n ** 53n - 1000n;
/** offsetUs + quotient stays below 2^53. */
const OFFSET_US_LIMIT = 2n ** 53n - 2n ** 43n;

export class UnixClock {
  /** The offset split as offsetUs * 1000 + remNs, for the fast path; fast false when it does not apply. */
  private readonly fast: boolean;
  private readonly offsetUs: number;
  private readonly remNs: number;

  constructor(private readonly offsetNs: bigint) {
    this.fast = offsetNs >= 0n && offsetNs / 1000n < OFFSET_US_LIMIT;
    this.offsetUs = this.fast ? Number(offsetNs / 1000n) : 0;
    this.remNs = this.fast ? Number(offsetNs % 1000n) : 0;
  }

  toUnixUs(ns: bigint): number {
    if (this.fast && ns >= 0n && ns < NS_LIMIT) {
      // x < 2^53: exact, and so is q * 1000; the quotient is corrected
      // where the rounded division landed on the wrong side of an integer.
      const x = Number(ns) + this.remNs;
      let q = Math.floor(x / 1000);
      const r = x - q * 1000;
      if (r < 0) q--;
      else if (r >= 1000) q++;
      return this.offsetUs + q;
    }
    return Number((ns + this.offsetNs) / 1000n);
  }
}
