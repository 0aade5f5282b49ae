/** Summaries of repeated measurements: medians with their spread, never a single lucky run. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** Relative cost of `withX` over `base` in percent; positive = worse. */
export function costPct(base: number, withX: number, higherIsBetter: boolean): number {
  if (!(base > 0)) return NaN;
  return higherIsBetter ? ((base - withX) / base) * 100 : ((withX - base) / base) * 100;
}

export function fmtNum(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtPct(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return `${n >= 0 ? '+' : ''}${n.toFixed(1)}%`;
}

export function fmtSummary(s: Summary, digits = 0): string {
  if (s.n <= 1) return fmtNum(s.median, digits);
  return `${fmtNum(s.median, digits)} [${fmtNum(s.min, digits)}..${fmtNum(s.max, digits)}]`;
}

/** Renders rows as a Markdown table, so the same text goes to the terminal and to docs/BENCHMARKS.md. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
