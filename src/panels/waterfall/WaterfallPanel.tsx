import React, { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { useTheme2 } from '@grafana/ui';
import { Details } from './Details';
import { fmtMs } from './format';
import { Row } from './Row';
import { readWaterfall, type Waterfall } from './tree';
import type { WaterfallOptions } from './types';
import { rowKeyAction } from './keys';
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
  const search = useRef<HTMLInputElement>(null);
  // The keyboard cursor (a span id, so it survives collapsing), and whether the grid has focus (the ring shows only then).
  const [cursorId, setCursorId] = useState<string | undefined>();
  const [gridFocused, setGridFocused] = useState(false);
  const focusCursor = useRef(false);

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
  const onSelect = useCallback((id: string) => {
    setCursorId(id);
    setSelected((prev) => (prev === id ? undefined : id));
  }, []);
  // The cursor's row in view; a cursor inside a collapsed subtree falls back to the first row.
  const cursorAt = useMemo(() => {
    const i = cursorId === undefined ? -1 : shown.findIndex((r) => r.spanId === cursorId);
    return Math.max(0, i);
  }, [shown, cursorId]);
  const cursorSpan = shown[cursorAt]?.spanId;

  /** Scrolls a row into view now (the row window follows at once, so the row is in the DOM to take focus). */
  const reveal = (i: number) => {
    const el = scroller.current;
    if (!el) return;
    const top = i * rowH;
    let next = el.scrollTop;
    if (top < next) next = top;
    else if (top + rowH > next + bodyH) next = top + rowH - bodyH;
    if (next !== el.scrollTop) {
      el.scrollTop = next;
      setScrollTop(next);
    }
  };
  const moveCursor = (i: number) => {
    reveal(i);
    focusCursor.current = true;
    setCursorId(shown[i]!.spanId);
  };
  // Focus follows the cursor once its row is rendered (it may have just scrolled into the window); a layout
  // effect, so focus has moved before the key's task ends (the next key press lands on the new row).
  useLayoutEffect(() => {
    if (!focusCursor.current || cursorSpan === undefined) return;
    focusCursor.current = false;
    scroller.current?.querySelector<HTMLElement>(`[data-testid="waterfall-row"][data-span="${CSS.escape(cursorSpan)}"]`)?.focus({ preventScroll: true });
  });

  const onGridKey = (ev: React.KeyboardEvent) => {
    if (ev.target instanceof HTMLInputElement) return;
    if (ev.key === 'Escape') {
      if (selected === undefined) return;
      ev.preventDefault();
      setSelected(undefined);
      focusCursor.current = true;
      return;
    }
    const action = rowKeyAction(shown, shownCollapsed, cursorAt, ev.key, Math.max(1, Math.floor(bodyH / rowH) - 1));
    if (action.kind === 'none') return;
    ev.preventDefault();
    if (action.kind === 'move') moveCursor(action.to);
    else if (action.kind === 'open') setSelected(action.spanId);
    else if (action.kind === 'collapse' || action.kind === 'expand') {
      onToggle(action.spanId);
      focusCursor.current = true;
    }
  };
  const onPanelKey = (ev: React.KeyboardEvent) => {
    // "/" jumps to the search box (as in Grafana and most web apps), unless the user is typing.
    if (ev.key === '/' && !(ev.target instanceof HTMLInputElement)) {
      ev.preventDefault();
      ev.stopPropagation();
      search.current?.focus();
      search.current?.select();
    } else if (ev.key === 'Escape' && selected !== undefined && !(ev.target instanceof HTMLInputElement)) {
      ev.preventDefault();
      setSelected(undefined);
    }
  };
  const cursorRendered = cursorAt >= win.first && cursorAt < win.last;
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
      onKeyDown={onPanelKey}
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
          ref={search}
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
          onKeyDown={(e) => {
            if (e.key === 'Enter') goTo(active + (e.shiftKey ? -1 : 1));
            else if (e.key === 'Escape' || e.key === 'ArrowDown') {
              // Back to the rows, at the active match when there is one.
              e.preventDefault();
              const at = activeSpan === undefined ? cursorAt : Math.max(0, shown.findIndex((r) => r.spanId === activeSpan));
              if (shown.length > 0) moveCursor(at);
            }
          }}
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
        role="treegrid"
        aria-label={`Spans of trace ${traceId}`}
        aria-rowcount={shown.length}
        // A tab stop only while the cursor's row is scrolled out of the DOM; focusing it brings that row back.
        tabIndex={cursorRendered ? -1 : 0}
        onFocus={(ev) => {
          setGridFocused(true);
          if (ev.target === ev.currentTarget && shown.length > 0) moveCursor(cursorAt);
        }}
        onBlur={() => setGridFocused(false)}
        onKeyDown={onGridKey}
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
                cursor={cursorSpan === r.spanId}
                focusRing={gridFocused && cursorSpan === r.spanId}
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
