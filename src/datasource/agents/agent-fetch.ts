/**
 * How the pure query code talks to agents: through an injected fetch
 * function. In Grafana it goes through the data-source proxy route of the
 * agent (datasource.ts); in tests straight to a real agent over HTTP.
 */
import type { AgentRef } from './agent-settings';

export interface AgentResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
}

/**
 * GET `path` (e.g. `/api/v1/traces`) with `params` from one agent. Resolves
 * with any HTTP status; rejects only when no HTTP answer came (refused, DNS, reset).
 */
export type AgentFetch = (agent: AgentRef, path: string, params: URLSearchParams) => Promise<AgentResponse>;

/** An agent's failure, worded for a panel: names the agent. */
export class AgentError extends Error {
  constructor(
    readonly agent: AgentRef,
    readonly reason: string,
    /** HTTP status when the agent (or the proxy in front of it) answered. */
    readonly status?: number,
  ) {
    super(`agent ${agent.name}: ${reason}`);
    this.name = 'AgentError';
  }
}

function errorDetail(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (Array.isArray(errors)) {
    const msgs = errors
      .map((e) => (typeof e === 'object' && e !== null ? (e as { msg?: unknown }).msg : undefined))
      .filter((m): m is string => typeof m === 'string');
    if (msgs.length > 0) return msgs.join('; ');
  }
  const message = (body as { message?: unknown }).message;
  return typeof message === 'string' ? message : undefined;
}

function httpFailure(agent: AgentRef, res: AgentResponse): AgentError {
  const detail = errorDetail(res.body);
  const reason =
    res.status === 401
      ? 'unauthorized (HTTP 401): check the bearer token in the data source settings'
      : res.status === 502 || res.status === 503 || res.status === 504
        ? `unreachable through Grafana's proxy (HTTP ${res.status}${detail ? `: ${detail}` : ''})`
        : `HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
  return new AgentError(agent, reason, res.status);
}

function describeThrown(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? `unreachable (${code})` : `unreachable (${err.message})`;
  }
  return `unreachable (${String(err)})`;
}

/**
 * GET JSON from one agent; a 2xx body is returned, anything else becomes an
 * AgentError. `allowNotFound` turns a 404 into undefined (trace not on this node).
 */
export async function getAgentJson<T>(
  fetchAgent: AgentFetch,
  agent: AgentRef,
  path: string,
  params: URLSearchParams,
  timeoutMs: number,
  allowNotFound = false,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AgentError(agent, `no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    let res: AgentResponse;
    try {
      res = await Promise.race([fetchAgent(agent, path, params), timeout]);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError(agent, describeThrown(err));
    }
    if (res.status === 404 && allowNotFound) return undefined;
    if (res.status < 200 || res.status >= 300) throw httpFailure(agent, res);
    if (res.body === undefined) throw new AgentError(agent, `HTTP ${res.status} with no JSON body`, res.status);
    return res.body as T;
  } finally {
    clearTimeout(timer);
  }
}

export interface FanOutResult<T> {
  /** One entry per agent that answered, in configuration order. */
  results: Array<{ agent: AgentRef; value: T }>;
  errors: AgentError[];
}

/** Runs `call` on every agent at once; one failing agent never hides the others' results. */
export async function fanOut<T>(agents: readonly AgentRef[], call: (agent: AgentRef) => Promise<T>): Promise<FanOutResult<T>> {
  const settled = await Promise.allSettled(agents.map((a) => call(a)));
  const out: FanOutResult<T> = { results: [], errors: [] };
  settled.forEach((s, i) => {
    const agent = agents[i]!;
    if (s.status === 'fulfilled') out.results.push({ agent, value: s.value });
    else out.errors.push(s.reason instanceof AgentError ? s.reason : new AgentError(agent, describeThrown(s.reason)));
  });
  return out;
}
