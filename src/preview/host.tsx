/**
 * The preview page's host: plays the part of Grafana for our panel plugins
 * without Grafana. It provides React, @grafana/* and rxjs to the BUILT panel
 * (dist/panels/<name>/module.js, an AMD module with those as externals)
 * through a tiny `define` shim, runs the data source's own query code
 * (runQuery) against an agent behind the preview server's same-origin proxy
 * (/agent/...), and renders the panel with real PanelProps.
 *
 * Bundled by preview/build.mjs into preview/build/host.js; served by preview/server.mjs.
 */
import React, { useEffect, useState } from 'react';
import * as ReactDOM from 'react-dom';
import { createRoot } from 'react-dom/client';
import * as grafanaData from '@grafana/data';
import {
  createTheme,
  dateTime,
  EventBusSrv,
  LoadingState,
  PanelPlugin,
  standardEditorsRegistry,
  ThemeContext,
  type DataFrame,
  type PanelData,
  type PanelProps,
  type TimeRange,
} from '@grafana/data';
import * as grafanaUi from '@grafana/ui';
import * as grafanaRuntime from '@grafana/runtime';
import { locationService } from '@grafana/runtime';
import * as rxjs from 'rxjs';
import type { AgentFetch } from '../datasource/agents/agent-fetch';
import { runQuery } from '../datasource/query/run-query';
import { QUERY_TYPES, type WiretraceQuery } from '../datasource/types';
import { syntheticGraphFrames, syntheticTraceFrame } from './synthetic';

/** ?synthetic=trace:5000 or graph:200:1000: generated frames at the sizes the panels must handle, no agent needed. */
function syntheticFrames(spec: string): DataFrame[] {
  const [kind, a, b] = spec.split(':');
  const n = (v: string | undefined, d: number) => Math.max(1, Math.min(100_000, Number(v) || d));
  if (kind === 'trace') return [syntheticTraceFrame(n(a, 5000))];
  if (kind === 'graph') return syntheticGraphFrames(n(a, 200), n(b, 1000));
  throw new Error(`unknown synthetic data '${spec}' (use trace:N or graph:N:M)`);
}

/** What a built plugin may import; Grafana provides the same set at runtime. */
const SHARED: Record<string, unknown> = {
  react: React,
  'react-dom': ReactDOM,
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
  rxjs,
};

type AmdFactory = (...deps: unknown[]) => unknown;
interface AmdDefine {
  (deps: string[] | AmdFactory, factory?: AmdFactory): void;
  amd: object;
}
interface PreviewWindow {
  define?: AmdDefine;
  wiretracePreview?: PreviewState;
}

/** What the browser tests read: the page's progress and the last link the panel opened. */
export interface PreviewState {
  status: 'loading' | 'ready' | 'error';
  error?: string;
  frames?: number;
  navigations: string[];
}

/**
 * Grafana core fills the option-editor registry at start-up; a plugin's
 * option builder (addNumberInput...) looks its editors up by id when its
 * defaults are read. The preview has no panel editor, so inert stand-ins do.
 */
const NoEditor = () => null;
standardEditorsRegistry.setInit(() =>
  ['number', 'text', 'boolean', 'radio', 'select', 'multiSelect', 'color', 'slider', 'unit', 'links', 'stats-picker', 'custom'].map((id) => ({
    id,
    name: id,
    editor: NoEditor,
  })),
);

const state: PreviewState = { status: 'loading', navigations: [] };
(window as PreviewWindow).wiretracePreview = state;

/** Loads one AMD module by script tag; only one load at a time, as the page loads one plugin. */
function loadAmdModule(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const define = ((deps: string[] | AmdFactory, factory?: AmdFactory) => {
      const list = Array.isArray(deps) ? deps : [];
      const fn = Array.isArray(deps) ? factory : deps;
      if (!fn) return reject(new Error(`${url}: define() without a factory`));
      const exports: Record<string, unknown> = {};
      try {
        const args = list.map((d) => {
          if (d === 'exports') return exports;
          if (!(d in SHARED)) throw new Error(`${url} imports '${d}', which the host does not provide`);
          return SHARED[d];
        });
        const ret = fn(...args);
        resolve((ret as Record<string, unknown> | undefined) ?? exports);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    }) as AmdDefine;
    define.amd = {};
    (window as PreviewWindow).define = define;
    const script = document.createElement('script');
    script.src = url;
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.append(script);
  });
}

/** Agent calls through the preview server's proxy (as Grafana's data-source proxy would). */
const proxyFetch: AgentFetch = async (_agent, path, params) => {
  const q = params.toString();
  const res = await fetch(`/agent${path}${q ? `?${q}` : ''}`);
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
};

function param(name: string): string | undefined {
  return new URLSearchParams(window.location.search).get(name) ?? undefined;
}

/** Panel options from the URL (`opt.latencyWarnMs=50`), typed like the defaults they replace. */
function optionsFrom(defaults: Record<string, unknown>): Record<string, unknown> {
  const out = { ...defaults };
  for (const [k, v] of new URLSearchParams(window.location.search)) {
    if (!k.startsWith('opt.')) continue;
    const key = k.slice(4);
    const d = defaults[key];
    out[key] = typeof d === 'number' ? Number(v) : typeof d === 'boolean' ? v === 'true' : v;
  }
  return out;
}

