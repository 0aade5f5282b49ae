import React, { useId, useMemo, useRef, useState } from 'react';
import { type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import { useTheme2 } from '@grafana/ui';
import { formatMs, formatRate, formatRatio, readServiceGraph, type MapEdge, type MapNode } from './graph';
import { labelPoint, layoutGraph, NODE_H, NODE_W, routePath, type EdgeRoute } from './layout';
import { labelSize, placeLabels } from './labels';
import { fitView, zoomAt, type View } from './viewport';
import { edgeHref, edgeSeverity, nodeHref, type ServiceMapOptions, type Severity } from './types';

interface Hover {
  x: number;
  y: number;
  title: string;
  lines: Array<[string, string]>;
}

function severityColor(theme: GrafanaTheme2, s: Severity): string {
  if (s === 'crit') return theme.colors.error.main;
  if (s === 'warn') return theme.colors.warning.main;
  if (s === 'ok') return theme.colors.success.main;
  return theme.colors.text.disabled;
}

function edgeLabel(e: MapEdge): [string, string] {
  const first = e.p95Ms === undefined ? 'p95 –' : `p95 ${formatMs(e.p95Ms)}`;
  const rest = [
    e.ratePerSec === undefined ? undefined : formatRate(e.ratePerSec),
    e.errorRatio ? `${formatRatio(e.errorRatio)} err` : undefined,
    e.protocol,
    e.networkTimeMs === undefined ? undefined : `net ${formatMs(e.networkTimeMs)}`,
  ];
  return [first, rest.filter((x) => x !== undefined).join(' · ')];
}

function edgeLines(e: MapEdge): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  if (e.protocol) lines.push(['Protocol', e.protocol]);
  if (e.p50Ms !== undefined || e.p95Ms !== undefined || e.p99Ms !== undefined) {
    lines.push(['Latency p50 / p95 / p99', [e.p50Ms, e.p95Ms, e.p99Ms].map((v) => (v === undefined ? '–' : formatMs(v))).join(' / ')]);
  }
  if (e.networkTimeMs !== undefined) lines.push(['Network time', formatMs(e.networkTimeMs)]);
  const shown = new Set(['Protocol', 'p50 latency', 'p99 latency', 'Network time']);
  return [...lines, ...e.details.filter(([k]) => !shown.has(k))];
}

/** Edge stroke width from its rate, log-scaled: busy calls stand out without hiding quiet ones. */
function strokeFor(rate: number | undefined): number {
  return rate === undefined || rate <= 0 ? 1.5 : Math.min(4, 1.2 + Math.log10(1 + rate) * 0.9);
}

/** Quoted CSS attribute value. */
function cssString(v: string): string {
  return `"${v.replace(/["\\]/g, '\\$&').replace(/\n/g, '\\a ')}"`;
}

/** Fades every edge of this panel but the focused service's calls (in and out). */
function focusCss(root: string, service: string): string {
  const scope = `[data-servicemap-root=${cssString(root)}] [data-testid="servicemap-edge"]`;
  const s = cssString(service);
  return `${scope}{opacity:0.12}${scope}[data-client=${s}],${scope}[data-server=${s}]{opacity:1}`;
}

/** Past this many edges, labels appear only when zoomed in enough to read them (hover always shows them). */
const LABELS_ALWAYS_UP_TO = 150;

function nodeLines(n: MapNode): Array<[string, string]> {
  const lines: Array<[string, string]> = [['Kind', n.external ? 'external peer (not captured here)' : 'service']];
  if (n.p95Ms !== undefined) lines.push(['p95 latency', formatMs(n.p95Ms)]);
  if (n.ratePerSec !== undefined) lines.push(['Requests', formatRate(n.ratePerSec)]);
  if (n.errorRatio !== undefined) lines.push(['Error ratio', formatRatio(n.errorRatio)]);
  return [...lines, ...n.details.filter(([k]) => k !== 'Errors' || n.errorRatio === undefined)];
}

