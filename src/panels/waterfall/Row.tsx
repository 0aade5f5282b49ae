/**
 * One waterfall row: the tree label (indent, connector, collapse toggle,
 * service, kind, operation, inferred-link badge) and the timeline (the span's
 * bar, its client side and network gaps when it is the server side of an
 * RPC, its critical-path sections).
 */
import React from 'react';
import type { GrafanaTheme2 } from '@grafana/data';
import { fmtMs, fmtPercent } from './format';
import type { SpanRow } from './tree';

export const INDENT = 14;

export function kindColor(theme: GrafanaTheme2, row: Pick<SpanRow, 'kind' | 'error'>): string {
  if (row.error) return theme.colors.error.main;
  // Client and server sides of an RPC in distinct colours, so the network gap between them shows.
  if (row.kind === 'client') return theme.visualization.getColorByName('blue');
  if (row.kind === 'server') return theme.visualization.getColorByName('green');
  return theme.visualization.getColorByName('purple');
}

export interface RowProps {
  row: SpanRow;
  top: number;
  height: number;
  labelWidth: number;
  barWidth: number;
  totalMs: number;
  theme: GrafanaTheme2;
  collapsed: boolean;
  hiddenMatches: number;
  match: boolean;
  activeMatch: boolean;
  selected: boolean;
  /** The keyboard cursor's row: the grid's one tab stop. */
  cursor: boolean;
  /** Draw the focus ring (the cursor row while the grid has keyboard focus). */
  focusRing: boolean;
  showCriticalPath: boolean;
  showNetworkGaps: boolean;
  onToggle(spanId: string): void;
  onSelect(spanId: string): void;
}

export function linkBadgeText(row: SpanRow): string | undefined {
  const l = row.link;
  if (!l || !l.inferred) return undefined;
  const parts = [l.method];
  if (l.confidence !== undefined) parts.push(fmtPercent(l.confidence));
  if (l.alternatives) parts.push(`${l.alternatives} alt`);
  return parts.join(' · ');
}

