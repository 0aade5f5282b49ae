/**
 * Template-variable queries: `services()`, `operations(SERVICE)`, `edges()`.
 * Values from all agents are merged, deduplicated and sorted.
 */
import { fanOut, type AgentError, type AgentFetch } from '../agents/agent-fetch';
import type { AgentRef } from '../agents/agent-settings';
import { NativeApi } from '../agents/native-api';

export type VariableQuery = { kind: 'services' } | { kind: 'operations'; service: string } | { kind: 'edges' };

const FORMS = 'services(), operations(SERVICE) or edges()';

/** Parses the variable query text; throws with the accepted forms on anything else. */
export function parseVariableQuery(text: string): VariableQuery {
  const t = text.trim();
  if (t === '' || /^services\(\s*\)$/.test(t)) return { kind: 'services' };
  if (/^edges\(\s*\)$/.test(t)) return { kind: 'edges' };
  const ops = /^operations\(\s*(.*?)\s*\)$/.exec(t);
  if (ops) {
    const service = ops[1]!.replace(/^(['"])(.*)\1$/, '$2');
    if (service === '') throw new Error(`operations() needs a service: operations(frontend)`);
    return { kind: 'operations', service };
  }
  throw new Error(`unknown variable query '${t}': use ${FORMS}`);
}

export interface VariableContext {
  agents: readonly AgentRef[];
  fetch: AgentFetch;
  timeoutMs: number;
  /** Dashboard range for edges(), Unix ms. */
  fromMs: number;
  toMs: number;
}

export async function variableValues(q: VariableQuery, ctx: VariableContext): Promise<{ values: string[]; errors: AgentError[] }> {
  const api = new NativeApi(ctx.fetch, ctx.timeoutMs);
  const { results, errors } = await fanOut(ctx.agents, async (a): Promise<string[]> => {
    if (q.kind === 'services') return api.services(a);
    if (q.kind === 'operations') return api.operations(a, q.service);
    const edges = await api.dependencies(a, { startUs: ctx.fromMs * 1000, endUs: ctx.toMs * 1000 });
    return edges.map((e) => `${e.parent}->${e.child}`);
  });
  const values = [...new Set(results.flatMap((r) => r.value))].sort();
  return { values, errors };
}
