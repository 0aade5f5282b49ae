/**
 * PostgreSQL wire protocol v3 message bodies
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html).
 * Pure functions over one framed message's captured bytes; a message cut
 * short by the capture yields what its captured part holds, never a throw.
 */

/** Protocol 3.0 in a StartupMessage. */
export const PROTOCOL_3 = 196608;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
/** Startup packets are small; the server itself refuses more than 10000 bytes. */
export const MAX_STARTUP_LENGTH = 10000;
/** Upper bound on a regular message we accept as plausible framing (the server's own limit is 1 GiB). */
export const MAX_MESSAGE_LENGTH = 1 << 30;

/** Message types a client sends after start-up. */
export const FRONTEND_TYPES = new Set(['Q', 'P', 'B', 'E', 'S', 'D', 'C', 'H', 'X', 'p', 'F', 'd', 'c', 'f']);
/** Message types a server sends. */
export const BACKEND_TYPES = new Set([
  'R', 'K', 'S', 'Z', 'T', 'D', 'C', 'I', 'E', 'N', '1', '2', '3', 'n', 't', 's', 'A', 'G', 'H', 'W', 'd', 'c', 'V', 'v',
]);

export type StartupKind =
  | { kind: 'startup'; user?: string; database?: string; applicationName?: string }
  | { kind: 'ssl' }
  | { kind: 'gss' }
  | { kind: 'cancel' };

/** Reads a NUL-terminated string; an unterminated one (cut by the capture) ends at the data's end. */
export function readCString(buf: Buffer, at: number, max = 64 * 1024): { value: string; next: number } {
  if (at >= buf.length) return { value: '', next: buf.length };
  const nul = buf.indexOf(0, at);
  const end = nul < 0 ? buf.length : nul;
  return { value: buf.toString('utf8', at, Math.min(end, at + max)), next: nul < 0 ? buf.length : nul + 1 };
}

/** A start-up packet (no type byte): length, then a code or the protocol version. */
export function parseStartup(data: Buffer): StartupKind | undefined {
  if (data.length < 8) return undefined;
  const code = data.readUInt32BE(4);
  if (code === SSL_REQUEST_CODE) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST_CODE) return { kind: 'gss' };
  if (code === CANCEL_REQUEST_CODE) return { kind: 'cancel' };
  if (code !== PROTOCOL_3) return undefined;
  const out: { kind: 'startup'; user?: string; database?: string; applicationName?: string } = { kind: 'startup' };
  let at = 8;
  // name\0value\0 pairs, ended by an empty name; only three names interest us.
  for (let k = 0; k < 64 && at < data.length; k++) {
    const name = readCString(data, at, 64);
    if (name.value === '') break;
    const value = readCString(data, name.next, 128);
    if (name.value === 'user') out.user = value.value;
    else if (name.value === 'database') out.database = value.value;
    else if (name.value === 'application_name') out.applicationName = value.value;
    at = value.next;
  }
  return out;
}

/** Start-up packet framing: plausible length and a code we know. */
export function looksLikeStartup(p: Buffer): boolean {
  if (p.length < 8) return false;
  const length = p.readUInt32BE(0);
  const code = p.readUInt32BE(4);
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) return length === 8;
  if (code === CANCEL_REQUEST_CODE) return length === 16;
  if (code !== PROTOCOL_3 || length < 9 || length > MAX_STARTUP_LENGTH) return false;
  // The first parameter name is printable ASCII (`user`, `database`...).
  const c = p[8] as number;
  return c >= 0x20 && c < 0x7f;
}

/** A regular message header: known type, sane length (body of a few kinds checked where cheap). */
export function looksLikeMessage(p: Buffer, types: ReadonlySet<string>): boolean {
  if (p.length < 5) return false;
  const type = String.fromCharCode(p[0] as number);
  if (!types.has(type)) return false;
  const length = p.readUInt32BE(1);
  if (length < 4 || length > MAX_MESSAGE_LENGTH) return false;
  if (type === 'Q' || type === 'P') return length > 4;
  if (type === 'S' && types === FRONTEND_TYPES) return length === 4;
  if (type === 'Z') return length === 5;
  return true;
}

export const body = (data: Buffer): Buffer => data.subarray(5);

/** Query: the SQL text. */
export function parseQuery(data: Buffer): string {
  return readCString(body(data), 0).value;
}

/** Parse: statement name and SQL (parameter types are not needed). */
export function parseParse(data: Buffer): { statement: string; sql: string } {
  const b = body(data);
  const name = readCString(b, 0, 256);
  return { statement: name.value, sql: readCString(b, name.next).value };
}

/** Bind: portal and statement names. The parameter values that follow are never read. */
export function parseBind(data: Buffer): { portal: string; statement: string } {
  const b = body(data);
  const portal = readCString(b, 0, 256);
  return { portal: portal.value, statement: readCString(b, portal.next, 256).value };
}

/** Execute: the portal. */
export function parseExecute(data: Buffer): string {
  return readCString(body(data), 0, 256).value;
}

/** Close: 'S'tatement or 'P'ortal and its name. */
export function parseClose(data: Buffer): { what: 'S' | 'P' | undefined; name: string } {
  const b = body(data);
  const what = b[0] === 0x53 ? 'S' : b[0] === 0x50 ? 'P' : undefined;
  return { what, name: readCString(b, 1, 256).value };
}

/** CommandComplete: the tag (`SELECT 3`, `INSERT 0 1`). */
export function parseCommandComplete(data: Buffer): string {
  return readCString(body(data), 0, 64).value;
}

/** Rows from a command tag: its last number (`INSERT 0 5` -> 5); undefined for tags without one. */
export function rowsFromTag(tag: string): number | undefined {
  const m = /\s(\d{1,15})$/.exec(tag);
  return m ? Number(m[1]) : undefined;
}

/** ErrorResponse / NoticeResponse fields: severity, SQLSTATE and the primary message. */
export function parseErrorFields(data: Buffer): { severity?: string; code?: string; message?: string } {
  const b = body(data);
  const out: { severity?: string; code?: string; message?: string } = {};
  let at = 0;
  for (let k = 0; k < 32 && at < b.length; k++) {
    const type = b[at] as number;
    if (type === 0) break;
    const field = readCString(b, at + 1, 1024);
    if (type === 0x56 /* V: severity, never localised */ || (type === 0x53 && out.severity === undefined)) out.severity = field.value;
    else if (type === 0x43) out.code = field.value;
    else if (type === 0x4d) out.message = field.value;
    at = field.next;
  }
  return out;
}
