/**
 * Maps one span to its contribution to Tempo's service-graph metrics.
 *
 * Tempo pairs a client span with its server span and counts the call once.
 * The agent sees both sides of a call between two processes on its host, as
 * two spans (a client span in the caller, a server span in the callee), and
 * each says whether its peer was seen (`peerLocal`). So pairing needs no
 * buffering: when the peer is local, the server span alone counts the request
 * and feeds the server-side histogram, and the client span only feeds the
 * client-side histogram. Each call is counted once, whatever order the two
 * spans arrive in and even when they arrive in different batches.
 *
 * When only one side is seen, the other is a "virtual node" as in Tempo
 * (`connection_type="virtual_node"`), and the seen side counts the request:
 * - a client span to a peer off this host: server = the peer (`address:port`,
 *   the server's stable port, so bounded);
 * - a server span from a peer off this host: client = `user` (Tempo's name
 *   for an uninstrumented caller; the peer's address and ephemeral port would
 *   be an unbounded label).
 *
 * Failed: Tempo counts a call failed when either side's status is error. Here
 * the side that counts decides: for a paired call that is the server span,
 * whose status is error on 5xx or no response (a 4xx is the client's fault,
 * as OpenTelemetry's server semantics say). A call whose server side is local
 * but was not captured (its process filtered out) is not counted: it shows in
 * the client-side histogram only.
 */
import type { Span } from '../model/span.js';

export type ConnectionType = '' | 'virtual_node';

/** Tempo's name for a caller that is not seen. */
export const UNSEEN_CLIENT = 'user';

export interface EdgeObservation {
  client: string;
  server: string;
  connectionType: ConnectionType;
  /** Which latency histogram the span's duration goes to. */
  side: 'client' | 'server';
  seconds: number;
  /** This span is the one that counts the request (request_total, failed_total). */
  countsRequest: boolean;
  failed: boolean;
}

/** The span fields an edge is made of (the self-time windows keep only these and a few more). */
export type EdgeSpan = Pick<Span, 'kind' | 'service' | 'peerService' | 'peerLocal' | 'status' | 'durationNs'>;

export function serviceGraphObservation(span: EdgeSpan): EdgeObservation {
  const seconds = span.durationNs / 1e9;
  const failed = span.status === 'error';
  const connectionType: ConnectionType = span.peerLocal ? '' : 'virtual_node';
  if (span.kind === 'server') {
    return {
      client: span.peerLocal ? span.peerService : UNSEEN_CLIENT,
      server: span.service,
      connectionType,
      side: 'server',
      seconds,
      countsRequest: true,
      failed,
    };
  }
  return {
    client: span.service,
    server: span.peerService,
    connectionType,
    side: 'client',
    seconds,
    // With a local peer, that peer's server span counts the call.
    countsRequest: !span.peerLocal,
    failed,
  };
}
