/**
 * Agent list <-> proxy routes. plugin.json declares MAX_AGENTS routes
 * `agent00`..`agent15`, each proxying to `{{ .JsonData.agentUrlNN }}` with the
 * bearer token from secureJsonData, so the browser never sees the token and
 * never talks to an agent directly. Route paths have equal length so none is
 * a prefix of another (Grafana matches routes by path prefix).
 */
import type { AgentEndpoint, WiretraceOptions } from '../types';

export const MAX_AGENTS = 16;
export const DEFAULT_TIMEOUT_SECONDS = 30;

export interface AgentRef {
  /** Position in the configured list: selects the proxy route. */
  index: number;
  name: string;
  url: string;
}

export function routePath(index: number): string {
  return `agent${String(index).padStart(2, '0')}`;
}

export function routeUrlKey(index: number): `agentUrl${string}` {
  return `agentUrl${String(index).padStart(2, '0')}`;
}

/** Configured agents with a URL, named (by their URL when unnamed). */
export function agentRefs(options: WiretraceOptions): AgentRef[] {
  return (options.agents ?? [])
    .slice(0, MAX_AGENTS)
    .map((a, index) => ({ index, name: a.name?.trim() || a.url.trim(), url: a.url.trim() }))
    .filter((a) => a.url !== '');
}

/** jsonData with `agents` replaced and the route URL keys rewritten to match. */
export function withAgents(options: WiretraceOptions, agents: AgentEndpoint[]): WiretraceOptions {
  const next: WiretraceOptions = { ...options, agents };
  for (let i = 0; i < MAX_AGENTS; i++) {
    const url = agents[i]?.url.trim();
    // Trailing slashes would double up with the request path in the proxy.
    next[routeUrlKey(i)] = url ? url.replace(/\/+$/, '') : undefined;
  }
  return next;
}

/** Problems that make a configuration unusable, one line each. */
export function validateAgents(agents: readonly AgentEndpoint[]): string[] {
  const problems: string[] = [];
  if (agents.length === 0) problems.push('add at least one agent URL');
  if (agents.length > MAX_AGENTS) problems.push(`at most ${MAX_AGENTS} agents are supported`);
  agents.forEach((a, i) => {
    const label = a.name?.trim() || `agent ${i + 1}`;
    let parsed: URL | undefined;
    try {
      parsed = new URL(a.url.trim());
    } catch {
      problems.push(`${label}: '${a.url}' is not a URL (expected e.g. http://10.0.0.5:9797)`);
      return;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') problems.push(`${label}: URL must start with http:// or https://`);
  });
  return problems;
}
