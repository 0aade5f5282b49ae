/**
 * The series of one metric family, keyed by label values, with a cap on how
 * many there can be. Past the cap, new label combinations all land in one
 * overflow series whose every label is OVERFLOW_LABEL_VALUE: the totals stay
 * right, only the breakdown is lost, and the agent's memory and Prometheus's
 * series count stay bounded whatever the traffic looks like. (OpenTelemetry
 * SDKs do the same with an `otel.metric.overflow` attribute; keeping the
 * family's own label names instead means `sum by (client, server)` panels and
 * alerts show the overflow as one readable row rather than an empty one.)
 */

export const OVERFLOW_LABEL_VALUE = '_overflow_';

export class CappedSeries<T> {
  private readonly series = new Map<string, { values: readonly string[]; value: T }>();
  private overflow: T | undefined;
  /** Observations that went to the overflow series. */
  overflowed = 0;

  constructor(
    readonly labelNames: readonly string[],
    private readonly maxSeries: number,
    private readonly create: () => T,
  ) {
    if (maxSeries < 1) throw new Error('maxSeries must be at least 1');
  }

  /** The series for these label values (in labelNames order), created or overflowed as needed. */
  get(values: readonly string[]): T {
    if (values.length !== this.labelNames.length) throw new Error(`expected ${this.labelNames.length} label values, got ${values.length}`);
    const key = values.join('\u0000');
    const found = this.series.get(key);
    if (found) return found.value;
    if (this.series.size < this.maxSeries) {
      const value = this.create();
      this.series.set(key, { values: [...values], value });
      return value;
    }
    this.overflowed += 1;
    this.overflow ??= this.create();
    return this.overflow;
  }

  get size(): number {
    return this.series.size + (this.overflow ? 1 : 0);
  }

  /** Every series with its labels, in a stable order (sorted by label values, overflow last). */
  entries(): Array<{ labels: Record<string, string>; value: T }> {
    const rows = [...this.series.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, row]) => ({ labels: this.labelsOf(row.values), value: row.value }));
    if (this.overflow !== undefined) {
      rows.push({ labels: this.labelsOf(this.labelNames.map(() => OVERFLOW_LABEL_VALUE)), value: this.overflow });
    }
    return rows;
  }

  private labelsOf(values: readonly string[]): Record<string, string> {
    return Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]!]));
  }
}
