/**
 * "Save & test": every agent's /api/health plus one authenticated call (the
 * health endpoint needs no token, so it alone cannot catch a wrong token).
 */
import { fanOut, type AgentFetch } from '../agents/agent-fetch';
import type { AgentRef } from '../agents/agent-settings';
import { NativeApi, type AgentHealth } from '../agents/native-api';

export interface AgentReport {
  agent: string;
  ok: boolean;
  /** One line: reachable, capture state, span count, drops; or the failure. */
  summary: string;
}

export interface HealthReport {
  status: 'success' | 'error';
  message: string;
  agents: AgentReport[];
}

/** Everything dropped on the way: kernel ring-buffer drops and spans the store could not take. */
export function dropCount(h: AgentHealth): number {
  const kernel = Object.entries(h.capture.kernel)
    .filter(([k]) => k.includes('drop'))
    .reduce((n, [, v]) => n + v, 0);
  return kernel + h.pipeline.spansDroppedBackpressure;
}

export function describeHealth(h: AgentHealth): string {
  const capture = h.capture.state === 'running' ? 'capture running' : `capture ${h.capture.state}${h.capture.error ? ` (${h.capture.error})` : ''}`;
  const parts = [`${h.status}`, capture, `${h.store.spanCount} spans`, `${dropCount(h)} drops`];
  if (h.store.writeError) parts.push(`store write error: ${h.store.writeError}`);
  return parts.join(', ');
}

export async function checkAgents(agents: readonly AgentRef[], fetch: AgentFetch, timeoutMs: number): Promise<HealthReport> {
  if (agents.length === 0) return { status: 'error', message: 'No agent configured: add at least one agent URL.', agents: [] };
  const api = new NativeApi(fetch, timeoutMs);
  const { results, errors } = await fanOut(agents, async (a) => {
    const health = await api.health(a);
    await api.services(a);
    return health;
  });
  const reports: AgentReport[] = agents.map((a) => {
    const ok = results.find((r) => r.agent.index === a.index);
    if (ok) return { agent: a.name, ok: ok.value.status === 'ok', summary: describeHealth(ok.value) };
    const err = errors.find((e) => e.agent.index === a.index)!;
    return { agent: a.name, ok: false, summary: err.reason };
  });
  const bad = reports.filter((r) => !r.ok).length;
  const lines = reports.map((r) => `${r.agent}: ${r.summary}`).join('\n');
  const head =
    bad === 0
      ? `All ${reports.length} agent${reports.length === 1 ? '' : 's'} OK`
      : `${bad} of ${reports.length} agent${reports.length === 1 ? '' : 's'} unhealthy or unreachable`;
  return { status: bad === 0 ? 'success' : 'error', message: `${head}\n${lines}`, agents: reports };
}
