/**
 * Decoder for the loader's binary stream (docs/FRAMING.md, bpf/wiretrace.h).
 * The pipe hands us arbitrary chunks, so the decoder keeps the unconsumed tail
 * and yields whole records only. It never throws on stream content: framing
 * damage is a FramingError the caller counts and reports.
 */
import type {
  CaptureEvent,
  ConnEvent,
  DataEvent,
  Direction,
  HelloEvent,
  ProcInfoEvent,
  Role,
  SocketTuple,
  StatsEvent,
  TlsEvent,
  TlsEventKind,
  TlsStack,
} from '../model/events.js';

export const FRAMING_MAGIC = 'WTRC';
/** What this agent writes; it reads every version from MIN_FRAMING_VERSION on (v2 only added TLS). */
export const FRAMING_VERSION = 2;
export const MIN_FRAMING_VERSION = 1;

const PREAMBLE_LEN = 8;
const RECORD_HEADER_LEN = 8;
/** No well-formed record is near this size; anything larger is corruption. */
const MAX_RECORD_LEN = 1 << 20;

const REC_HELLO = 1;
const REC_CONN = 2;
const REC_DATA = 3;
const REC_STATS = 4;
const REC_TLS = 5;
const REC_PROC_INFO = 6;

const HELLO_LEN = 88;
const SOCKET_LEN = 40;
const CONN_LEN = 112;
const DATA_FIXED_LEN = 128;
const STATS_HEADER_LEN = 16;
const STAT_ENTRY_LEN = 32;
const TLS_LEN = 288;
const PROC_INFO_FIXED_LEN = 32;

const PROC_F_ENVIRON = 1;
const PROC_F_CMDLINE_CUT = 2;

const DATA_F_TRUNCATED = 1;
const DATA_F_TLS = 2;

const SYSCALLS: Record<number, string> = {
  0: 'none', // a close no syscall made: process exit, or an fd found reused
  1: 'read',
  2: 'write',
  3: 'readv',
  4: 'writev',
  5: 'sendto',
  6: 'recvfrom',
  7: 'sendmsg',
  8: 'recvmsg',
  9: 'sendfile',
  10: 'splice',
  11: 'connect',
  12: 'accept',
  13: 'accept4',
  14: 'close',
  15: 'sendmmsg',
  16: 'recvmmsg',
  // Not syscalls: the OpenSSL call whose plaintext a uprobe captured (DATA flag TLS).
  17: 'SSL_read',
  18: 'SSL_write',
  19: 'SSL_read_ex',
  20: 'SSL_write_ex',
};

const TLS_KINDS: Record<number, TlsEventKind> = {
  1: 'lib-attached',
  2: 'lib-detached',
  3: 'lib-failed',
  4: 'proc-unobserved',
  5: 'proc-gone',
};

