import React, { useCallback, useMemo, useRef, useState } from 'react';
import { type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { useTheme2 } from '@grafana/ui';
import { Details } from './Details';
import { fmtMs } from './format';
import { Row } from './Row';
import { readWaterfall, type Waterfall } from './tree';
import type { WaterfallOptions } from './types';
import { allParents, hiddenMatches, revealMatches, rowWindow, searchRows, visibleRows } from './view';

const TOOLBAR_H = 32;
const AXIS_H = 22;
/** Room for the scroll bar so the last tick is not under it. */
const SCROLLBAR = 14;

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
  // Keyed by trace: collapse, search and selection start afresh for another trace.
  return <TraceView key={result.waterfall.traceId} waterfall={result.waterfall} width={width} height={height} options={options} theme={theme} />;
}

interface TraceViewProps {
  waterfall: Waterfall;
  width: number;
  height: number;
  options: WaterfallOptions;
  theme: GrafanaTheme2;
}

function TraceView({ waterfall, width, height, options, theme }: TraceViewProps) {
  const { rows, totalMs, traceId } = waterfall;
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [selected, setSelected] = useState<string | undefined>();
  const [scrollTop, setScrollTop] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);

  const matches = useMemo(() => searchRows(rows, query), [rows, query]);
  // Matches are never hidden in a collapsed subtree: their ancestors open while the search lasts.
  const shownCollapsed = useMemo(() => revealMatches(rows, collapsed, matches), [rows, collapsed, matches]);
  const shown = useMemo(() => visibleRows(rows, shownCollapsed), [rows, shownCollapsed]);
  const matchPositions = useMemo(() => {
    const out: number[] = [];
    shown.forEach((r, i) => matches.has(r.spanId) && out.push(i));
    return out;
  }, [shown, matches]);
  const criticalMs = useMemo(() => rows.reduce((s, r) => s + r.critical.reduce((a, c) => a + c.endMs - c.startMs, 0), 0), [rows]);

  const rowH = options.rowHeight;
  const labelW = Math.min(options.labelWidth, Math.max(120, width / 2));
  const barW = Math.max(50, width - labelW - SCROLLBAR - 8);
  const selectedRow = selected === undefined ? undefined : rows.find((r) => r.spanId === selected);
  const detailsH = selectedRow ? Math.min(options.detailsHeight, Math.max(80, height / 2)) : 0;
  const bodyH = Math.max(rowH, height - TOOLBAR_H - AXIS_H - detailsH);
  // The browser clamps scrollTop when content shrinks (collapse), but the state only catches up on the next scroll event.
  const win = rowWindow(shown.length, rowH, Math.min(scrollTop, Math.max(0, shown.length * rowH - bodyH)), bodyH);

  const onToggle = useCallback((id: string) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);
  const onSelect = useCallback((id: string) => setSelected((prev) => (prev === id ? undefined : id)), []);
  const goTo = (k: number) => {
    if (matchPositions.length === 0) return;
    const n = ((k % matchPositions.length) + matchPositions.length) % matchPositions.length;
    setActive(n);
    const top = matchPositions[n]! * rowH;
    if (scroller.current) scroller.current.scrollTop = Math.max(0, top - bodyH / 2);
  };
  const activeSpan = matchPositions.length > 0 ? shown[matchPositions[Math.min(active, matchPositions.length - 1)]!]?.spanId : undefined;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const button: React.CSSProperties = {
    background: theme.colors.secondary.main,
    color: theme.colors.secondary.text,
    border: `1px solid ${theme.colors.border.medium}`,
    borderRadius: theme.shape.radius.default,
    padding: '1px 8px',
    cursor: 'pointer',
    fontSize: theme.typography.bodySmall.fontSize,
  };

  return (
    <div
      data-testid="waterfall"
      data-trace={traceId}
      data-spans={rows.length}
      style={{ width, height, display: 'flex', flexDirection: 'column', fontSize: theme.typography.bodySmall.fontSize, color: theme.colors.text.primary }}
    >
      <div style={{ height: TOOLBAR_H, display: 'flex', alignItems: 'center', gap: 8, padding: '0 8px', borderBottom: `1px solid ${theme.colors.border.weak}`, flex: 'none' }}>
        <span style={{ color: theme.colors.text.secondary, whiteSpace: 'nowrap' }}>
          Trace {traceId.slice(0, 16)} · <span data-testid="waterfall-span-count">{rows.length}</span> spans · {fmtMs(totalMs)}
          {options.showCriticalPath && criticalMs > 0 ? ` · critical path ${fmtMs(criticalMs)}` : ''}
        </span>
        <input
          data-testid="waterfall-search"
          aria-label="Search spans in this trace"
          placeholder="Search service, operation, attribute…"
          value={query}
          onChange={(e) => {
            const value = e.target.value;
            setQuery(value);
            setActive(0);
            // Bring the first match into view as the user types (its collapsed ancestors open, as when rendering).
            const found = searchRows(rows, value);
            if (found.size === 0 || !scroller.current) return;
            const first = visibleRows(rows, revealMatches(rows, collapsed, found)).findIndex((r) => found.has(r.spanId));
            const top = first * rowH;
            if (top < scroller.current.scrollTop || top > scroller.current.scrollTop + bodyH - rowH) scroller.current.scrollTop = Math.max(0, top - bodyH / 2);
          }}
          onKeyDown={(e) => e.key === 'Enter' && goTo(active + (e.shiftKey ? -1 : 1))}
          style={{
            flex: '1 1 160px',
            minWidth: 100,
            maxWidth: 320,
            background: theme.components.input.background,
            color: theme.components.input.text,
            border: `1px solid ${theme.components.input.borderColor}`,
            borderRadius: theme.shape.radius.default,
            padding: '2px 6px',
          }}
        />
        {query.trim() !== '' && (
          <span data-testid="waterfall-search-count" data-count={matches.size} style={{ color: theme.colors.text.secondary, whiteSpace: 'nowrap' }}>
            {matches.size === 0 ? 'no match' : `${Math.min(active, matchPositions.length - 1) + 1} of ${matches.size}`}
          </span>
        )}
        {matches.size > 1 && (
          <>
            <button style={button} aria-label="Previous match" onClick={() => goTo(active - 1)}>
              ↑
            </button>
            <button style={button} aria-label="Next match" onClick={() => goTo(active + 1)}>
              ↓
            </button>
          </>
        )}
        <span style={{ flex: 1 }} />
        <button data-testid="waterfall-collapse-all" style={button} onClick={() => setCollapsed(allParents(rows))}>
          Collapse all
        </button>
        <button data-testid="waterfall-expand-all" style={button} onClick={() => setCollapsed(new Set())}>
          Expand all
        </button>
      </div>
      <div style={{ height: AXIS_H, display: 'flex', flex: 'none', color: theme.colors.text.secondary, borderBottom: `1px solid ${theme.colors.border.weak}` }}>
        <div style={{ width: labelW, padding: '0 8px', lineHeight: `${AXIS_H}px`, boxSizing: 'border-box' }}>
          Service · kind · operation
          <span style={{ marginLeft: 8, borderBottom: `1px dashed ${theme.colors.warning.main}` }}> inferred link</span>
        </div>
        <div style={{ position: 'relative', width: barW }}>
          {ticks.map((t) => (
            <span
              key={t}
              style={{
                position: 'absolute',
                left: t * barW,
                transform: t === 0 ? undefined : t === 1 ? 'translateX(-100%)' : 'translateX(-50%)',
                lineHeight: `${AXIS_H}px`,
                whiteSpace: 'nowrap',
              }}
            >
              {fmtMs(t * totalMs)}
            </span>
          ))}
        </div>
      </div>
      <div
        ref={scroller}
        data-testid="waterfall-body"
        role="grid"
        aria-rowcount={shown.length}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        style={{ height: bodyH, overflowY: 'auto', overflowX: 'hidden', position: 'relative', flex: 'none' }}
      >
        {/* Virtualised: the spacer has every row's height; only the rows in view (plus overscan) are in the DOM. */}
        <div style={{ height: shown.length * rowH, position: 'relative' }}>
          {shown.slice(win.first, win.last).map((r, k) => {
            const isCollapsed = shownCollapsed.has(r.spanId);
            return (
              <Row
                key={r.spanId}
                row={r}
                top={(win.first + k) * rowH}
                height={rowH}
                labelWidth={labelW}
                barWidth={barW}
                totalMs={totalMs}
                theme={theme}
                collapsed={isCollapsed}
                hiddenMatches={isCollapsed ? hiddenMatches(r, rows, matches) : 0}
                match={matches.has(r.spanId)}
                activeMatch={activeSpan === r.spanId}
                selected={selected === r.spanId}
                showCriticalPath={options.showCriticalPath}
                showNetworkGaps={options.showNetworkGaps}
                onToggle={onToggle}
                onSelect={onSelect}
              />
            );
          })}
        </div>
      </div>
      {selectedRow && <Details row={selectedRow} theme={theme} height={detailsH} onClose={() => setSelected(undefined)} />}
    </div>
  );
}
