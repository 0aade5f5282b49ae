import React, { useMemo, useState } from 'react';
import { type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import { useTheme2 } from '@grafana/ui';
import { formatMs, formatRate, formatRatio, readServiceGraph, type MapEdge, type MapNode } from './graph';
import { layoutGraph, NODE_H, NODE_W, type Point } from './layout';
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

interface EdgeGeometry {
  path: string;
  label: Point;
}

/** A left-to-right curve; calls back to an earlier (or the same) column loop underneath instead of crossing nodes. */
function edgeGeometry(from: Point, to: Point, self: boolean): EdgeGeometry {
  const sx = from.x + NODE_W;
  const sy = from.y + NODE_H / 2;
  if (self) {
    const x = from.x + NODE_W / 2;
    const y = from.y + NODE_H;
    return { path: `M ${x - 20} ${y} C ${x - 40} ${y + 50}, ${x + 40} ${y + 50}, ${x + 20} ${y}`, label: { x, y: y + 44 } };
  }
  const tx = to.x;
  const ty = to.y + NODE_H / 2;
  let c1: Point;
  let c2: Point;
  if (tx > sx) {
    const dx = (tx - sx) / 2;
    c1 = { x: sx + dx, y: sy };
    c2 = { x: tx - dx, y: ty };
  } else {
    const drop = NODE_H + 40;
    c1 = { x: sx + 80, y: Math.max(sy, ty) + drop };
    c2 = { x: tx - 80, y: Math.max(sy, ty) + drop };
  }
  // Cubic Bézier at t = 0.5.
  const label = { x: (sx + 3 * c1.x + 3 * c2.x + tx) / 8, y: (sy + 3 * c1.y + 3 * c2.y + ty) / 8 };
  return { path: `M ${sx} ${sy} C ${c1.x} ${c1.y}, ${c2.x} ${c2.y}, ${tx} ${ty}`, label };
}

function edgeLabel(e: MapEdge): [string, string] {
  const first = e.p95Ms === undefined ? 'p95 –' : `p95 ${formatMs(e.p95Ms)}`;
  const rest = [e.ratePerSec === undefined ? undefined : formatRate(e.ratePerSec), e.errorRatio ? `${formatRatio(e.errorRatio)} err` : undefined];
  return [first, rest.filter((x) => x !== undefined).join(' · ')];
}

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
  const result = useMemo(() => readServiceGraph(data.series), [data.series]);
  const layout = useMemo(() => (result.ok ? layoutGraph(result.graph) : undefined), [result]);

  if (!result.ok || !layout) {
    return (
      <div data-testid="servicemap-message" style={{ padding: theme.spacing(2), color: theme.colors.text.secondary, width, height, overflow: 'auto' }}>
        {result.ok ? '' : result.message}
      </div>
    );
  }
  const { graph } = result;
  if (graph.nodes.length === 0) {
    return (
      <div data-testid="servicemap-message" style={{ padding: theme.spacing(2), color: theme.colors.text.secondary }}>
        No calls between services in this time range.
      </div>
    );
  }
  // Fit to the panel, but never shrink text below legibility: big maps scroll instead.
  const scale = Math.max(0.55, Math.min(1.4, width / layout.width, height / layout.height));
  const svgW = layout.width * scale;
  const svgH = (layout.height + NODE_H) * scale;
  const open = (e: MapEdge) => {
    const href = replaceVariables(edgeHref(options.edgeLink, e.source, e.target));
    locationService.push(href);
  };
  const openNode = (n: MapNode) => locationService.push(replaceVariables(nodeHref(options.nodeLink, n.id)));
  const hoverAt = (ev: React.MouseEvent, title: string, lines: Array<[string, string]>) => {
    const box = (ev.currentTarget as Element).closest('[data-servicemap-root]')?.getBoundingClientRect();
    setHover({ x: ev.clientX - (box?.left ?? 0) + 12, y: ev.clientY - (box?.top ?? 0) + 12, title, lines });
  };
  const font = theme.typography.fontFamily;

  return (
    <div data-servicemap-root="" style={{ position: 'relative', width, height, overflow: 'auto' }} onMouseLeave={() => setHover(undefined)}>
      <svg
        data-testid="servicemap"
        width={svgW}
        height={svgH}
        viewBox={`0 0 ${layout.width} ${layout.height + NODE_H}`}
        style={{ display: 'block', fontFamily: font }}
        role="img"
        aria-label={`Service map: ${graph.nodes.length} services, ${graph.edges.length} edges`}
      >
        <defs>
          {(['ok', 'warn', 'crit', 'unknown'] as const).map((s) => (
            <marker key={s} id={`wt-arrow-${s}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill={severityColor(theme, s)} />
            </marker>
          ))}
        </defs>
        {graph.edges.map((e) => {
          const from = layout.positions.get(e.source)!;
          const to = layout.positions.get(e.target)!;
          const g = edgeGeometry(from, to, e.source === e.target);
          const sev = edgeSeverity(e.p95Ms, e.errorRatio, options);
          const color = severityColor(theme, sev);
          const [l1, l2] = edgeLabel(e);
          const lines: Array<[string, string]> = [...e.details, ['Click', 'open traces of this edge']];
          return (
            <g
              key={e.id}
              data-testid="servicemap-edge"
              data-client={e.source}
              data-server={e.target}
              data-severity={sev}
              role="link"
              tabIndex={0}
              aria-label={`Calls from ${e.source} to ${e.target}: ${l1}`}
              style={{ cursor: 'pointer' }}
              onClick={() => open(e)}
              onKeyDown={(ev) => ev.key === 'Enter' && open(e)}
              onMouseMove={(ev) => hoverAt(ev, `${e.source} → ${e.target}`, lines)}
            >
              {/* A wide invisible stroke makes thin edges easy to hit. */}
              <path d={g.path} fill="none" stroke="transparent" strokeWidth={14} />
              <path d={g.path} fill="none" stroke={color} strokeWidth={2} markerEnd={`url(#wt-arrow-${sev})`} />
              {options.showEdgeLabels && (
                <text
                  data-testid="servicemap-edge-label"
                  x={g.label.x}
                  y={g.label.y - 4}
                  textAnchor="middle"
                  fontSize={11}
                  fill={theme.colors.text.primary}
                  stroke={theme.colors.background.primary}
                  strokeWidth={4}
                  paintOrder="stroke"
                >
                  <tspan x={g.label.x}>{l1}</tspan>
                  {l2 && (
                    <tspan x={g.label.x} dy={13} fill={theme.colors.text.secondary}>
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
      </svg>
      {hover && (
        <div
          data-testid="servicemap-tooltip"
          style={{
            position: 'absolute',
            left: Math.min(hover.x, Math.max(0, width - 260)),
            top: hover.y,
            maxWidth: 260,
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
