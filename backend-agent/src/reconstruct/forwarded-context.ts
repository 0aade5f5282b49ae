/**
 * A proxy that forwards a trace header unchanged (nginx without tracing)
 * sends the caller's span id again: the agent names a client span after the
 * id its header announces, so caller and proxy then hold client spans with
 * the same id, and every server span downstream names that id as parent.
 *
 * Before linking, the first such client span (canonical order: the caller,
 * which started first) keeps the id; each later one gets an id of its own,
 * derived from its exchange, and loses the parent it inherited from the
 * header (it belongs to the proxy's inbound request, which in-process linking
 * finds). A server span naming the shared id is then pointed at the one of
 * them it shares a socket with.
 */
import type { Span } from '../model/span.js';
import { derivedSpanId } from '../spans/ids.js';
import { connectionKey } from './socket-join-links.js';

function forwardedId(span: Span): string {
  const n = span.network;
  return derivedSpanId(`forwarded|${span.spanId}|${span.process.hostName}|${span.process.pid}|${n.connectionId}|${n.exchangeIndex}`);
}

/** `spans` in canonical order; returns copies where something changed. */
export function separateForwardedContexts(spans: readonly Span[]): Span[] {
  const clientsById = new Map<string, number[]>();
  spans.forEach((s, i) => {
    if (s.kind !== 'client') return;
    const key = `${s.traceId}|${s.spanId}`;
    const list = clientsById.get(key) ?? [];
    list.push(i);
    clientsById.set(key, list);
  });
  const out = [...spans];
  // Shared id -> the clients now holding it, by connection.
  const byConnection = new Map<string, Map<string, string>>();
  for (const [key, indexes] of clientsById) {
    if (indexes.length < 2) continue;
    const sockets = new Map<string, string>();
    indexes.forEach((index, n) => {
      const s = spans[index]!;
      if (n > 0) {
        const renamed: Span = { ...s, spanId: forwardedId(s) };
        delete renamed.parentSpanId;
        delete renamed.parentLink;
        out[index] = renamed;
      }
      sockets.set(connectionKey(s), out[index]!.spanId);
    });
    byConnection.set(key, sockets);
  }
  if (byConnection.size === 0) return out;
  out.forEach((s, i) => {
    if (s.kind !== 'server' || !s.parentSpanId) return;
    const parent = byConnection.get(`${s.traceId}|${s.parentSpanId}`)?.get(connectionKey(s));
    if (parent === undefined || parent === s.parentSpanId) return;
    out[i] = { ...s, parentSpanId: parent, ...(s.parentLink ? { parentLink: { ...s.parentLink, spanId: parent } } : {}) };
  });
  return out;
}
