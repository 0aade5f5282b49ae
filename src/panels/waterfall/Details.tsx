/**
 * The selected span's details: the call, what the network showed (connection,
 * keep-alive reuse, endpoints, capture source, sizes, network gap), how its
 * parent link was made, the process, and every attribute.
 */
import React from 'react';
import type { GrafanaTheme2 } from '@grafana/data';
import { fmtBytes, fmtMs, fmtPercent } from './format';
import type { KeyValue } from './spans';
import type { SpanRow } from './tree';

type Pairs = Array<[string, string]>;

function processValue(tags: readonly KeyValue[], ...keys: string[]): string | undefined {
  for (const k of keys) {
    const t = tags.find((x) => x.key === k);
    if (t) return String(t.value);
  }
  return undefined;
}

function compact(pairs: Array<[string, string | undefined]>): Pairs {
  return pairs.filter((p): p is [string, string] => p[1] !== undefined);
}

export function detailSections(row: SpanRow): Array<[string, Pairs]> {
  const c = row.connection;
  const thread = row.tags.find((t) => t.key === 'thread.id');
  const sections: Array<[string, Pairs]> = [
    [
      'Span',
      compact([
        ['Service', row.service],
        ['Operation', row.operation],
        ['Kind', row.kind || undefined],
        ['Status', row.error ? `error${row.statusMessage ? `: ${row.statusMessage}` : ''}` : 'ok'],
        ['Duration', fmtMs(row.durationMs)],
        ['Start', `+${fmtMs(row.offsetMs)}`],
        ['Peer', row.peer],
        ['Span id', row.spanId],
        ['Critical path', row.critical.length > 0 ? fmtMs(row.critical.reduce((s, x) => s + x.endMs - x.startMs, 0)) : undefined],
      ]),
    ],
    [
      'Network',
      compact([
        ['Protocol', c.protocol],
        ['Connection', c.connectionId],
        ['Exchange', c.exchangeIndex === undefined ? undefined : `#${c.exchangeIndex}${c.exchangeIndex > 0 ? ' (reused keep-alive connection)' : ' (new connection)'}`],
        ['Local', c.local],
        ['Remote', c.remote],
        ['Capture', c.captureSource === 'tls' ? 'tls (TLS library probe)' : c.captureSource === 'syscall' ? 'syscall (plaintext on the socket)' : c.captureSource],
        ['Request', c.requestBytes === undefined ? undefined : `${fmtBytes(c.requestBytes)}${c.requestTransferMs !== undefined ? ` in ${fmtMs(c.requestTransferMs)}` : ''}`],
        ['Response', c.responseBytes === undefined ? undefined : `${fmtBytes(c.responseBytes)}${c.responseTransferMs !== undefined ? ` in ${fmtMs(c.responseTransferMs)}` : ''}`],
        ['Network gap', row.gap ? `${fmtMs(row.gap.totalMs)} (${fmtMs(row.gap.beforeMs)} before, ${fmtMs(row.gap.afterMs)} after the server)` : undefined],
        ['Truncated', c.truncated ? 'payload cut by the capture limit' : undefined],
      ]),
    ],
  ];
  if (row.link) {
    sections.push([
      'Parent link',
      compact([
        ['Method', `${row.link.method}${row.link.inferred ? ' (inferred without trace headers)' : ''}`],
        ['Confidence', row.link.confidence === undefined ? undefined : fmtPercent(row.link.confidence)],
        ['Alternatives', row.link.alternatives === undefined ? undefined : String(row.link.alternatives)],
        ['Network time', row.link.networkTimeMs === undefined ? undefined : fmtMs(row.link.networkTimeMs)],
      ]),
    ]);
  }
  const pt = row.processTags;
  sections.push([
    'Process',
    compact([
      ['pid', processValue(pt, 'process.pid')],
      ['Thread', thread ? String(thread.value) : undefined],
      ['Executable', processValue(pt, 'process.executable.name')],
      ['Command', processValue(pt, 'process.command_line')],
      ['Container', processValue(pt, 'container.id')],
      ['Host', processValue(pt, 'host.name', 'hostname')],
      ['Named from', processValue(pt, 'wiretrace.service_name.source')],
    ]),
  ]);
  sections.push(['Attributes', row.tags.map((t) => [t.key, String(t.value)])]);
  if (row.warnings.length > 0) sections.push(['Warnings', row.warnings.map((w, i) => [`${i + 1}`, w])]);
  return sections.filter(([, pairs]) => pairs.length > 0);
}

export function Details({ row, theme, height, onClose }: { row: SpanRow; theme: GrafanaTheme2; height: number; onClose(): void }) {
  return (
    <div
      data-testid="waterfall-details"
      data-span={row.spanId}
      style={{ height, overflow: 'auto', borderTop: `2px solid ${theme.colors.border.medium}`, background: theme.colors.background.secondary, padding: '6px 10px', boxSizing: 'border-box' }}
    >
      <div style={{ display: 'flex', justifyContent: 'space-between', marginBottom: 4 }}>
        <strong>
          {row.service} · {row.operation}
        </strong>
        <button aria-label="Close details" onClick={onClose} style={{ border: 'none', background: 'none', color: theme.colors.text.secondary, cursor: 'pointer' }}>
          ✕
        </button>
      </div>
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 16 }}>
        {detailSections(row).map(([title, pairs]) => (
          <div key={title} style={{ minWidth: 220, maxWidth: 520 }}>
            <div style={{ color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium, marginBottom: 2 }}>{title}</div>
            {pairs.map(([k, v], i) => (
              <div key={`${k}-${i}`} style={{ display: 'flex', gap: 8 }}>
                <span style={{ color: theme.colors.text.secondary, minWidth: 90 }}>{k}</span>
                <span style={{ color: theme.colors.text.primary, wordBreak: 'break-all' }}>{v}</span>
              </div>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}
