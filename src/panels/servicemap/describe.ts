/**
 * Words for the service map: the one-line summaries (edge labels, node
 * stats), the hover/focus card lines and the aria-labels screen readers read.
 * Pure.
 */
import { formatMs, formatRate, formatRatio, type MapEdge, type MapNode } from './graph';

export function edgeLabel(e: MapEdge): [string, string] {
  const first = e.p95Ms === undefined ? 'p95 –' : `p95 ${formatMs(e.p95Ms)}`;
  const rest = [
    e.ratePerSec === undefined ? undefined : formatRate(e.ratePerSec),
    e.errorRatio ? `${formatRatio(e.errorRatio)} err` : undefined,
    e.protocol,
    e.networkTimeMs === undefined ? undefined : `net ${formatMs(e.networkTimeMs)}`,
  ];
  return [first, rest.filter((x) => x !== undefined).join(' · ')];
}

export function edgeLines(e: MapEdge): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  if (e.protocol) lines.push(['Protocol', e.protocol]);
  if (e.p50Ms !== undefined || e.p95Ms !== undefined || e.p99Ms !== undefined) {
    lines.push(['Latency p50 / p95 / p99', [e.p50Ms, e.p95Ms, e.p99Ms].map((v) => (v === undefined ? '–' : formatMs(v))).join(' / ')]);
  }
  if (e.networkTimeMs !== undefined) lines.push(['Network time', formatMs(e.networkTimeMs)]);
  const shown = new Set(['Protocol', 'p50 latency', 'p99 latency', 'Network time']);
  return [...lines, ...e.details.filter(([k]) => !shown.has(k))];
}

export function nodeLines(n: MapNode): Array<[string, string]> {
  const lines: Array<[string, string]> = [['Kind', n.external ? 'external peer (not captured here)' : 'service']];
  if (n.p95Ms !== undefined) lines.push(['p95 latency', formatMs(n.p95Ms)]);
  if (n.ratePerSec !== undefined) lines.push(['Requests', formatRate(n.ratePerSec)]);
  if (n.errorRatio !== undefined) lines.push(['Error ratio', formatRatio(n.errorRatio)]);
  return [...lines, ...n.details.filter(([k]) => k !== 'Errors' || n.errorRatio === undefined)];
}

/** The second line of a node's card. */
export function nodeStats(n: MapNode): string {
  if (n.external) return 'external peer';
  return [n.p95Ms === undefined ? 'caller only' : `p95 ${formatMs(n.p95Ms)}`, n.ratePerSec ? formatRate(n.ratePerSec) : undefined, n.errorRatio ? `${formatRatio(n.errorRatio)} err` : undefined]
    .filter((x) => x !== undefined)
    .join(' · ');
}

function figures(rate: number | undefined, errorRatio: number | undefined, p95: number | undefined): string {
  return [
    `rate ${rate === undefined ? 'unknown' : formatRate(rate)}`,
    `error ratio ${errorRatio === undefined ? 'unknown' : formatRatio(errorRatio)}`,
    `p95 ${p95 === undefined ? 'unknown' : formatMs(p95)}`,
  ].join(', ');
}

export function nodeAria(n: MapNode): string {
  if (n.external) return `${n.title}, external peer (not captured here): ${figures(n.ratePerSec, n.errorRatio, n.p95Ms)}. Enter opens its traces.`;
  return `${n.title}, service: ${figures(n.ratePerSec, n.errorRatio, n.p95Ms)}. Enter opens its traces.`;
}

export function edgeAria(e: MapEdge): string {
  const extra = [e.protocol ? `protocol ${e.protocol}` : undefined, e.networkTimeMs === undefined ? undefined : `network time ${formatMs(e.networkTimeMs)}`].filter((x) => x !== undefined);
  return `Calls from ${e.source} to ${e.target}: ${figures(e.ratePerSec, e.errorRatio, e.p95Ms)}${extra.length ? `, ${extra.join(', ')}` : ''}. Enter opens their traces.`;
}

export const KEYBOARD_HELP =
  'Arrow keys move between services (the nearest one in that direction); ] and [ step through the focused service\'s calls; Enter or Space opens traces; Escape clears; + and - zoom; 0 fits the map.';
