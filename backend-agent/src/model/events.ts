/**
 * Capture events as the agent sees them after decoding the loader's stream
 * (docs/FRAMING.md). These are the input of the connection tracker and the
 * protocol parsers; nothing downstream of them reads raw bytes of the framing.
 */

export type Direction = 'egress' | 'ingress';

/** Which side of the TCP connection the traced process is, when known. */
export type Role = 'client' | 'server' | 'unknown';

export interface Endpoint {
  /** Textual address: dotted IPv4 or RFC 5952 IPv6. */
  address: string;
  port: number;
}

export interface SocketTuple {
  family: 'ipv4' | 'ipv6';
  local: Endpoint;
  remote: Endpoint;
}

export interface HelloEvent {
  type: 'hello';
  version: number;
  /** CLOCK_REALTIME - CLOCK_BOOTTIME in ns at loader start (STATS carry fresh values); add to ts to get Unix ns. */
  realtimeOffsetNs: bigint;
  loaderPid: number;
  maxPayload: number;
  ncpus: number;
  kernelRelease: string;
}

export interface ConnEvent {
  type: 'conn';
  kind: 'open' | 'close';
  tsNs: bigint;
  connId: bigint;
  cgroupId: bigint;
  pid: number;
  tid: number;
  fd: number;
  role: Role;
  syscall: string;
  socket: SocketTuple;
  bytesSent: bigint;
  bytesRecv: bigint;
  comm: string;
}

export interface DataEvent {
  type: 'data';
  tsEnterNs: bigint;
  tsExitNs: bigint;
  connId: bigint;
  cgroupId: bigint;
  /** Bytes already moved in this direction before this call; a jump means a gap. */
  streamPos: bigint;
  /** Bytes the syscall moved. */
  bytes: number;
  pid: number;
  tid: number;
  fd: number;
  direction: Direction;
  role: Role;
  syscall: string;
  truncated: boolean;
  socket: SocketTuple;
  comm: string;
  /** Payload prefix: at most maxPayload bytes of what the call moved. */
  payload: Buffer;
  /**
   * 'tls': plaintext from an OpenSSL probe (framing v2), `syscall` then names
   * the SSL call and `streamPos` counts plaintext. Absent for syscall data.
   */
  captureSource?: 'tls';
}

export interface StatsEvent {
  type: 'stats';
  tsNs: bigint;
  /** Cumulative counters since the loader started, summed over CPUs. */
  counters: Record<string, number>;
}

/** What a TLS record (framing v2) reports about TLS library discovery. */
export type TlsEventKind = 'lib-attached' | 'lib-detached' | 'lib-failed' | 'proc-unobserved' | 'proc-gone';

/** TLS stacks the loader tells apart; only `openssl` (SSL_read/SSL_write with symbols) is probed. */
export type TlsStack = 'unknown' | 'openssl' | 'go' | 'static-openssl' | 'boringssl' | 'rustls' | 'gnutls' | 'nss' | 'other';

export interface TlsEvent {
  type: 'tls';
  kind: TlsEventKind;
  stack: TlsStack;
  /** Process the file was found in (0: a system library attached at loader start). */
  pid: number;
  /** Device and inode of the file (libraries: the probe target). */
  dev: bigint;
  ino: bigint;
  /** Uprobes attached (lib-attached). */
  probes: number;
  /** errno of a failed attach (lib-failed). */
  error: number;
  path: string;
}

/**
 * Who a process is, as the loader read it from /proc when it first saw the
 * process (PROC_INFO record): it may be gone by the time the agent gets here.
 * Only the environment variables the agent names services from are carried.
 */
export interface ProcInfoEvent {
  type: 'proc-info';
  pid: number;
  /** /proc/PID/stat field 22 as decimal text, as ProcessInfoResolver compares it; '' when unknown. */
  startTime: string;
  comm: string;
  /** Empty when unreadable (kernel thread, exited, no rights). */
  exe: string;
  cwd: string;
  cgroup: string;
  /** Set when the environment was readable: an absent variable was then unset. */
  environ?: { OTEL_SERVICE_NAME?: string; SERVICE_NAME?: string };
  /** NUL-separated arguments, possibly a prefix (cmdlineTruncated). */
  cmdline: Buffer;
  cmdlineTruncated: boolean;
}

export type CaptureEvent = HelloEvent | ConnEvent | DataEvent | StatsEvent | TlsEvent | ProcInfoEvent;