function RowImpl(p: RowProps) {
  const { row, theme, height, labelWidth, barWidth, totalMs } = p;
  const x = (ms: number) => (ms / totalMs) * barWidth;
  const color = kindColor(theme, row);
  const left = x(row.offsetMs);
  const w = Math.max(2, x(row.durationMs));
  const barH = Math.max(6, height - 10);
  const inferred = row.link?.inferred === true;
  const badge = linkBadgeText(row);
  const onPath = row.critical.length > 0;
  const bg = p.selected
    ? theme.colors.action.selected
    : p.activeMatch
      ? theme.colors.warning.transparent
      : p.match
        ? theme.colors.action.focus
        : 'transparent';
  const gap = p.showNetworkGaps ? row.gap : undefined;
  const hatch = `repeating-linear-gradient(135deg, ${theme.colors.warning.main} 0 3px, transparent 3px 6px)`;
  return (
    <div
      data-testid="waterfall-row"
      data-span={row.spanId}
      data-kind={row.kind}
      data-depth={row.depth}
      data-critical={onPath ? 'true' : 'false'}
      data-match={p.match ? 'true' : 'false'}
      data-inferred={inferred ? 'true' : 'false'}
      role="row"
      tabIndex={p.cursor ? 0 : -1}
      aria-level={row.depth + 1}
      aria-expanded={row.childCount > 0 ? !p.collapsed : undefined}
      aria-selected={p.selected}
      aria-label={`${row.service} ${row.kind || 'span'} ${row.operation}, ${fmtMs(row.durationMs)}${row.error ? ', error' : ''}${gap ? `, network ${fmtMs(gap.totalMs)}` : ''}`}
      onClick={() => p.onSelect(row.spanId)}
      style={{
        outline: p.focusRing ? `2px solid ${theme.colors.primary.main}` : 'none',
        outlineOffset: -2,
        position: 'absolute',
        top: p.top,
        left: 0,
        right: 0,
        height,
        display: 'flex',
        alignItems: 'center',
        background: bg,
        borderBottom: `1px solid ${theme.colors.border.weak}`,
        cursor: 'pointer',
        boxSizing: 'border-box',
      }}
    >
      <div style={{ position: 'relative', width: labelWidth, height: '100%', display: 'flex', alignItems: 'center', overflow: 'hidden', whiteSpace: 'nowrap', flex: 'none' }}>
        {row.depth > 0 && (
          // Elbow from the parent's column to this row: dashed when the link was inferred without headers.
          <div
            data-testid="waterfall-connector"
            data-inferred={inferred ? 'true' : 'false'}
            style={{
              position: 'absolute',
              left: 8 + (row.depth - 1) * INDENT + 4,
              top: 0,
              width: INDENT - 6,
              height: height / 2,
              borderLeft: `${inferred ? 1.5 : 1}px ${inferred ? 'dashed' : 'solid'} ${inferred ? theme.colors.warning.main : theme.colors.border.strong}`,
              borderBottom: `${inferred ? 1.5 : 1}px ${inferred ? 'dashed' : 'solid'} ${inferred ? theme.colors.warning.main : theme.colors.border.strong}`,
            }}
          />
        )}
        <div style={{ width: 8 + row.depth * INDENT, flex: 'none' }} />
        {row.childCount > 0 ? (
          <button
            data-testid="waterfall-toggle"
            // Not a tab stop of its own: Left and Right on the row do the same.
            tabIndex={-1}
            aria-label={p.collapsed ? `Expand ${row.descendants} spans` : 'Collapse'}
            aria-expanded={!p.collapsed}
            onClick={(ev) => {
              ev.stopPropagation();
              p.onToggle(row.spanId);
            }}
            style={{ width: 16, height: 16, padding: 0, border: 'none', background: 'none', color: theme.colors.text.secondary, cursor: 'pointer', flex: 'none' }}
          >
            {p.collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span style={{ width: 16, flex: 'none' }} />
        )}
        <span style={{ color: theme.colors.text.primary, fontWeight: theme.typography.fontWeightMedium }}>{row.service}</span>
        <span style={{ color, margin: '0 4px' }}>{row.kind || 'span'}</span>
        <span style={{ color: theme.colors.text.secondary, overflow: 'hidden', textOverflow: 'ellipsis' }}>{row.operation}</span>
        {p.collapsed && (
          <span data-testid="waterfall-collapsed-count" style={{ marginLeft: 4, color: theme.colors.text.secondary }}>
            (+{row.descendants}
            {p.hiddenMatches > 0 ? `, ${p.hiddenMatches} match${p.hiddenMatches > 1 ? 'es' : ''}` : ''})
          </span>
        )}
        {badge && (
          <span
            data-testid="waterfall-link-badge"
            data-method={row.link!.method}
            title={`Parent link inferred without trace headers (${row.link!.method}); confidence ${row.link!.confidence ?? '?'}; ${row.link!.alternatives ?? 0} alternative parents`}
            style={{
              marginLeft: 6,
              padding: '0 4px',
              borderRadius: 3,
              border: `1px dashed ${theme.colors.warning.border}`,
              color: theme.colors.warning.text,
              fontSize: 10,
              lineHeight: '14px',
              flex: 'none',
            }}
          >
            ⇢ {badge}
          </span>
        )}
        {row.error && <span style={{ marginLeft: 4, color: theme.colors.error.text }}>!</span>}
      </div>
      <div style={{ position: 'relative', width: barWidth, height: barH, flex: 'none' }}>
        {gap && (
          <>
            {/* The client side of this call, behind the server bar, and the network time on each side of it. */}
            <div
              data-testid="waterfall-client-ghost"
              style={{
                position: 'absolute',
                left: x(gap.clientOffsetMs),
                width: Math.max(2, x(gap.clientDurationMs)),
                top: 1,
                bottom: 1,
                border: `1px solid ${theme.visualization.getColorByName('blue')}`,
                borderRadius: 2,
                boxSizing: 'border-box',
              }}
            />
            {gap.beforeMs > 0 && (
              <div
                data-testid="waterfall-gap"
                data-side="before"
                title={`Network before the server: ${fmtMs(gap.beforeMs)}`}
                style={{ position: 'absolute', left: x(gap.clientOffsetMs), width: Math.max(1, x(gap.beforeMs)), top: 2, bottom: 2, background: hatch }}
              />
            )}
            {gap.afterMs > 0 && (
              <div
                data-testid="waterfall-gap"
                data-side="after"
                title={`Network after the server: ${fmtMs(gap.afterMs)}`}
                style={{ position: 'absolute', left: left + x(row.durationMs), width: Math.max(1, x(gap.afterMs)), top: 2, bottom: 2, background: hatch }}
              />
            )}
          </>
        )}
        <div data-testid="waterfall-bar" style={{ position: 'absolute', left, width: w, top: 3, bottom: 3, background: color, borderRadius: 2, opacity: p.showCriticalPath && !onPath ? 0.75 : 1 }} />
        {p.showCriticalPath &&
          row.critical.map((c) => (
            <div
              key={c.startMs}
              data-testid="waterfall-critical"
              style={{ position: 'absolute', left: x(c.startMs), width: Math.max(2, x(c.endMs - c.startMs)), top: 0, height: 3, background: theme.colors.text.primary }}
            />
          ))}
        <span
          style={
            // Right of the bar when it fits, else inside the bar's right end in the bar's contrast colour.
            left + w + 150 <= barWidth
              ? { position: 'absolute', left: left + w + 4, color: theme.colors.text.secondary, lineHeight: `${barH}px`, whiteSpace: 'nowrap' }
              : { position: 'absolute', right: barWidth - (left + w) + 4, color: theme.colors.getContrastText(color), lineHeight: `${barH}px`, whiteSpace: 'nowrap' }
          }
        >
          {fmtMs(row.durationMs)}
          {gap && (
            <span data-testid="waterfall-gap-label" style={{ marginLeft: 6, color: left + w + 150 <= barWidth ? theme.colors.warning.text : undefined }}>
              net {fmtMs(gap.totalMs)}
            </span>
          )}
        </span>
      </div>
    </div>
  );
}

/** Rows re-render only when their own props change: scrolling a 5,000-span trace touches only the rows entering view. */
export const Row = React.memo(RowImpl);