export function ServiceMapPanel({ data, width, height, options, replaceVariables }: PanelProps<ServiceMapOptions>) {
  const theme = useTheme2();
  const [hover, setHover] = useState<Hover | undefined>();
  // The hovered service: its calls stay bright, the rest fade (a stylesheet, so 1,000 edges are not re-rendered).
  const [focus, setFocus] = useState<string | undefined>();
  const rootId = useId();
  const result = useMemo(() => readServiceGraph(data.series), [data.series]);
  const layout = useMemo(() => (result.ok ? layoutGraph(result.graph) : undefined), [result]);
  const TOOLBAR = 28;
  const mapH = Math.max(50, height - TOOLBAR);
  // Until the user zooms or pans, the view follows the panel size (fit); after that it is theirs.
  const [userView, setUserView] = useState<View | undefined>();
  const drag = useRef<{ x: number; y: number; v: View } | undefined>(undefined);
  const fit = layout ? fitView(layout.width, layout.height + NODE_H, width, mapH) : { k: 1, x: 0, y: 0 };
  const view = userView ?? fit;
  const graph = result.ok ? result.graph : undefined;
  const font = theme.typography.fontFamily;
  const showLabels = options.showEdgeLabels && graph !== undefined && (graph.edges.length <= LABELS_ALWAYS_UP_TO || view.k >= 0.9);

  // Big maps: only labels that do not overlap another (busiest edges first); small maps label every edge.
  const labelled = useMemo(() => {
    if (!graph || !layout || graph.edges.length <= LABELS_ALWAYS_UP_TO) return undefined;
    return placeLabels(
      graph.edges.map((e) => {
        const at = labelPoint(layout.routes.get(e.id)!);
        const [l1, l2] = edgeLabel(e);
        const size = labelSize(l1, l2);
        return { id: e.id, x: at.x, y: at.y - 15, w: size.w, h: size.h, priority: e.ratePerSec ?? 0 };
      }),
    );
  }, [graph, layout]);

  // The drawing depends on data, theme, options and label visibility, never on the view: panning moves one transform.
  const drawing = useMemo(() => {
    if (!graph || !layout) return null;
    const open = (e: MapEdge) => locationService.push(replaceVariables(edgeHref(options.edgeLink, e.source, e.target)));
    const openNode = (n: MapNode) => locationService.push(replaceVariables(nodeHref(options.nodeLink, n.id)));
    const hoverAt = (ev: React.MouseEvent, title: string, lines: Array<[string, string]>) => {
      const box = (ev.currentTarget as Element).closest('[data-servicemap-root]')?.getBoundingClientRect();
      setHover({ x: ev.clientX - (box?.left ?? 0) + 12, y: ev.clientY - (box?.top ?? 0) + 12, title, lines });
    };
    return (
      <>
        {graph.edges.map((e) => {
          const route: EdgeRoute = layout.routes.get(e.id)!;
          const d = routePath(route);
          const sev = edgeSeverity(e.p95Ms, e.errorRatio, options);
          const color = severityColor(theme, sev);
          const [l1, l2] = edgeLabel(e);
          const at = labelPoint(route);
          const lines: Array<[string, string]> = [...edgeLines(e), ['Click', 'open traces of this edge']];
          return (
            <g
              key={e.id}
              data-testid="servicemap-edge"
              data-client={e.source}
              data-server={e.target}
              data-severity={sev}
              data-protocol={e.protocol ?? ''}
              role="link"
              tabIndex={0}
              aria-label={`Calls from ${e.source} to ${e.target}: ${l1}`}
              style={{ cursor: 'pointer' }}
              onClick={() => open(e)}
              onKeyDown={(ev) => ev.key === 'Enter' && open(e)}
              onMouseMove={(ev) => hoverAt(ev, `${e.source} → ${e.target}`, lines)}
            >
              {/* A wide invisible stroke makes thin edges easy to hit. */}
              <path d={d} fill="none" stroke="transparent" strokeWidth={12} />
              <path
                d={d}
                fill="none"
                stroke={color}
                strokeOpacity={graph.edges.length > LABELS_ALWAYS_UP_TO ? 0.55 : 0.9}
                strokeWidth={strokeFor(e.ratePerSec)}
                // Calls back up a tier run right to left: the arrow sits at the path's start.
                markerEnd={route.reversed ? undefined : `url(#wt-arrow-${sev})`}
                markerStart={route.reversed ? `url(#wt-arrow-${sev})` : undefined}
                strokeDasharray={route.reversed || route.sameColumn ? '6 3' : undefined}
              />
              {showLabels && (labelled === undefined || labelled.has(e.id)) && (
                <text
                  data-testid="servicemap-edge-label"
                  x={at.x}
                  y={at.y - 4}
                  textAnchor="middle"
                  fontSize={11}
                  fill={theme.colors.text.primary}
                  stroke={theme.colors.background.primary}
                  strokeWidth={4}
                  paintOrder="stroke"
                >
                  <tspan x={at.x}>{l1}</tspan>
                  {l2 && (
                    <tspan x={at.x} dy={13} fill={theme.colors.text.secondary}>
                      {l2}
                    </tspan>
                  )}
                </text>
              )}
            </g>
          );
        })}
        {graph.nodes.map((n) => {
          const p = layout.positions.get(n.id)!;
          const errColor = n.errorRatio && n.errorRatio >= options.errorCritRatio ? theme.colors.error.main : theme.colors.text.secondary;
          return (
            <g
              key={n.id}
              data-testid="servicemap-node"
              data-node={n.id}
              data-external={n.external ? 'true' : 'false'}
              transform={`translate(${p.x} ${p.y})`}
              role="link"
              tabIndex={0}
              aria-label={`${n.title}: open its traces`}
              style={{ cursor: 'pointer' }}
              onClick={() => openNode(n)}
              onKeyDown={(ev) => ev.key === 'Enter' && openNode(n)}
              onMouseMove={(ev) => hoverAt(ev, n.title, [...nodeLines(n), ['Click', 'open traces of this service']])}
              onMouseEnter={() => setFocus(n.id)}
              onMouseLeave={() => setFocus(undefined)}
            >
              <rect
                width={NODE_W}
                height={NODE_H}
                rx={n.external ? 4 : 8}
                fill={n.external ? theme.colors.background.canvas : theme.colors.background.secondary}
                stroke={n.external ? theme.colors.text.secondary : theme.colors.primary.border}
                strokeWidth={n.external ? 1.2 : 1.6}
                strokeDasharray={n.external ? '5 4' : undefined}
              />
              <text x={10} y={19} fontSize={13} fontWeight={500} fill={n.external ? theme.colors.text.secondary : theme.colors.text.primary}>
                {n.title.length > 22 ? `${n.title.slice(0, 21)}…` : n.title}
              </text>
              <text x={10} y={37} fontSize={11} fill={errColor}>
                {n.external
                  ? 'external peer'
                  : [n.p95Ms === undefined ? 'caller only' : `p95 ${formatMs(n.p95Ms)}`, n.ratePerSec ? formatRate(n.ratePerSec) : undefined, n.errorRatio ? `${formatRatio(n.errorRatio)} err` : undefined]
                      .filter((x) => x !== undefined)
                      .join(' · ')}
              </text>
            </g>
          );
        })}
      </>
    );
  }, [graph, layout, options, theme, showLabels, labelled, replaceVariables]);

  if (!result.ok || !layout || !graph) {
    return (
      <div data-testid="servicemap-message" style={{ padding: theme.spacing(2), color: theme.colors.text.secondary, width, height, overflow: 'auto' }}>
        {result.ok ? '' : result.message}
      </div>
    );
  }
  if (graph.nodes.length === 0) {
    return (
      <div data-testid="servicemap-message" style={{ padding: theme.spacing(2), color: theme.colors.text.secondary }}>
        No calls between services in this time range.
      </div>
    );
  }
  // Functional updates: several wheel or button events may arrive before a render.
  const zoomBy = (f: number) => setUserView((prev) => zoomAt(prev ?? fit, f, width / 2, mapH / 2));
  const button: React.CSSProperties = {
    background: theme.colors.secondary.main,
    color: theme.colors.secondary.text,
    border: `1px solid ${theme.colors.border.medium}`,
    borderRadius: theme.shape.radius.default,
    padding: '0 8px',
    cursor: 'pointer',
    fontSize: theme.typography.bodySmall.fontSize,
  };

  return (
    <div data-servicemap-root={rootId} style={{ position: 'relative', width, height, overflow: 'hidden' }} onMouseLeave={() => setHover(undefined)}>
      {focus !== undefined && <style>{focusCss(rootId, focus)}</style>}
      <div style={{ height: TOOLBAR, display: 'flex', alignItems: 'center', gap: 6, fontSize: theme.typography.bodySmall.fontSize, color: theme.colors.text.secondary }}>
        <span>
          {graph.nodes.length} services · {graph.edges.length} edges
        </span>
        <span style={{ flex: 1 }} />
        <span data-testid="servicemap-zoom">{Math.round(view.k * 100)}%</span>
        <button style={button} aria-label="Zoom in" onClick={() => zoomBy(1.25)}>
          +
        </button>
        <button style={button} aria-label="Zoom out" onClick={() => zoomBy(0.8)}>
          −
        </button>
        <button data-testid="servicemap-fit" style={button} onClick={() => setUserView(undefined)}>
          Fit
        </button>
      </div>
      <svg
        data-testid="servicemap"
        width={width}
        height={mapH}
        style={{ display: 'block', fontFamily: font, cursor: 'grab', touchAction: 'none' }}
        role="img"
        aria-label={`Service map: ${graph.nodes.length} services, ${graph.edges.length} edges`}
        onWheel={(ev) => {
          const box = ev.currentTarget.getBoundingClientRect();
          const [px, py, f] = [ev.clientX - box.left, ev.clientY - box.top, ev.deltaY < 0 ? 1.15 : 1 / 1.15];
          setUserView((prev) => zoomAt(prev ?? fit, f, px, py));
        }}
        onPointerDown={(ev) => {
          // Only a drag on the background pans: clicks on nodes and edges stay clicks.
          if (ev.target !== ev.currentTarget && (ev.target as Element).getAttribute('data-pan') === null) return;
          drag.current = { x: ev.clientX, y: ev.clientY, v: view };
        }}
        onPointerMove={(ev) => {
          const d = drag.current;
          if (d) setUserView({ k: d.v.k, x: d.v.x + ev.clientX - d.x, y: d.v.y + ev.clientY - d.y });
        }}
        onPointerUp={() => (drag.current = undefined)}
        onPointerLeave={() => (drag.current = undefined)}
      >
        <defs>
          {(['ok', 'warn', 'crit', 'unknown'] as const).map((sv) => (
            <marker key={sv} id={`wt-arrow-${sv}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill={severityColor(theme, sv)} />
            </marker>
          ))}
        </defs>
        <rect data-pan="" width={width} height={mapH} fill="transparent" />
        <g data-testid="servicemap-viewport" transform={`translate(${view.x} ${view.y}) scale(${view.k})`}>
          {drawing}
        </g>
      </svg>
      {hover && (
        <div
          data-testid="servicemap-tooltip"
          style={{
            position: 'absolute',
            left: Math.min(hover.x, Math.max(0, width - 280)),
            top: Math.min(hover.y, Math.max(0, height - 200)),
            maxWidth: 280,
            pointerEvents: 'none',
            background: theme.colors.background.elevated ?? theme.colors.background.secondary,
            color: theme.colors.text.primary,
            border: `1px solid ${theme.colors.border.medium}`,
            borderRadius: theme.shape.radius.default,
            boxShadow: theme.shadows.z2,
            padding: theme.spacing(1),
            fontSize: theme.typography.bodySmall.fontSize,
          }}
        >
          <div style={{ fontWeight: theme.typography.fontWeightMedium, marginBottom: 4 }}>{hover.title}</div>
          {hover.lines.map(([k, v]) => (
            <div key={k} style={{ display: 'flex', justifyContent: 'space-between', gap: 12 }}>
              <span style={{ color: theme.colors.text.secondary }}>{k}</span>
              <span>{v}</span>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
