/**
 * Prometheus text exposition format 0.0.4 renderer: `# HELP` and `# TYPE`
 * once per family, then one line per sample. Names are checked (a bad name
 * would make Prometheus reject the whole scrape, so it is a programming error
 * here), and HELP text and label values are escaped as the format requires.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** The per-sample name suffixes a histogram family is made of. */
export type HistogramSuffix = '_bucket' | '_sum' | '_count';

export interface MetricSample {
  labels?: Readonly<Record<string, string>>;
  value: number;
  /** Histogram families only: which of the series' parts this sample is. */
  suffix?: HistogramSuffix;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly MetricSample[];
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text: backslash and line feed are escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Go ParseFloat-compatible numbers, with the format's spellings of the special values. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function checkFamily(family: MetricFamily): void {
  if (!METRIC_NAME.test(family.name)) throw new Error(`invalid metric name: ${family.name}`);
  if (family.type === 'counter' && !family.name.endsWith('_total')) {
    throw new Error(`counter ${family.name} must end in _total`);
  }
  for (const sample of family.samples) {
    // Every histogram sample names its part; other types never have parts.
    if ((family.type === 'histogram') !== (sample.suffix !== undefined)) {
      throw new Error(`sample suffix ${sample.suffix ?? 'none'} does not fit ${family.type} ${family.name}`);
    }
    if (sample.suffix === '_bucket' && sample.labels?.['le'] === undefined) throw new Error(`bucket of ${family.name} without le`);
    for (const label of Object.keys(sample.labels ?? {})) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`invalid label name ${label} on ${family.name}`);
    }
  }
}

function renderLabels(labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

export function renderExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    checkFamily(family);
    if (seen.has(family.name)) throw new Error(`metric family ${family.name} rendered twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${family.name}${sample.suffix ?? ''}${renderLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  // The format requires a line feed after the last line.
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
