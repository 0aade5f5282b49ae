/**
 * MySQL/MariaDB client/server protocol packets
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html).
 * Pure functions over one packet's captured bytes (4-byte header included);
 * a packet cut short by the capture yields what its captured part holds.
 */

export const HEADER = 4;
/** A payload of this length continues in the next packet. */
export const MAX_PAYLOAD = 0xffffff;

export const CLIENT_CONNECT_WITH_DB = 0x8;
export const CLIENT_PROTOCOL_41 = 0x200;
export const CLIENT_SSL = 0x800;
export const CLIENT_SECURE_CONNECTION = 0x8000;
export const CLIENT_PLUGIN_AUTH_LENENC = 0x200000;
export const CLIENT_QUERY_ATTRIBUTES = 1 << 27;
export const SERVER_MORE_RESULTS_EXISTS = 0x8;

export const COM = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  PING: 0x0e,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
} as const;

/** Operation names of commands that carry no statement. */
export const COMMAND_NAMES: Record<number, string> = {
  0x01: 'QUIT', 0x02: 'INIT_DB', 0x03: 'QUERY', 0x04: 'FIELD_LIST', 0x08: 'SHUTDOWN', 0x09: 'STATISTICS', 0x0d: 'DEBUG',
  0x0e: 'PING', 0x11: 'CHANGE_USER', 0x16: 'PREPARE', 0x17: 'EXECUTE', 0x1a: 'STMT_RESET', 0x1b: 'SET_OPTION',
  0x1c: 'STMT_FETCH', 0x1f: 'RESET_CONNECTION',
};

export const payloadLength = (h: Buffer): number => (h[0] as number) | ((h[1] as number) << 8) | ((h[2] as number) << 16);
export const sequenceId = (h: Buffer): number => h[3] as number;
export const payload = (packet: Buffer): Buffer => packet.subarray(HEADER);

/** Length-encoded integer at `at`; undefined past the captured bytes. */
export function readLenenc(b: Buffer, at: number): { value: number; next: number } | undefined {
  const first = b[at];
  if (first === undefined) return undefined;
  if (first < 0xfb) return { value: first, next: at + 1 };
  if (first === 0xfc) return at + 3 <= b.length ? { value: b.readUInt16LE(at + 1), next: at + 3 } : undefined;
  if (first === 0xfd) return at + 4 <= b.length ? { value: b.readUIntLE(at + 1, 3), next: at + 4 } : undefined;
  if (first === 0xfe) return at + 9 <= b.length ? { value: Number(b.readBigUInt64LE(at + 1)), next: at + 9 } : undefined;
  return undefined; // 0xfb is NULL, 0xff is not an integer
}

export interface Greeting {
  serverVersion: string;
  capabilities: number;
}

/** Initial handshake v10 from the server. */
export function parseGreeting(packet: Buffer): Greeting | undefined {
  const p = payload(packet);
  if (p[0] !== 0x0a) return undefined;
  const nul = p.indexOf(0, 1);
  if (nul < 0 || nul > 64) return undefined;
  const serverVersion = p.toString('latin1', 1, nul);
  // version NUL, connection id 4, auth data 8, filler 1, capabilities (low 2), charset 1, status 2, capabilities (high 2)
  const capsLow = nul + 1 + 4 + 8 + 1;
  if (capsLow + 2 > p.length) return { serverVersion, capabilities: 0 };
  let capabilities = p.readUInt16LE(capsLow);
  const capsHigh = capsLow + 2 + 1 + 2;
  if (capsHigh + 2 <= p.length) capabilities |= p.readUInt16LE(capsHigh) << 16;
  return { serverVersion, capabilities: capabilities >>> 0 };
}

export interface HandshakeResponse {
  capabilities: number;
  /** An SSLRequest: TLS follows. */
  ssl: boolean;
  user?: string;
  database?: string;
}

/** The client's HandshakeResponse41 (the auth response in it is skipped, never read). */
export function parseHandshakeResponse(packet: Buffer): HandshakeResponse | undefined {
  const p = payload(packet);
  if (p.length < 4) return undefined;
  const capabilities = p.readUInt32LE(0) >>> 0;
  if (!(capabilities & CLIENT_PROTOCOL_41)) return { capabilities, ssl: false }; // pre-4.1 clients: nothing more parsed
  const ssl = (capabilities & CLIENT_SSL) !== 0 && p.length === 32;
  if (ssl || p.length <= 32) return { capabilities, ssl };
  const out: HandshakeResponse = { capabilities, ssl: false };
  let at = 32;
  const userEnd = p.indexOf(0, at);
  if (userEnd < 0) return out;
  out.user = p.toString('utf8', at, Math.min(userEnd, at + 64));
  at = userEnd + 1;
  if (capabilities & CLIENT_PLUGIN_AUTH_LENENC) {
    const n = readLenenc(p, at);
    if (!n) return out;
    at = n.next + n.value;
  } else if (capabilities & CLIENT_SECURE_CONNECTION) {
    at = at + 1 + (p[at] ?? 0);
  } else {
    const end = p.indexOf(0, at);
    if (end < 0) return out;
    at = end + 1;
  }
  if (capabilities & CLIENT_CONNECT_WITH_DB && at < p.length) {
    const end = p.indexOf(0, at);
    out.database = p.toString('utf8', at, Math.min(end < 0 ? p.length : end, at + 64));
  }
  return out;
}

export interface ErrPacket {
  errno: number;
  sqlState?: string;
  message: string;
}

export function parseErr(packet: Buffer): ErrPacket {
  const p = payload(packet);
  const errno = p.length >= 3 ? p.readUInt16LE(1) : 0;
  if (p[3] === 0x23 /* # */) return { errno, sqlState: p.toString('latin1', 4, 9), message: p.toString('utf8', 9, 9 + 1024) };
  return { errno, message: p.toString('utf8', 3, 3 + 1024) };
}

/** OK packet (0x00, or 0xfe ending a result set): affected rows and status flags. */
export function parseOk(packet: Buffer): { affectedRows?: number; status: number } {
  const p = payload(packet);
  const affected = readLenenc(p, 1);
  if (!affected) return { status: 0 };
  const lastId = readLenenc(p, affected.next);
  const status = lastId && lastId.next + 2 <= p.length ? p.readUInt16LE(lastId.next) : 0;
  return { affectedRows: affected.value, status };
}

/** Legacy EOF packet (0xfe, 5 bytes): status flags. */
export function parseEofStatus(packet: Buffer): number {
  const p = payload(packet);
  return p.length >= 5 ? p.readUInt16LE(3) : 0;
}

/** COM_STMT_PREPARE's OK: statement id and the definitions that follow. */
export function parsePrepareOk(packet: Buffer): { statementId: number; columns: number; params: number } | undefined {
  const p = payload(packet);
  if (p[0] !== 0x00 || p.length < 9) return undefined;
  return { statementId: p.readUInt32LE(1), columns: p.readUInt16LE(5), params: p.readUInt16LE(7) };
}

/** The statement of a COM_QUERY, past query attributes when they were negotiated. */
export function queryText(packet: Buffer, queryAttributes: boolean): string | undefined {
  const p = payload(packet);
  let at = 1;
  if (queryAttributes) {
    const count = readLenenc(p, at);
    if (!count) return undefined;
    // Attribute values precede the text; with any, finding it means decoding them: not worth it.
    if (count.value !== 0) return undefined;
    const sets = readLenenc(p, count.next);
    if (!sets) return undefined;
    at = sets.next;
  }
  return p.toString('utf8', at, at + 64 * 1024);
}
