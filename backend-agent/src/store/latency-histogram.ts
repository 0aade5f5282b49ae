/**
 * Log-bucketed latency histograms for the per-minute service-graph rollup
 * (schema v6, `edge_minutes`): bucket i holds durations in [γ^i, γ^(i+1)) ns
 * with γ = 1.02, so a percentile read from a histogram is within 1% of the
 * exact one (the bucket's geometric middle is returned). Histograms of
 * different minutes add up, which a list of percentiles would not.
 *
 * Stored as JSON text: an array of [bucket, count] pairs, ascending. Counts
 * may go down (retention deletes spans); empty buckets are dropped.
 */
import type { LatencySummary } from './dependencies.js';

const GAMMA = 1.02;
const LOG_GAMMA = Math.log(GAMMA);

export function bucketOf(durationNs: number): number {
  return durationNs <= 1 ? 0 : Math.floor(Math.log(durationNs) / LOG_GAMMA);
}

/** The value a bucket stands for: its geometric middle (relative error < 1%). */
function bucketValue(bucket: number): number {
  return Math.round(GAMMA ** (bucket + 0.5));
}

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();

  static decode(text: string | null | undefined): LatencyHistogram {
    const h = new LatencyHistogram();
    if (text) for (const [bucket, count] of JSON.parse(text) as Array<[number, number]>) h.addBucket(bucket, count);
    return h;
  }

  add(durationNs: number, count = 1): void {
    this.addBucket(bucketOf(durationNs), count);
  }

  addBucket(bucket: number, count: number): void {
    const next = (this.counts.get(bucket) ?? 0) + count;
    if (next === 0) this.counts.delete(bucket);
    else this.counts.set(bucket, next);
  }

  merge(other: LatencyHistogram): void {
    for (const [bucket, count] of other.counts) this.addBucket(bucket, count);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  get empty(): boolean {
    return this.counts.size === 0;
  }

  encode(): string {
    return JSON.stringify([...this.counts].filter(([, c]) => c > 0).sort((a, b) => a[0] - b[0]));
  }

  /** p50/p95/p99 by nearest rank, like dependencies.ts does on exact values. */
  summary(): LatencySummary | undefined {
    const buckets = [...this.counts].filter(([, c]) => c > 0).sort((a, b) => a[0] - b[0]);
    const count = buckets.reduce((n, [, c]) => n + c, 0);
    if (count === 0) return undefined;
    const at = (p: number): number => {
      const rank = Math.min(count, Math.max(1, Math.ceil((p / 100) * count)));
      let seen = 0;
      for (const [bucket, c] of buckets) {
        seen += c;
        if (seen >= rank) return bucketValue(bucket);
      }
      return bucketValue(buckets[buckets.length - 1]![0]);
    };
    return { count, p50Ns: at(50), p95Ns: at(95), p99Ns: at(99) };
  }
}
