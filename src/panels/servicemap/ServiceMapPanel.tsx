import React, { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import { useTheme2 } from '@grafana/ui';
import { readServiceGraph, type MapEdge, type MapNode } from './graph';
import { COL_GAP, labelPoint, layoutGraph, NODE_H, NODE_W, routePath, type EdgeRoute, type Layout } from './layout';
import { EDGE_FONT, fitText, levelOfDetail, NODE_FONT, SIDE_GAP, withLabelWidths, type EdgeLabelInput } from './labels';
import { canvasMeasure } from './measure';
import { ARROWS, firstSpot, nearestInDirection } from './keyboard';
import { edgeAria, edgeLabel, edgeLines, KEYBOARD_HELP, nodeAria, nodeLines, nodeStats } from './describe';
import { FIT_PAD, fitView, interimTransform, layoutAspect, renderedView, settleLabels, WHEEL_SETTLE_MS, wheelZoomAt, zoomAt, type View } from './viewport';
import { edgeHref, edgeSeverity, nodeHref, type ServiceMapOptions, type Severity } from './types';

interface Card {
  x: number;
  y: number;
  title: string;
  lines: Array<[string, string]>;
}

/** What has keyboard focus inside the map. */
type Focused = { kind: 'node'; id: string } | { kind: 'edge'; id: string };

function severityColor(theme: GrafanaTheme2, s: Severity): string {
  if (s === 'crit') return theme.colors.error.main;
  if (s === 'warn') return theme.colors.warning.main;
  if (s === 'ok') return theme.colors.success.main;
  return theme.colors.text.disabled;
}

/** Edge stroke width from its rate, log-scaled: busy calls stand out without hiding quiet ones. */
function strokeFor(rate: number | undefined): number {
  return rate === undefined || rate <= 0 ? 1.5 : Math.min(4, 1.2 + Math.log10(1 + rate) * 0.9);
}

/** Quoted CSS attribute value. */
function cssString(v: string): string {
  return `"${v.replace(/["\\]/g, '\\$&').replace(/\n/g, '\\a ')}"`;
}

/**
 * Fades everything but the emphasised service, its calls and the services at
 * their other ends (or one call and its two ends). A stylesheet, so that the
 * 1,200 elements of a big map are not re-rendered on hover.
 */
function emphasisCss(root: string, nodes: readonly string[], edge: { source: string; target: string } | undefined, service: string | undefined): string {
  const r = `[data-servicemap-root=${cssString(root)}]`;
  const edges = `${r} [data-testid="servicemap-edge"],${r} [data-testid="servicemap-edge-label"]`;
  const allNodes = `${r} [data-testid="servicemap-node"],${r} [data-testid="servicemap-node-label"]`;
  let css = `${edges}{opacity:0.12}${allNodes}{opacity:0.3}`;
  if (service !== undefined) {
    const s = cssString(service);
    css += `${r} [data-client=${s}],${r} [data-server=${s}]{opacity:1}`;
  }
  if (edge) css += `${r} [data-client=${cssString(edge.source)}][data-server=${cssString(edge.target)}]{opacity:1}`;
  if (nodes.length > 0) css += `${nodes.map((n) => `${r} [data-node=${cssString(n)}]`).join(',')}{opacity:1}`;
  return css;
}

/** Horizontal room an edge has for a label next to its anchor, drawing units. */
function labelRoom(route: EdgeRoute): number {
  if (route.self) return NODE_W / 2;
  if (route.sameColumn) return COL_GAP / 2;
  return COL_GAP;
}

function centreOf(layout: Layout, id: string): { x: number; y: number } {
  const p = layout.positions.get(id)!;
  return { x: p.x + NODE_W / 2, y: p.y + NODE_H / 2 };
}

export function ServiceMapPanel({ data, width, height, options, replaceVariables }: PanelProps<ServiceMapOptions>) {
  const theme = useTheme2();
  const [hover, setHover] = useState<Card | undefined>();
  // The hovered service: it and its neighbours stay bright, the rest fade.
  const [hoverNode, setHoverNode] = useState<string | undefined>();
  const [focused, setFocused] = useState<Focused | undefined>();
  const [mapFocused, setMapFocused] = useState(false);
  const rootId = useId();
  const rootRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const result = useMemo(() => readServiceGraph(data.series), [data.series]);
  const TOOLBAR = 28;
  const mapH = Math.max(50, height - TOOLBAR);
  // Laid out for the panel's shape, so that the fitted map fills it (a taller-than-wide map in a wide panel would use a third of it).
  const aspect = layoutAspect(width, mapH);
  const layout = useMemo(() => (result.ok ? layoutGraph(result.graph, { aspect }) : undefined), [result, aspect]);
  // Until the user zooms or pans, the view follows the panel size (fit); after that it is theirs.
  const [userView, setUserView] = useState<View | undefined>();
  const drag = useRef<{ x: number; y: number; v: View } | undefined>(undefined);
  const wheelTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(wheelTimer.current), []);
  const fit = layout ? fitView(layout.width, layout.height + NODE_H, width, mapH, FIT_PAD) : { k: 1, x: 0, y: 0 };
  const view = userView ?? fit;
  // What the drawing and labels are rendered at: the view, except during a wheel gesture (see View.placed).
  const shown = renderedView(view);
  const interim = interimTransform(view);
  const labelK = shown.k;
  const graph = result.ok ? result.graph : undefined;
  const font = theme.typography.fontFamily;
  const measure = useMemo(() => canvasMeasure(font), [font]);

  const byId = useMemo(() => new Map((graph?.nodes ?? []).map((n) => [n.id, n])), [graph]);
  const edgeById = useMemo(() => new Map((graph?.edges ?? []).map((e) => [e.id, e])), [graph]);
  const neighbours = useMemo(() => {
    const m = new Map<string, { nodes: Set<string>; edges: MapEdge[] }>();
    const at = (id: string) => m.get(id) ?? m.set(id, { nodes: new Set([id]), edges: [] }).get(id)!;
    for (const e of graph?.edges ?? []) {
      at(e.source).nodes.add(e.target);
      at(e.target).nodes.add(e.source);
      at(e.source).edges.push(e);
      if (e.target !== e.source) at(e.target).edges.push(e);
    }
    return m;
  }, [graph]);

  const emphasisNode = focused?.kind === 'node' ? focused.id : focused === undefined ? hoverNode : undefined;
  const emphasisEdge = focused?.kind === 'edge' ? edgeById.get(focused.id) : undefined;

  // Which labels fit at this zoom: depends on the zoom, never on the pan (panning moves one transform).
  // Texts and their widths are measured once per graph and layout, not at every zoom step.
  const lodInputs = useMemo(() => {
    if (!graph || !layout) return { nodes: [], edges: [] };
    const edges = graph.edges.map((e): EdgeLabelInput => {
      const route = layout.routes.get(e.id)!;
      const at = labelPoint(route);
      return { id: e.id, x: at.x, y: at.y, lines: edgeLabel(e), ratePerSec: e.ratePerSec, errorRatio: e.errorRatio, room: labelRoom(route) };
    });
    const nodes = graph.nodes.map((n) => ({ id: n.id, ...layout.positions.get(n.id)!, title: n.title, ratePerSec: n.ratePerSec, errorRatio: n.errorRatio }));
    return withLabelWidths(nodes, edges, measure);
  }, [graph, layout, measure]);
  const edgeInputs = lodInputs.edges;
  // Hovering or focusing a service names it first, then the services it calls or is called by.
  const pinnedKey = emphasisNode
    ? [...(neighbours.get(emphasisNode)?.nodes ?? [emphasisNode])].sort().join('\n')
    : emphasisEdge
      ? [emphasisEdge.source, emphasisEdge.target].join('\n')
      : '';
  const lod = useMemo(() => {
    if (!graph || !layout) return undefined;
    return levelOfDetail({
      nodes: lodInputs.nodes,
      edges: lodInputs.edges,
      nodeW: NODE_W,
      nodeH: NODE_H,
      width: layout.width,
      k: labelK,
      pinned: new Set(pinnedKey.split('\n').filter((x) => x !== '')),
      primary: emphasisNode,
      errorWarnRatio: options.errorWarnRatio,
      errorCritRatio: options.errorCritRatio,
      showEdgeLabels: options.showEdgeLabels,
      measure,
    });
  }, [graph, layout, lodInputs, labelK, pinnedKey, emphasisNode, options.errorWarnRatio, options.errorCritRatio, options.showEdgeLabels, measure]);

  const actions = useMemo(() => {
    const openEdge = (e: MapEdge) => locationService.push(replaceVariables(edgeHref(options.edgeLink, e.source, e.target)));
    const openNode = (n: MapNode) => locationService.push(replaceVariables(nodeHref(options.nodeLink, n.id)));
    const hoverAt = (ev: React.MouseEvent, title: string, lines: Array<[string, string]>) => {
      const box = (ev.currentTarget as Element).closest('[data-servicemap-root]')?.getBoundingClientRect();
      setHover({ x: ev.clientX - (box?.left ?? 0) + 12, y: ev.clientY - (box?.top ?? 0) + 12, title, lines });
    };
    const edgeHandlers = (e: MapEdge) => ({
      onClick: () => openEdge(e),
      onMouseMove: (ev: React.MouseEvent) => hoverAt(ev, `${e.source} → ${e.target}`, [...edgeLines(e), ['Click', 'open traces of this edge']]),
    });
    const nodeHandlers = (n: MapNode) => ({
      onClick: () => openNode(n),
      onMouseMove: (ev: React.MouseEvent) => hoverAt(ev, n.title, [...nodeLines(n), ['Click', 'open traces of this service']]),
      onMouseEnter: () => setHoverNode(n.id),
      onMouseLeave: () => setHoverNode(undefined),
    });
    return { openEdge, openNode, edgeHandlers, nodeHandlers };
  }, [options.edgeLink, options.nodeLink, replaceVariables]);

  // The drawing depends on data, theme and options, never on the view or the labels: panning moves one transform.
  const drawing = useMemo(() => {
    if (!graph || !layout) return null;
    const big = graph.edges.length > 150;
    return (
      <>
        {graph.edges.map((e) => {
          const route: EdgeRoute = layout.routes.get(e.id)!;
          const d = routePath(route);
          const sev = edgeSeverity(e.p95Ms, e.errorRatio, options);
          return (
            <g
              key={e.id}
              data-testid="servicemap-edge"
              data-edge={e.id}
              data-client={e.source}
              data-server={e.target}
              data-severity={sev}
              data-protocol={e.protocol ?? ''}
              role="link"
              tabIndex={-1}
              aria-label={edgeAria(e)}
              style={{ cursor: 'pointer', outline: 'none' }}
              onFocus={() => setFocused({ kind: 'edge', id: e.id })}
              onBlur={() => setFocused(undefined)}
              {...actions.edgeHandlers(e)}
            >
              {/* A wide invisible stroke makes thin edges easy to hit. */}
              <path d={d} fill="none" stroke="transparent" strokeWidth={12} />
              <path
                d={d}
                fill="none"
                stroke={severityColor(theme, sev)}
                strokeOpacity={big ? 0.55 : 0.9}
                strokeWidth={strokeFor(e.ratePerSec)}
                // Calls back up a tier run right to left: the arrow sits at the path's start.
                markerEnd={route.reversed ? undefined : `url(#wt-arrow-${sev})`}
                markerStart={route.reversed ? `url(#wt-arrow-${sev})` : undefined}
                strokeDasharray={route.reversed || route.sameColumn ? '6 3' : undefined}
              />
            </g>
          );
        })}
        {graph.nodes.map((n) => {
          const p = layout.positions.get(n.id)!;
          return (
            <g
              key={n.id}
              data-testid="servicemap-node"
              data-node={n.id}
              data-external={n.external ? 'true' : 'false'}
              transform={`translate(${p.x} ${p.y})`}
              role="link"
              tabIndex={-1}
              aria-label={nodeAria(n)}
              style={{ cursor: 'pointer', outline: 'none' }}
              onFocus={() => setFocused({ kind: 'node', id: n.id })}
              onBlur={() => setFocused(undefined)}
              {...actions.nodeHandlers(n)}
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
            </g>
          );
        })}
      </>
    );
  }, [graph, layout, options, theme, actions]);

  // Labels at a constant on-screen size: each is scaled by 1/k around its anchor, so only a zoom re-renders them, never a pan.
  // Labels are drawn only near the view: a region 4 x 4 screens, on a grid of screen-sized cells, so a pan
  // re-renders them only when it crosses a cell (zoomed in on a big map, most labels are far off screen).
  // Cells are screens of the rendered view (during a wheel gesture the region moves only when the drawing is rendered anew).
  const cellW = width / labelK;
  const cellH = mapH / labelK;
  const cellX = Math.floor(-shown.x / shown.k / cellW);
  const cellY = Math.floor(-shown.y / shown.k / cellH);
  const labels = useMemo(() => {
    if (!graph || !layout || !lod) return null;
    const [x0, x1, y0, y1] = [(cellX - 1) * cellW, (cellX + 3) * cellW, (cellY - 1) * cellH, (cellY + 3) * cellH];
    const near = (x: number, y: number) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
    const inv = `scale(${1 / labelK})`;
    const halo = { stroke: theme.colors.background.primary, strokeWidth: 4, paintOrder: 'stroke' as const, strokeLinejoin: 'round' as const };
    const boxW = NODE_W * labelK;
    return (
      <>
        {/* Hidden from screen readers: each node's and edge's aria-label already says all a label shows. */}
        <g data-testid="servicemap-edge-labels" aria-hidden="true">
          {edgeInputs
            .filter((e) => lod.edges.has(e.id) && near(e.x, e.y))
            .map((l) => {
              const e = edgeById.get(l.id)!;
              return (
                <g
                  key={l.id}
                  data-testid="servicemap-edge-label"
                  data-edge={l.id}
                  data-client={e.source}
                  data-server={e.target}
                  transform={`translate(${l.x} ${l.y})`}
                  style={{ cursor: 'pointer' }}
                  {...actions.edgeHandlers(e)}
                >
                  <text transform={inv} textAnchor="middle" fontSize={EDGE_FONT} fill={theme.colors.text.primary} {...halo}>
                    <tspan x={0} y={-2}>
                      {l.lines[0]}
                    </tspan>
                    {l.lines[1] && !lod.edgesShort.has(l.id) && (
                      <tspan x={0} y={EDGE_FONT} fill={theme.colors.text.secondary}>
                        {l.lines[1]}
                      </tspan>
                    )}
                  </text>
                </g>
              );
            })}
        </g>
        <g data-testid="servicemap-node-labels" aria-hidden="true">
          {graph.nodes
            .filter((n) => {
              const p = layout.positions.get(n.id)!;
              return lod.nodes.has(n.id) && near(p.x + NODE_W / 2, p.y + NODE_H / 2);
            })
            .map((n) => {
              const p = layout.positions.get(n.id)!;
              const errColor = n.errorRatio && n.errorRatio >= options.errorCritRatio ? theme.colors.error.text : undefined;
              const titleColor = n.external ? theme.colors.text.secondary : theme.colors.text.primary;
              if (lod.nodeMode === 'full') {
                return (
                  <g key={n.id} data-testid="servicemap-node-label" data-node={n.id} transform={`translate(${p.x} ${p.y})`} style={{ cursor: 'pointer' }} {...actions.nodeHandlers(n)}>
                    <text transform={inv} x={10} y={19} fontSize={NODE_FONT + 1} fontWeight={500} fill={titleColor}>
                      {fitText(n.title, boxW - 16, NODE_FONT + 1, measure, true)}
                    </text>
                    <text transform={inv} x={10} y={37} fontSize={EDGE_FONT} fill={errColor ?? theme.colors.text.secondary}>
                      {fitText(nodeStats(n), boxW - 16, EDGE_FONT, measure)}
                    </text>
                  </g>
                );
              }
              const label = lod.nodes.get(n.id)!;
              // Beside the box: anchored at its edge (drawing units), then a few px further (screen px).
              const side = label.side === 'centre' ? 0 : label.side === 'right' ? 1 : -1;
              return (
                <g
                  key={n.id}
                  data-testid="servicemap-node-label"
                  data-node={n.id}
                  data-side={label.side}
                  transform={`translate(${p.x + NODE_W / 2 + (side * NODE_W) / 2} ${p.y + NODE_H / 2})`}
                  style={{ cursor: 'pointer' }}
                  {...actions.nodeHandlers(n)}
                >
                  <text
                    transform={inv}
                    x={side * (SIDE_GAP + 3) + (label.dx ?? 0)}
                    textAnchor={label.side === 'centre' ? 'middle' : label.side === 'right' ? 'start' : 'end'}
                    dominantBaseline="central"
                    fontSize={NODE_FONT}
                    fontWeight={500}
                    fill={errColor ?? titleColor}
                    {...halo}
                  >
                    {label.text}
                  </text>
                </g>
              );
            })}
        </g>
      </>
    );
  }, [graph, layout, lod, labelK, cellX, cellY, cellW, cellH, theme, edgeInputs, edgeById, actions, options.errorCritRatio, measure]);

  // The element to focus for a service, found in this panel only.
  const nodeElement = useCallback(
    (id: string) => rootRef.current?.querySelector<SVGGElement>(`[data-testid="servicemap-node"][data-node=${cssString(id)}]`) ?? undefined,
    [],
  );

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
  const zoomBy = (f: number, px = width / 2, py = mapH / 2) => setUserView((prev) => zoomAt(prev ?? fit, f, px, py));

  /** Moves keyboard focus to a service, panning (never zooming) to bring it into view. */
  const focusNode = (id: string) => {
    const c = centreOf(layout, id);
    const sx = view.x + c.x * view.k;
    const sy = view.y + c.y * view.k;
    const mx = Math.min(width / 3, (NODE_W * view.k) / 2 + 16);
    const my = Math.min(mapH / 3, (NODE_H * view.k) / 2 + 16);
    if (sx < mx || sx > width - mx || sy < my || sy > mapH - my) setUserView({ k: view.k, x: width / 2 - c.x * view.k, y: mapH / 2 - c.y * view.k });
    setHover(undefined);
    nodeElement(id)?.focus({ preventScroll: true });
  };
  const focusEdge = (e: MapEdge) => {
    rootRef.current?.querySelector<SVGGElement>(`[data-testid="servicemap-edge"][data-edge=${cssString(e.id)}]`)?.focus({ preventScroll: true });
    setHover(undefined);
  };
  const spots = graph.nodes.map((n) => ({ id: n.id, ...centreOf(layout, n.id) }));
  const onKeyDown = (ev: React.KeyboardEvent) => {
    const dir = ARROWS[ev.key];
    const fromNode = focused?.kind === 'node' ? focused.id : focused?.kind === 'edge' ? edgeById.get(focused.id)?.source : undefined;
    if (dir) {
      ev.preventDefault();
      const from = focused?.kind === 'edge' ? { id: '', ...labelPoint(layout.routes.get(focused.id)!) } : fromNode ? { id: fromNode, ...centreOf(layout, fromNode) } : undefined;
      const to = from ? nearestInDirection(from, spots, dir) : firstSpot(spots);
      if (to) focusNode(to);
    } else if (ev.key === 'Enter' || ev.key === ' ') {
      if (!focused) return;
      ev.preventDefault();
      if (focused.kind === 'node') actions.openNode(byId.get(focused.id)!);
      else actions.openEdge(edgeById.get(focused.id)!);
    } else if (ev.key === ']' || ev.key === '[') {
      // Step through the calls of the focused service (or of the service the focused call starts from).
      const own = fromNode ? neighbours.get(fromNode)?.edges ?? [] : [];
      if (own.length === 0) return;
      ev.preventDefault();
      const i = focused?.kind === 'edge' ? own.findIndex((e) => e.id === focused.id) : -1;
      const next = ev.key === ']' ? (i + 1) % own.length : i <= 0 ? own.length - 1 : i - 1;
      focusEdge(own[next]!);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      setHover(undefined);
      setHoverNode(undefined);
      svgRef.current?.focus({ preventScroll: true });
    } else if (ev.key === '+' || ev.key === '=' || ev.key === '-' || ev.key === '_') {
      ev.preventDefault();
      const c = focused?.kind === 'node' ? centreOf(layout, focused.id) : undefined;
      zoomBy(ev.key === '+' || ev.key === '=' ? 1.25 : 0.8, c ? view.x + c.x * view.k : undefined, c ? view.y + c.y * view.k : undefined);
    } else if (ev.key === '0') {
      ev.preventDefault();
      setUserView(undefined);
    }
  };

  // Keyboard focus shows the same card as hovering, beside the focused service or call.
  let card = hover;
  if (!card && focused?.kind === 'node' && byId.has(focused.id)) {
    const n = byId.get(focused.id)!;
    const p = layout.positions.get(n.id)!;
    card = { x: view.x + (p.x + NODE_W) * view.k + 10, y: TOOLBAR + view.y + p.y * view.k, title: n.title, lines: [...nodeLines(n), ['Enter', 'open traces of this service']] };
  } else if (!card && focused?.kind === 'edge' && edgeById.has(focused.id)) {
    const e = edgeById.get(focused.id)!;
    const at = labelPoint(layout.routes.get(e.id)!);
    card = { x: view.x + at.x * view.k + 12, y: TOOLBAR + view.y + at.y * view.k + 12, title: `${e.source} → ${e.target}`, lines: [...edgeLines(e), ['Enter', 'open traces of this edge']] };
  }

  const emphasisNodes = emphasisNode ? [...(neighbours.get(emphasisNode)?.nodes ?? [emphasisNode])] : emphasisEdge ? [emphasisEdge.source, emphasisEdge.target] : [];
  const ringK = shown.k;
  const button: React.CSSProperties = {
    background: theme.colors.secondary.main,
    color: theme.colors.secondary.text,
    border: `1px solid ${theme.colors.border.medium}`,
    borderRadius: theme.shape.radius.default,
    padding: '0 8px',
    cursor: 'pointer',
    fontSize: theme.typography.bodySmall.fontSize,
  };
  const helpId = `${rootId}-help`;

  return (
    <div ref={rootRef} data-servicemap-root={rootId} style={{ position: 'relative', width, height, overflow: 'hidden' }} onMouseLeave={() => setHover(undefined)}>
      {emphasisNodes.length > 0 && <style>{emphasisCss(rootId, emphasisNodes, emphasisEdge, emphasisNode)}</style>}
      <div style={{ height: TOOLBAR, display: 'flex', alignItems: 'center', gap: 6, fontSize: theme.typography.bodySmall.fontSize, color: theme.colors.text.secondary }}>
        <span>
          {graph.nodes.length} services · {graph.edges.length} edges
        </span>
        <span data-testid="servicemap-label-count" data-nodes={lod?.nodes.size ?? 0} data-edges={lod?.edges.size ?? 0} style={{ color: theme.colors.text.disabled }}>
          · {lod?.nodes.size ?? 0} labelled
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
      <div id={helpId} style={{ position: 'absolute', width: 1, height: 1, overflow: 'hidden', clip: 'rect(0 0 0 0)' }}>
        {KEYBOARD_HELP}
      </div>
      <svg
        ref={svgRef}
        data-testid="servicemap"
        width={width}
        height={mapH}
        tabIndex={0}
        style={{
          display: 'block',
          transform: interim,
          transformOrigin: '0 0',
          // Its own compositing layer during the gesture: the scaled rendering is then moved by the compositor, not painted again.
          willChange: interim ? 'transform' : undefined,
          fontFamily: font,
          cursor: 'grab',
          touchAction: 'none',
          outline: mapFocused ? `2px solid ${theme.colors.primary.main}` : 'none',
          outlineOffset: -2,
        }}
        role="group"
        aria-roledescription="service map"
        aria-label={`Service map: ${graph.nodes.length} services, ${graph.edges.length} edges`}
        aria-describedby={helpId}
        onFocus={(ev) => setMapFocused(ev.target === ev.currentTarget)}
        onBlur={() => setMapFocused(false)}
        onKeyDown={onKeyDown}
        onWheel={(ev) => {
          // The panel's box, not the SVG's: during the gesture the SVG itself is scaled by a CSS transform.
          const box = rootRef.current!.getBoundingClientRect();
          const [f, px, py] = [ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - box.left, ev.clientY - box.top - TOOLBAR];
          setUserView((prev) => wheelZoomAt(prev ?? fit, f, px, py));
          // When the wheel rests, labels are placed for the zoom reached.
          clearTimeout(wheelTimer.current);
          wheelTimer.current = setTimeout(() => setUserView((prev) => prev && settleLabels(prev)), WHEEL_SETTLE_MS);
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
        <g data-testid="servicemap-viewport" transform={`translate(${shown.x} ${shown.y}) scale(${shown.k})`}>
          {drawing}
          {labels}
          {focused?.kind === 'node' && layout.positions.has(focused.id) && (
            // The focus ring: a constant 3 px on screen whatever the zoom.
            <rect
              data-testid="servicemap-focus-ring"
              data-node={focused.id}
              x={layout.positions.get(focused.id)!.x - 4 / ringK}
              y={layout.positions.get(focused.id)!.y - 4 / ringK}
              width={NODE_W + 8 / ringK}
              height={NODE_H + 8 / ringK}
              rx={10}
              fill="none"
              stroke={theme.colors.primary.main}
              strokeWidth={3}
              vectorEffect="non-scaling-stroke"
              pointerEvents="none"
            />
          )}
          {focused?.kind === 'edge' && layout.routes.has(focused.id) && (
            <path
              data-testid="servicemap-focus-ring"
              data-edge={focused.id}
              d={routePath(layout.routes.get(focused.id)!)}
              fill="none"
              stroke={theme.colors.primary.main}
              strokeWidth={4}
              vectorEffect="non-scaling-stroke"
              pointerEvents="none"
            />
          )}
        </g>
      </svg>
      {card && (
        <div
          data-testid="servicemap-tooltip"
          style={{
            position: 'absolute',
            left: Math.max(0, Math.min(card.x, width - 280)),
            top: Math.max(0, Math.min(card.y, height - 200)),
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
          <div style={{ fontWeight: theme.typography.fontWeightMedium, marginBottom: 4 }}>{card.title}</div>
          {card.lines.map(([k, v]) => (
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