const TLS_STACKS: TlsStack[] = ['unknown', 'openssl', 'go', 'static-openssl', 'boringssl', 'rustls', 'gnutls', 'nss', 'other'];

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private preambleSeen = false;
  /** Framing version of this stream, once its preamble was read. */
  version = 0;
  /** Set once the stream is known to be damaged beyond resynchronisation. */
  private failed: FramingError | undefined;
  /** Records of types this agent does not know, skipped by length. */
  unknownRecords = 0;
  private readonly endpoints = new EndpointCache();

  /**
   * Feeds a chunk and returns every complete event it finishes.
   * Throws FramingError (once, then on every later call) if the stream is not
   * ours or is corrupted: a length-prefixed stream cannot be resynchronised.
   */
  push(chunk: Buffer): CaptureEvent[] {
    if (this.failed) throw this.failed;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const events: CaptureEvent[] = [];
    let offset = 0;
    try {
      if (!this.preambleSeen) {
        if (this.buffer.length < PREAMBLE_LEN) return events;
        this.version = readPreamble(this.buffer);
        offset = PREAMBLE_LEN;
        this.preambleSeen = true;
      }
      const buf = this.buffer;
      // DATA records are read through a DataView of the whole chunk: its 64-bit
      // reads make one BigInt each (Buffer's make four), and no subarray per record.
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      while (buf.length - offset >= RECORD_HEADER_LEN) {
        const len = view.getUint32(offset, true);
        const type = view.getUint16(offset + 4, true);
        if (len < RECORD_HEADER_LEN || len > MAX_RECORD_LEN) {
          throw new FramingError(`record at stream offset with impossible length ${len}`);
        }
        if (buf.length - offset < len) break;
        const event =
          type === REC_DATA
            ? decodeData(buf, view, offset + RECORD_HEADER_LEN, len - RECORD_HEADER_LEN, this.endpoints)
            : decodeRecord(type, buf.subarray(offset + RECORD_HEADER_LEN, offset + len));
        if (event?.type === 'hello') event.version = this.version;
        if (event) events.push(event);
        else this.unknownRecords++;
        offset += len;
      }
    } catch (err) {
      this.failed = err instanceof FramingError ? err : new FramingError(String(err));
      throw this.failed;
    }
    // Copy the tail so the big chunk it came from can be collected.
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : Buffer.from(this.buffer.subarray(offset));
    return events;
  }

  /** Bytes held back waiting for the rest of a record. */
  get pendingBytes(): number {
    return this.buffer.length;
  }
}

function readPreamble(buf: Buffer): number {
  const magic = buf.toString('latin1', 0, 4);
  if (magic !== FRAMING_MAGIC) {
    throw new FramingError(`not a wiretrace loader stream (magic ${JSON.stringify(magic)})`);
  }
  const version = buf.readUInt16LE(4);
  if (version < MIN_FRAMING_VERSION || version > FRAMING_VERSION) {
    throw new FramingError(`loader speaks framing version ${version}, this agent speaks ${MIN_FRAMING_VERSION} to ${FRAMING_VERSION}`);
  }
  return version;
}

/**
 * The socket tuple and comm of a connection's last DATA record, so the next
 * record of the same connection with the same bytes there reuses them instead
 * of formatting two address strings, allocating three objects and decoding
 * comm again (every DATA record carries them; they rarely change). A hit is
 * decided on the raw bytes, so a reused connection id or a renamed thread
 * (comm) is decoded afresh. Events of one connection then share one
 * SocketTuple object: consumers never mutate it.
 */
const ENDPOINT_AT = 72; // DATA: socket (40 bytes) then comm (16 bytes)
const ENDPOINT_LEN = SOCKET_LEN + 16;
const MAX_CACHED_ENDPOINTS = 8192;

interface CachedEndpoint {
  /** The 56 bytes it was decoded from, as 14 words. */
  raw: Uint32Array;
  socket: SocketTuple;
  comm: string;
}

const ENDPOINT_WORDS = ENDPOINT_LEN / 4;

class EndpointCache {
  private readonly byConn = new Map<bigint, CachedEndpoint>();

  /** The endpoint of the DATA record whose body starts at `body` in buf (and view). */
  get(connId: bigint, buf: Buffer, view: DataView, body: number): CachedEndpoint {
    const at = body + ENDPOINT_AT;
    const hit = this.byConn.get(connId);
    if (hit !== undefined && sameWords(hit.raw, view, at)) return hit;
    const entry = { raw: wordsOf(buf, at), socket: decodeSocket(buf, at), comm: cString(buf, at + SOCKET_LEN, 16) };
    // Bounded without bookkeeping: connections come and go, and a miss only costs a decode.
    if (hit === undefined && this.byConn.size >= MAX_CACHED_ENDPOINTS) this.byConn.clear();
    this.byConn.set(connId, entry);
    return entry;
  }
}

/**
 * A copy of buf[at, at + 56) seen as 32-bit words. The copy comes from
 * Buffer's shared pool (8-byte aligned), so an entry costs one small view
 * object, as the Buffer it replaces did; the words are in the host's byte
 * order, and sameWords reads the record in the same order.
 */
