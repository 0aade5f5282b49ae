/**
 * Which local process owns each end of a loopback/same-host TCP connection.
 * When both ends of a connection are on this host, the peer of one side is
 * the process holding the reversed 4-tuple: that is how a server span learns
 * its client's service name (and a client span its server's) without headers.
 *
 * Closed sockets linger for a grace period, because the last exchange on a
 * connection is often completed (and turned into a span) after the close.
 */
import type { SocketTuple } from '../model/events.js';

export interface SocketOwner {
  pid: number;
  connId: bigint;
  comm: string;
}

const GRACE_NS = 30_000_000_000n;

/**
 * join() builds one flat string; a template literal would keep a tree of
 * its pieces (about 170 bytes more per open socket, and slower to hash).
 */
function key(local: { address: string; port: number }, remote: { address: string; port: number }): string {
  return [local.address, local.port, remote.address, remote.port].join('|');
}

export class SocketIndex {
  private readonly open = new Map<string, SocketOwner>();
  private readonly closed = new Map<string, { owner: SocketOwner; closedAtNs: bigint }>();

  /** `owner` is kept as given while the socket is open (the tracker passes its connection record: no copy per socket). */
  add(socket: SocketTuple, owner: SocketOwner): void {
    const k = key(socket.local, socket.remote);
    this.open.set(k, owner);
    this.closed.delete(k);
  }

  remove(socket: SocketTuple, connId: bigint, nowNs: bigint): void {
    const k = key(socket.local, socket.remote);
    const owner = this.open.get(k);
    // A newer connection may already reuse the 4-tuple: only drop our own.
    if (!owner || owner.connId !== connId) return;
    this.open.delete(k);
    // Only what a late span asks for lingers, not the caller's whole record.
    this.closed.set(k, { owner: { pid: owner.pid, connId: owner.connId, comm: owner.comm }, closedAtNs: nowNs });
  }

  /** The local process at the other end of `socket`, if it is on this host and was seen. */
  peerOf(socket: SocketTuple): SocketOwner | undefined {
    const k = key(socket.remote, socket.local);
    return this.open.get(k) ?? this.closed.get(k)?.owner;
  }

  /** Forgets closed sockets past the grace period; call periodically. */
  expire(nowNs: bigint): void {
    for (const [k, v] of this.closed) if (nowNs - v.closedAtNs > GRACE_NS) this.closed.delete(k);
  }

  clear(): void {
    this.open.clear();
    this.closed.clear();
  }

  get size(): number {
    return this.open.size;
  }
}