interface Loaded {
  plugin: PanelPlugin;
  frames: DataFrame[];
  errors: string[];
  range: TimeRange;
}

async function load(): Promise<Loaded> {
  const panel = param('panel') ?? 'servicemap';
  if (!/^[a-z0-9-]+$/.test(panel)) throw new Error(`bad panel name '${panel}'`);
  const mod = await loadAmdModule(`/dist/panels/${panel}/module.js`);
  const plugin = mod.plugin;
  if (!(plugin instanceof PanelPlugin)) throw new Error(`dist/panels/${panel}/module.js exports no PanelPlugin`);
  const toMs = Number(param('to') ?? Date.now());
  const fromMs = Number(param('from') ?? toMs - 3600_000);
  const range: TimeRange = { from: dateTime(fromMs), to: dateTime(toMs), raw: { from: dateTime(fromMs), to: dateTime(toMs) } };
  const synthetic = param('synthetic');
  if (synthetic) return { plugin, frames: syntheticFrames(synthetic), errors: [], range };
  // ?query=search etc. feeds the panel another query type's frames (to see how it degrades).
  const asked = param('query');
  const queryType = QUERY_TYPES.find((t) => t === asked) ?? (panel === 'servicemap' ? 'serviceGraph' : 'trace');
  const query: WiretraceQuery = { refId: 'A', queryType };
  const traceId = param('traceId');
  if (traceId) query.traceId = traceId;
  const outcome = await runQuery(query, {
    agents: [{ index: 0, name: 'agent', url: '/agent' }],
    fetch: proxyFetch,
    timeoutMs: 15_000,
    fromMs,
    toMs,
    intervalMs: 60_000,
    datasource: { uid: 'wiretrace-preview', name: 'wiretrace' },
  });
  return { plugin, frames: outcome.frames, errors: outcome.errors.map((e) => e.message), range };
}

function Page() {
  const [loaded, setLoaded] = useState<Loaded | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [size, setSize] = useState({ width: window.innerWidth - 32, height: window.innerHeight - 80 });
  const [, setNavCount] = useState(0);
  const mode = param('theme') === 'light' ? 'light' : 'dark';
  const theme = React.useMemo(() => createTheme({ colors: { mode } }), [mode]);

  useEffect(() => {
    load().then(
      (l) => {
        setLoaded(l);
        state.frames = l.frames.length;
        state.status = 'ready';
        if (l.errors.length > 0) state.error = l.errors.join('; ');
      },
      (err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        setError(msg);
        state.error = msg;
        state.status = 'error';
      },
    );
    const onResize = () => setSize({ width: window.innerWidth - 32, height: window.innerHeight - 80 });
    window.addEventListener('resize', onResize);
    // The panel navigates through locationService, as in Grafana; record where it went.
    const unlisten = locationService.getHistory().listen((loc: { pathname: string; search: string }) => {
      state.navigations.push(`${loc.pathname}${loc.search}`);
      setNavCount(state.navigations.length);
    });
    return () => {
      window.removeEventListener('resize', onResize);
      unlisten();
    };
  }, []);

  const page: React.CSSProperties = {
    background: theme.colors.background.canvas,
    color: theme.colors.text.primary,
    fontFamily: theme.typography.fontFamily,
    minHeight: '100vh',
    padding: 16,
    boxSizing: 'border-box',
  };
  const Panel = loaded?.plugin.panel;
  const props: PanelProps | undefined = loaded && {
    id: 1,
    data: { state: LoadingState.Done, series: loaded.frames, timeRange: loaded.range } satisfies PanelData,
    timeRange: loaded.range,
    timeZone: 'browser',
    options: optionsFrom(loaded.plugin.defaults as Record<string, unknown>),
    transparent: false,
    width: size.width,
    height: size.height,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title: 'Preview',
    eventBus: new EventBusSrv(),
    onOptionsChange: () => {},
    onFieldConfigChange: () => {},
    replaceVariables: (s: string) => s,
    onChangeTimeRange: () => {},
  };
  return (
    <ThemeContext.Provider value={theme}>
      <div style={page}>
        <div style={{ display: 'flex', gap: 16, alignItems: 'baseline', marginBottom: 8 }}>
          <strong>wiretrace panel preview</strong>
          <span style={{ color: theme.colors.text.secondary }}>{loaded ? loaded.plugin.meta?.id ?? param('panel') ?? 'servicemap' : ''}</span>
          {state.navigations.length > 0 && (
            <span data-testid="preview-navigation" style={{ color: theme.colors.text.link }}>
              → {state.navigations[state.navigations.length - 1]}
            </span>
          )}
        </div>
        {error && <pre data-testid="preview-error" style={{ color: theme.colors.error.text }}>{error}</pre>}
        {loaded && loaded.errors.length > 0 && <pre style={{ color: theme.colors.warning.text }}>{loaded.errors.join('\n')}</pre>}
        {!loaded && !error && <div>Loading…</div>}
        {Panel && props && (
          <div style={{ background: theme.colors.background.primary, border: `1px solid ${theme.colors.border.weak}`, borderRadius: 4, padding: 0 }}>
            <Panel {...props} />
          </div>
        )}
      </div>
    </ThemeContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<Page />);
