/**
 * Deterministic synthetic data at the sizes the panels must handle, built
 * with the data source's own frame code: a trace of N spans (RPC pairs, a mix
 * of header and inferred links) and a service graph of N services and M
 * edges in tiers (gateways -> front services -> back services -> stores, a
 * few calls back up, external peers). The preview page serves them
 * (?synthetic=trace:5000, ?synthetic=graph:200:1000) and the component tests
 * use the same generators, so what the browser draws is what the tests built.
 */
import type { DataFrame } from '@grafana/data';
import type { DependencyStats, Span } from '../datasource/agents/native-api';
import { serviceGraphFrames } from '../datasource/frames/service-graph-frames';
import { traceFrame } from '../datasource/frames/trace-frame';

/** Park-Miller: the same numbers on every run and every engine. */
export function seeded(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

export const SYNTHETIC_TRACE_ID = '5eed0000000000000000000000005eed';
const BASE_US = 1_700_000_000_000_000;

function span(id: number, parent: number | undefined, service: string, peer: string, kind: 'client' | 'server', startUs: number, durNs: number, i: number): Span {
  const s: Span = {
    traceId: SYNTHETIC_TRACE_ID,
    spanId: hex(id + 1, 16),
    kind,
    name: `GET /${peer === service ? service : peer}/op${i % 7}`,
    service,
    peerService: peer,
    peerLocal: true,
    startTimeUs: startUs,
    durationNs: durNs,
    status: i > 0 && i % 97 === 0 ? 'error' : 'ok',
    traceIdSource: 'w3c',
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': i > 0 && i % 97 === 0 ? 500 : 200, 'url.path': `/${peer}/op${i % 7}` },
    process: { pid: 1000 + (service.length * 37) % 500, serviceName: service, serviceNameSource: 'comm', executableName: service, hostName: 'node-a', containerId: `c0ffee${hex(service.length, 6)}` },
    threadId: 1000 + (i % 13),
    network: {
      connectionId: String(100 + Math.floor(i / 3)),
      exchangeIndex: i % 3,
      local: { address: '10.0.0.1', port: kind === 'client' ? 40000 + (i % 20000) : 8080 },
      remote: { address: '10.0.0.2', port: kind === 'client' ? 8080 : 40000 + (i % 20000) },
      requestBytes: 200 + (i % 50) * 10,
      responseBytes: 800 + (i % 90) * 40,
      requestTransferNs: 20_000,
      responseTransferNs: 60_000,
      truncated: false,
      captureSource: i % 11 === 0 ? 'tls' : 'syscall',
    },
  };
  if (parent !== undefined) s.parentSpanId = hex(parent + 1, 16);
  return s;
}

/**
 * A trace of exactly `count` spans: a root server span, then calls as client +
 * server pairs (the server inside the client, with network time on both
 * sides), nested up to 7 deep; one in four server sides is joined by socket
 * rather than by header, as wiretrace does for calls without trace headers.
 */
export function syntheticTraceSpans(count: number, seed = 7): Span[] {
  const rnd = seeded(seed);
  const services = Array.from({ length: 40 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  const spans: Span[] = [span(0, undefined, 'gateway', 'client', 'server', BASE_US, count * 40_000, 0)];
  interface Open {
    index: number;
    service: string;
    startUs: number;
    endUs: number;
    depth: number;
    cursorUs: number;
  }
  const open: Open[] = [{ index: 0, service: 'gateway', startUs: BASE_US, endUs: BASE_US + count * 40, depth: 0, cursorUs: BASE_US + 5 }];
  let i = 1;
  while (i < count) {
    // Breadth over depth: pick a server span that still has room and call out of it.
    const parent = open[Math.floor(rnd() * open.length)]!;
    const room = parent.endUs - parent.cursorUs;
    if (room < 60 || parent.depth >= 7) {
      open.splice(open.indexOf(parent), 1);
      if (open.length === 0) open.push({ ...parent, index: 0, cursorUs: BASE_US + 5, depth: 0 });
      continue;
    }
    const callee = services[Math.floor(rnd() * services.length)]!;
    const durUs = Math.max(30, Math.min(room - 10, Math.floor(room * (0.05 + rnd() * 0.3))));
    const startUs = parent.cursorUs + Math.floor(rnd() * 5);
    parent.cursorUs = startUs + durUs + 2;
    const clientIdx = i++;
    spans.push(span(clientIdx, parent.index, parent.service, callee, 'client', startUs, durUs * 1000, clientIdx));
    if (i >= count) break;
    const netBefore = 3 + Math.floor(rnd() * 15);
    const netAfter = 3 + Math.floor(rnd() * 15);
    const serverIdx = i++;
    const server = span(serverIdx, clientIdx, callee, parent.service, 'server', startUs + netBefore, Math.max(1, durUs - netBefore - netAfter) * 1000, serverIdx);
    const inferred = Math.floor(serverIdx / 2) % 4 === 1;
    server.parentLink = inferred
      ? { traceId: SYNTHETIC_TRACE_ID, spanId: spans[clientIdx]!.spanId, method: 'socket-join', confidence: 0.99, alternatives: serverIdx % 3, networkTimeNs: (netBefore + netAfter) * 1000 }
      : { traceId: SYNTHETIC_TRACE_ID, spanId: spans[clientIdx]!.spanId, method: 'header', confidence: 1 };
    spans.push(server);
    open.push({ index: serverIdx, service: callee, startUs: startUs + netBefore, endUs: startUs + durUs - netAfter, depth: parent.depth + 1, cursorUs: startUs + netBefore + 2 });
  }
  return spans;
}

export function syntheticTraceFrame(count: number): DataFrame {
  return traceFrame(SYNTHETIC_TRACE_ID, syntheticTraceSpans(count), 'A');
}

const PROTOCOLS = ['http', 'http', 'http', 'grpc', 'grpc', 'postgresql', 'redis'];

/**
 * `nodes` services in 6 tiers, `edges` distinct calls mostly one or two tiers
 * down, 3% calling back up (cycles), 10 external peers (addresses).
 */
export function syntheticDependencies(nodes: number, edges: number, seed = 42): Array<DependencyStats & { protocol?: string }> {
  const rnd = seeded(seed);
  const externals = Math.min(10, Math.floor(nodes / 20));
  const internal = nodes - externals;
  const tierOf = (k: number) => Math.min(5, Math.floor((k / internal) ** 0.8 * 6));
  const names = Array.from({ length: internal }, (_, k) => `t${tierOf(k)}-svc-${String(k).padStart(3, '0')}`);
  const byTier: string[][] = [[], [], [], [], [], []];
  names.forEach((n, k) => byTier[tierOf(k)]!.push(n));
  const ext = Array.from({ length: externals }, (_, k) => `203.0.113.${k + 1}:443`);
  const seen = new Set<string>();
  const out: Array<DependencyStats & { protocol?: string }> = [];
  let guard = 0;
  while (out.length < edges && guard++ < edges * 50) {
    const k = Math.floor(rnd() * internal);
    const from = names[k]!;
    const tier = tierOf(k);
    const r = rnd();
    let to: string;
    if (r < 0.03 && tier > 0) to = byTier[tier - 1]![Math.floor(rnd() * byTier[tier - 1]!.length)]!;
    else if (r < 0.06) to = ext[Math.floor(rnd() * ext.length)]!;
    else {
      const t = Math.min(5, tier + 1 + (rnd() < 0.25 ? 1 : 0));
      if (t === tier) continue;
      to = byTier[t]![Math.floor(rnd() * byTier[t]!.length)]!;
    }
    if (to === from || seen.has(`${from}>${to}`)) continue;
    seen.add(`${from}>${to}`);
    const p50 = 1e6 * (1 + rnd() * 40);
    const calls = 10 + Math.floor(rnd() * 5000);
    const protocol = PROTOCOLS[Math.floor(rnd() * PROTOCOLS.length)]!;
    out.push({
      parent: from,
      child: to,
      callCount: calls,
      errorCount: rnd() < 0.1 ? Math.floor(calls * rnd() * 0.2) : 0,
      client: { count: calls, p50Ns: p50, p95Ns: p50 * 3, p99Ns: p50 * 6 },
      ...(to.startsWith('203.') ? {} : { server: { count: calls, p50Ns: p50 * 0.9, p95Ns: p50 * 2.8, p99Ns: p50 * 5.5 } }),
      requestBytes: calls * 300,
      responseBytes: calls * 2000,
      ...(to.startsWith('203.') ? {} : { networkTimeNs: p50 * 0.1 }),
      protocol,
    });
  }
  return out;
}

export function syntheticGraphFrames(nodes: number, edges: number): DataFrame[] {
  return serviceGraphFrames(syntheticDependencies(nodes, edges), { rangeSeconds: 3600, refId: 'A' });
}
