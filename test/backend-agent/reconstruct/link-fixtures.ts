/**
 * Header-less spans for reconstruction tests: each span has its own derived
 * trace id (as the ingest side gives them), a process, a thread, a socket and
 * a URL, in µs from T0.
 */
import type { Span } from '../../../backend-agent/src/model/span.js';
import { T0_US, makeSpan, spanIdOf, traceIdOf } from '../fixtures/spans.js';

export const MS_NS = 1_000_000;

export interface SideOptions {
  n: number;
  kind: 'client' | 'server';
  pid: number;
  tid?: number;
  service?: string;
  /** Offsets from T0, µs. */
  startUs: number;
  durationUs: number;
  local: number;
  remote: number;
  path?: string;
  query?: string;
  headers?: Record<string, string>;
  exchangeIndex?: number;
}

export function side(o: SideOptions): Span {
  const attributes: Span['attributes'] = { 'http.request.method': 'GET', 'url.path': o.path ?? '/x' };
  if (o.query) attributes['url.query'] = o.query;
  for (const [k, v] of Object.entries(o.headers ?? {})) attributes[`http.request.header.${k}`] = v;
  return makeSpan({
    traceId: traceIdOf(o.n),
    spanId: spanIdOf(o.n),
    kind: o.kind,
    service: o.service ?? `svc-${o.pid}`,
    startTimeUs: T0_US + o.startUs,
    durationNs: o.durationUs * 1000,
    attributes,
    process: { pid: o.pid, serviceName: o.service ?? `svc-${o.pid}` },
    threadId: o.tid ?? o.pid,
    network: {
      connectionId: String(o.n),
      exchangeIndex: o.exchangeIndex ?? 0,
      local: { address: '127.0.0.1', port: o.local },
      remote: { address: '127.0.0.1', port: o.remote },
      requestTransferNs: 10_000,
    },
  });
}

/** One call seen from both sides: client span n (pid `from`), server span n+1 (pid `to`), 50 µs of network each way. */
export function call(n: number, from: { pid: number; tid?: number }, to: { pid: number; tid?: number }, startUs: number, durationUs: number, port: number, clientPort: number, path = '/x'): Span[] {
  return [
    side({ n, kind: 'client', pid: from.pid, ...(from.tid ? { tid: from.tid } : {}), startUs, durationUs, local: clientPort, remote: port, path }),
    side({ n: n + 1, kind: 'server', pid: to.pid, ...(to.tid ? { tid: to.tid } : {}), startUs: startUs + 50, durationUs: durationUs - 100, local: port, remote: clientPort, path }),
  ];
}

export function byId(spans: readonly Span[], n: number, kind?: Span['kind']): Span {
  const found = spans.find((s) => s.spanId === spanIdOf(n) && (kind === undefined || s.kind === kind));
  if (!found) throw new Error(`span ${n} missing`);
  return found;
}