function wordsOf(buf: Buffer, at: number): Uint32Array {
  const copy = Buffer.from(buf.subarray(at, at + ENDPOINT_LEN));
  if (copy.byteOffset % 4 === 0) return new Uint32Array(copy.buffer, copy.byteOffset, ENDPOINT_WORDS);
  const words = new Uint32Array(ENDPOINT_WORDS);
  new Uint8Array(words.buffer).set(copy);
  return words;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Whether raw holds the words at view[at, at + 56). */
function sameWords(raw: Uint32Array, view: DataView, at: number): boolean {
  for (let i = 0; i < ENDPOINT_WORDS; i++) if (raw[i] !== view.getUint32(at + i * 4, HOST_LITTLE_ENDIAN)) return false;
  return true;
}

function decodeRecord(type: number, body: Buffer): CaptureEvent | undefined {
  switch (type) {
    case REC_HELLO:
      return decodeHello(body);
    case REC_CONN:
      return decodeConn(body);
    case REC_STATS:
      return decodeStats(body);
    case REC_TLS:
      return decodeTls(body);
    case REC_PROC_INFO:
      return decodeProcInfo(body);
    default:
      return undefined;
  }
}

function need(body: Buffer, len: number, what: string): void {
  if (body.length < len) throw new FramingError(`${what} record is ${body.length} bytes, expected at least ${len}`);
}

function decodeHello(b: Buffer): HelloEvent {
  need(b, HELLO_LEN, 'HELLO');
  return {
    type: 'hello',
    version: FRAMING_VERSION,
    realtimeOffsetNs: b.readBigInt64LE(0),
    loaderPid: b.readUInt32LE(8),
    maxPayload: b.readUInt32LE(12),
    ncpus: b.readUInt32LE(16),
    kernelRelease: cString(b, 24, 64),
  };
}

function decodeConn(b: Buffer): ConnEvent {
  need(b, CONN_LEN, 'CONN');
  return {
    type: 'conn',
    tsNs: b.readBigUInt64LE(0),
    connId: b.readBigUInt64LE(8),
    cgroupId: b.readBigUInt64LE(16),
    pid: b.readUInt32LE(24),
    tid: b.readUInt32LE(28),
    fd: b.readInt32LE(32),
    kind: b.readUInt8(36) === 2 ? 'close' : 'open',
    role: decodeRole(b.readUInt8(37)),
    syscall: SYSCALLS[b.readUInt8(38)] ?? 'unknown',
    socket: decodeSocket(b, 40),
    bytesSent: b.readBigUInt64LE(80),
    bytesRecv: b.readBigUInt64LE(88),
    comm: cString(b, 96, 16),
  };
}

/** The DATA record whose body is buf[at, at + len). */
function decodeData(buf: Buffer, view: DataView, at: number, len: number, endpoints: EndpointCache): DataEvent {
  if (len < DATA_FIXED_LEN) throw new FramingError(`DATA record is ${len} bytes, expected at least ${DATA_FIXED_LEN}`);
  const captured = view.getUint32(at + 64, true);
  const flags = view.getUint32(at + 68, true);
  if (DATA_FIXED_LEN + captured > len) {
    throw new FramingError(`DATA record claims ${captured} payload bytes but carries ${len - DATA_FIXED_LEN}`);
  }
  const connId = view.getBigUint64(at + 16, true);
  const endpoint = endpoints.get(connId, buf, view, at);
  const ev: DataEvent = {
    type: 'data',
    tsEnterNs: view.getBigUint64(at, true),
    tsExitNs: view.getBigUint64(at + 8, true),
    connId,
    cgroupId: view.getBigUint64(at + 24, true),
    streamPos: view.getBigUint64(at + 32, true),
    bytes: int64AsNumber(view, at + 40),
    pid: view.getUint32(at + 48, true),
    tid: view.getUint32(at + 52, true),
    fd: view.getInt32(at + 56, true),
    direction: decodeDirection(buf[at + 60] as number),
    role: decodeRole(buf[at + 61] as number),
    syscall: SYSCALLS[buf[at + 62] as number] ?? 'unknown',
    truncated: (flags & DATA_F_TRUNCATED) !== 0,
    socket: endpoint.socket,
    comm: endpoint.comm,
    // A view, not a copy: the decoder never reuses the chunk it came from.
    payload: buf.subarray(at + DATA_FIXED_LEN, at + DATA_FIXED_LEN + captured),
  };
  if (flags & DATA_F_TLS) ev.captureSource = 'tls';
  return ev;
}

/** Number(readBigInt64LE): without a BigInt while the value is exact as a double (it always is for a byte count). */
function int64AsNumber(view: DataView, at: number): number {
  const high = view.getInt32(at + 4, true);
  if (high >= -0x200000 && high < 0x200000) return high * 0x1_0000_0000 + view.getUint32(at, true);
  return Number(view.getBigInt64(at, true));
}

function decodeTls(b: Buffer): TlsEvent | undefined {
  need(b, TLS_LEN, 'TLS');
  const kind = TLS_KINDS[b.readUInt8(20)];
  // A kind a newer loader added: skipped like an unknown record type.
  if (!kind) return undefined;
  return {
    type: 'tls',
    kind,
    stack: TLS_STACKS[b.readUInt8(21)] ?? 'unknown',
    pid: b.readUInt32LE(16),
    dev: b.readBigUInt64LE(0),
    ino: b.readBigUInt64LE(8),
    probes: b.readUInt16LE(22),
    error: b.readInt32LE(24),
    path: cString(b, 32, 256),
  };
}

/** Fixed part, then comm, exe, cwd, cgroup, OTEL_SERVICE_NAME, SERVICE_NAME, cmdline back to back (lengths at 16..29). */
function decodeProcInfo(b: Buffer): ProcInfoEvent {
  need(b, PROC_INFO_FIXED_LEN, 'PROC_INFO');
  const lengths: number[] = [];
  let total = PROC_INFO_FIXED_LEN;
  for (let i = 0; i < 7; i++) {
    const len = b.readUInt16LE(16 + i * 2);
    lengths.push(len);
    total += len;
  }
  need(b, total, 'PROC_INFO');
  let at = PROC_INFO_FIXED_LEN;
  const next = (i: number): Buffer => b.subarray(at, (at += lengths[i] ?? 0));
  const text = (i: number): string => next(i).toString('utf8');
  const startTime = b.readBigUInt64LE(0);
  const flags = b.readUInt16LE(12);
  const ev: ProcInfoEvent = {
    type: 'proc-info',
    pid: b.readUInt32LE(8),
    startTime: startTime === 0n ? '' : startTime.toString(),
    comm: text(0),
    exe: text(1),
    cwd: text(2),
    cgroup: text(3),
    cmdline: Buffer.alloc(0),
    cmdlineTruncated: (flags & PROC_F_CMDLINE_CUT) !== 0,
  };
  const otel = text(4);
  const plain = text(5);
  // A copy: the event outlives the chunk, and a view would pin it.
  ev.cmdline = Buffer.from(next(6));
  if (flags & PROC_F_ENVIRON) {
    ev.environ = {};
    if (otel) ev.environ.OTEL_SERVICE_NAME = otel;
    if (plain) ev.environ.SERVICE_NAME = plain;
  }
  return ev;
}

function decodeStats(b: Buffer): StatsEvent {
  need(b, STATS_HEADER_LEN, 'STATS');
  const count = b.readUInt32LE(8);
  need(b, STATS_HEADER_LEN + count * STAT_ENTRY_LEN, 'STATS');
  const counters: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const at = STATS_HEADER_LEN + i * STAT_ENTRY_LEN;
    const name = cString(b, at, 24);
    if (name) counters[name] = Number(b.readBigUInt64LE(at + 24));
  }
  return { type: 'stats', tsNs: b.readBigUInt64LE(0), counters };
}

