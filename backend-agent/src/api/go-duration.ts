/**
 * Go's time.ParseDuration syntax, which Jaeger (and so Grafana) use for
 * minDuration/maxDuration: a sequence of decimal numbers each with a unit,
 * e.g. "300ms", "1.5h", "2h45m", "1.2ms"; "0" alone needs no unit.
 * Returns nanoseconds, or undefined when the text is not a valid duration.
 */
const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const COMPONENT = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let totalNs = 0;
  while (rest.length > 0) {
    const match = COMPONENT.exec(rest);
    if (!match) return undefined;
    totalNs += Number(match[1]) * UNIT_NS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  const ns = Math.round(sign * totalNs);
  return Number.isSafeInteger(ns) ? ns : undefined;
}
