/**
 * The agent's Jaeger-compatible trace JSON as the integration tests read it,
 * and the look-ups they share: a span's tag, and both sides of one call.
 */
import { getJson, waitFor, type AgentHandle } from './helpers.js';

export interface JaegerTag {
  key: string;
  type: string;
  value: string | number | boolean;
}
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  processID: string;
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}

export function tag(span: JaegerSpan, key: string): string | number | boolean | undefined {
  return span.tags.find((t) => t.key === key)?.value;
}

/** The client span in service `client` and the server span in service `server` of trace `traceId`, once the agent has both. */
export async function clientAndServer(agent: AgentHandle, traceId: string, client: string, server: string): Promise<{ c: JaegerSpan; s: JaegerSpan }> {
  return waitFor(`client and server spans of trace ${traceId}`, async () => {
    const { status, body } = await getJson<{ data: JaegerTrace[] }>(`${agent.url}/api/traces/${traceId}`);
    if (status !== 200 || !body.data[0]) return undefined;
    const trace = body.data[0];
    const service = (s: JaegerSpan): string | undefined => trace.processes[s.processID]?.serviceName;
    const c = trace.spans.find((s) => service(s) === client && tag(s, 'span.kind') === 'client');
    const s = trace.spans.find((x) => service(x) === server && tag(x, 'span.kind') === 'server');
    return c && s ? { c, s } : undefined;
  }, 15_000);
}
