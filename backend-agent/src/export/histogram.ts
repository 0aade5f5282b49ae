/**
 * A fixed-bucket Prometheus histogram. Buckets are kept non-cumulative while
 * observing (one increment per observation) and made cumulative only when
 * rendered, as the exposition format wants `le` buckets to be.
 */
import type { MetricSample } from '../api/metrics/prometheus-text.js';

/**
 * Latency buckets in seconds. Tempo's default service-graph buckets start at
 * 100 ms, which is useless for calls between services on one host (they take
 * 1-20 ms), so these follow OpenTelemetry's HTTP duration advice and add
 * sub-millisecond ones for loopback calls.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

export class Histogram {
  /** counts[i] observations fell in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[] = LATENCY_BUCKETS_SECONDS) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error('histogram bounds must be strictly increasing');
    }
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  get observations(): number {
    return this.count;
  }

  /** The `_bucket` (cumulative, ending with +Inf), `_sum` and `_count` samples for one series. */
  samples(labels: Readonly<Record<string, string>>): MetricSample[] {
    const out: MetricSample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push({ suffix: '_bucket', labels: { ...labels, le: String(this.bounds[i]) }, value: cumulative });
    }
    out.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: this.count });
    out.push({ suffix: '_sum', labels, value: this.sum });
    out.push({ suffix: '_count', labels, value: this.count });
    return out;
  }
}
