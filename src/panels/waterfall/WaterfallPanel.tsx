import React, { useMemo } from 'react';
import { type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { useTheme2 } from '@grafana/ui';
import { readWaterfall, type SpanRow } from './tree';
import type { WaterfallOptions } from './types';

function barColor(theme: GrafanaTheme2, row: SpanRow): string {
  if (row.error) return theme.colors.error.main;
  // Client and server sides of an RPC in distinct colours, so the network gap between them shows.
  if (row.kind === 'client') return theme.visualization.getColorByName('blue');
  if (row.kind === 'server') return theme.visualization.getColorByName('green');
  return theme.colors.text.disabled;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

export function WaterfallPanel({ data, width, height, options }: PanelProps<WaterfallOptions>) {
  const theme = useTheme2();
  const result = useMemo(() => readWaterfall(data.series), [data.series]);
  if (!result.ok) {
    return (
      <div data-testid="waterfall-message" style={{ padding: theme.spacing(2), color: theme.colors.text.secondary }}>
        {result.message}
      </div>
    );
  }
  const { rows, totalMs, traceId } = result.waterfall;
  const rowH = options.rowHeight;
  const labelW = Math.min(options.labelWidth, Math.max(120, width / 2));
  const barW = Math.max(50, width - labelW - 24);
  return (
    <div style={{ width, height, overflow: 'auto', fontSize: theme.typography.bodySmall.fontSize }} data-testid="waterfall" data-trace={traceId}>
      <div style={{ display: 'flex', color: theme.colors.text.secondary, padding: '4px 8px', borderBottom: `1px solid ${theme.colors.border.weak}` }}>
        <div style={{ width: labelW }}>
          Trace {traceId.slice(0, 16)} · {rows.length} spans
        </div>
        <div style={{ width: barW, display: 'flex', justifyContent: 'space-between' }}>
          <span>0</span>
          <span>{fmt(totalMs)}</span>
        </div>
      </div>
      {rows.map((r) => {
        const left = (r.offsetMs / totalMs) * barW;
        const w = Math.max(2, (r.durationMs / totalMs) * barW);
        return (
          <div
            key={r.spanId}
            data-testid="waterfall-row"
            data-span={r.spanId}
            data-kind={r.kind}
            title={`${r.service} ${r.kind} ${r.operation}: ${fmt(r.durationMs)} at +${fmt(r.offsetMs)}`}
            style={{ display: 'flex', alignItems: 'center', height: rowH, padding: '0 8px', borderBottom: `1px solid ${theme.colors.border.weak}` }}
          >
            <div style={{ width: labelW, paddingLeft: r.depth * 14, overflow: 'hidden', whiteSpace: 'nowrap', textOverflow: 'ellipsis', boxSizing: 'border-box' }}>
              <span style={{ color: theme.colors.text.primary, fontWeight: theme.typography.fontWeightMedium }}>{r.service}</span>{' '}
              <span style={{ color: barColor(theme, r) }}>{r.kind}</span> <span style={{ color: theme.colors.text.secondary }}>{r.operation}</span>
            </div>
            <div style={{ position: 'relative', width: barW, height: rowH - 8 }}>
              <div style={{ position: 'absolute', left, width: w, top: 0, bottom: 0, background: barColor(theme, r), borderRadius: 2 }} />
              <span
                style={
                  // Right of the bar when it fits, else inside the bar's right end in the bar's contrast colour.
                  left + w + 64 <= barW
                    ? { position: 'absolute', left: left + w + 4, color: theme.colors.text.secondary, lineHeight: `${rowH - 8}px` }
                    : { position: 'absolute', right: barW - (left + w) + 4, color: theme.colors.getContrastText(barColor(theme, r)), lineHeight: `${rowH - 8}px` }
                }
              >
                {fmt(r.durationMs)}
              </span>
            </div>
          </div>
        );
      })}
    </div>
  );
}