function decodeRole(v: number): Role {
  return v === 1 ? 'client' : v === 2 ? 'server' : 'unknown';
}

function decodeDirection(v: number): Direction {
  // The kernel side never emits unknown for data; treat it as ingress-less noise.
  return v === 1 ? 'egress' : 'ingress';
}

function decodeSocket(b: Buffer, at: number): SocketTuple {
  need(b, at + SOCKET_LEN, 'socket');
  const family = b.readUInt16LE(at) === 10 ? 'ipv6' : 'ipv4';
  return {
    family,
    local: { address: formatAddress(b, at + 8, family), port: b.readUInt16LE(at + 2) },
    remote: { address: formatAddress(b, at + 24, family), port: b.readUInt16LE(at + 4) },
  };
}

export function formatAddress(b: Buffer, at: number, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + i * 2));
  return formatIpv6(groups);
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

function cString(b: Buffer, at: number, max: number): string {
  const end = b.indexOf(0, at);
  const stop = end < 0 || end > at + max ? at + max : end;
  return b.toString('utf8', at, stop);
}

/** Encoders, used by tests and by tools that replay captures: the exact inverse of the decoder. */
export const encode = {
  preamble(version = FRAMING_VERSION): Buffer {
    const b = Buffer.alloc(PREAMBLE_LEN);
    b.write(FRAMING_MAGIC, 0, 'latin1');
    b.writeUInt16LE(version, 4);
    return b;
  },
  record(type: number, body: Buffer): Buffer {
    const h = Buffer.alloc(RECORD_HEADER_LEN);
    h.writeUInt32LE(RECORD_HEADER_LEN + body.length, 0);
    h.writeUInt16LE(type, 4);
    return Buffer.concat([h, body]);
  },
  hello(e: Omit<HelloEvent, 'type' | 'version'>): Buffer {
    const b = Buffer.alloc(HELLO_LEN);
    b.writeBigInt64LE(e.realtimeOffsetNs, 0);
    b.writeUInt32LE(e.loaderPid, 8);
    b.writeUInt32LE(e.maxPayload, 12);
    b.writeUInt32LE(e.ncpus, 16);
    b.write(e.kernelRelease.slice(0, 63), 24, 'utf8');
    return encode.record(REC_HELLO, b);
  },
  conn(e: Omit<ConnEvent, 'type'>): Buffer {
    const b = Buffer.alloc(CONN_LEN);
    b.writeBigUInt64LE(e.tsNs, 0);
    b.writeBigUInt64LE(e.connId, 8);
    b.writeBigUInt64LE(e.cgroupId, 16);
    b.writeUInt32LE(e.pid, 24);
    b.writeUInt32LE(e.tid, 28);
    b.writeInt32LE(e.fd, 32);
    b.writeUInt8(e.kind === 'close' ? 2 : 1, 36);
    b.writeUInt8(encodeRole(e.role), 37);
    b.writeUInt8(syscallNumber(e.syscall), 38);
    writeSocket(b, 40, e.socket);
    b.writeBigUInt64LE(e.bytesSent, 80);
    b.writeBigUInt64LE(e.bytesRecv, 88);
    b.write(e.comm.slice(0, 15), 96, 'utf8');
    return encode.record(REC_CONN, b);
  },
  data(e: Omit<DataEvent, 'type'>): Buffer {
    const b = Buffer.alloc(DATA_FIXED_LEN + e.payload.length);
    b.writeBigUInt64LE(e.tsEnterNs, 0);
    b.writeBigUInt64LE(e.tsExitNs, 8);
    b.writeBigUInt64LE(e.connId, 16);
    b.writeBigUInt64LE(e.cgroupId, 24);
    b.writeBigUInt64LE(e.streamPos, 32);
    b.writeBigInt64LE(BigInt(e.bytes), 40);
    b.writeUInt32LE(e.pid, 48);
    b.writeUInt32LE(e.tid, 52);
    b.writeInt32LE(e.fd, 56);
    b.writeUInt8(e.direction === 'egress' ? 1 : 2, 60);
    b.writeUInt8(encodeRole(e.role), 61);
    b.writeUInt8(syscallNumber(e.syscall), 62);
    b.writeUInt32LE(e.payload.length, 64);
    b.writeUInt32LE((e.truncated ? DATA_F_TRUNCATED : 0) | (e.captureSource === 'tls' ? DATA_F_TLS : 0), 68);
    writeSocket(b, 72, e.socket);
    b.write(e.comm.slice(0, 15), 112, 'utf8');
    e.payload.copy(b, DATA_FIXED_LEN);
    return encode.record(REC_DATA, b);
  },
  tls(e: Omit<TlsEvent, 'type'>): Buffer {
    const b = Buffer.alloc(TLS_LEN);
    b.writeBigUInt64LE(e.dev, 0);
    b.writeBigUInt64LE(e.ino, 8);
    b.writeUInt32LE(e.pid, 16);
    b.writeUInt8(Number(Object.entries(TLS_KINDS).find(([, k]) => k === e.kind)?.[0] ?? 0), 20);
    b.writeUInt8(Math.max(0, TLS_STACKS.indexOf(e.stack)), 21);
    b.writeUInt16LE(e.probes, 22);
    b.writeInt32LE(e.error, 24);
    b.write(e.path.slice(0, 255), 32, 'utf8');
    return encode.record(REC_TLS, b);
  },
  procInfo(e: Omit<ProcInfoEvent, 'type'>): Buffer {
    const texts = [e.comm, e.exe, e.cwd, e.cgroup, e.environ?.OTEL_SERVICE_NAME ?? '', e.environ?.SERVICE_NAME ?? ''];
    const strings: Buffer[] = [...texts.map((s) => Buffer.from(s, 'utf8')), e.cmdline];
    const head = Buffer.alloc(PROC_INFO_FIXED_LEN);
    head.writeBigUInt64LE(e.startTime === '' ? 0n : BigInt(e.startTime), 0);
    head.writeUInt32LE(e.pid, 8);
    head.writeUInt16LE((e.environ ? PROC_F_ENVIRON : 0) | (e.cmdlineTruncated ? PROC_F_CMDLINE_CUT : 0), 12);
    strings.forEach((s, i) => head.writeUInt16LE(s.length, 16 + i * 2));
    return encode.record(REC_PROC_INFO, Buffer.concat([head, ...strings]));
  },
  stats(tsNs: bigint, counters: Record<string, number>): Buffer {
    const names = Object.keys(counters);
    const b = Buffer.alloc(STATS_HEADER_LEN + names.length * STAT_ENTRY_LEN);
    b.writeBigUInt64LE(tsNs, 0);
    b.writeUInt32LE(names.length, 8);
    names.forEach((name, i) => {
      const at = STATS_HEADER_LEN + i * STAT_ENTRY_LEN;
      b.write(name.slice(0, 23), at, 'utf8');
      b.writeBigUInt64LE(BigInt(counters[name] ?? 0), at + 24);
    });
    return encode.record(REC_STATS, b);
  },
};

function encodeRole(r: Role): number {
  return r === 'client' ? 1 : r === 'server' ? 2 : 0;
}

const SYSCALL_NUMBERS = new Map(Object.entries(SYSCALLS).map(([num, name]) => [name, Number(num)]));

function syscallNumber(name: string): number {
  return SYSCALL_NUMBERS.get(name) ?? 0;
}

function writeSocket(b: Buffer, at: number, s: SocketTuple): void {
  b.writeUInt16LE(s.family === 'ipv6' ? 10 : 2, at);
  b.writeUInt16LE(s.local.port, at + 2);
  b.writeUInt16LE(s.remote.port, at + 4);
  writeAddress(b, at + 8, s.family, s.local.address);
  writeAddress(b, at + 24, s.family, s.remote.address);
}

function writeAddress(b: Buffer, at: number, family: 'ipv4' | 'ipv6', address: string): void {
  if (family === 'ipv4') {
    address.split('.').forEach((part, i) => b.writeUInt8(Number(part) & 0xff, at + i));
    return;
  }
  const [head = '', tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) & 0xffff, at + i * 2));
}
