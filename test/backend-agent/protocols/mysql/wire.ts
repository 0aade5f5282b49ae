/** MySQL protocol packets built by hand for tests. */

export const CAPS = {
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  SECURE_CONNECTION: 0x8000,
  PLUGIN_AUTH: 0x80000,
  PLUGIN_AUTH_LENENC: 0x200000,
  DEPRECATE_EOF: 1 << 24,
};
export const BASE_CAPS = CAPS.PROTOCOL_41 | CAPS.SECURE_CONNECTION | CAPS.PLUGIN_AUTH | CAPS.PLUGIN_AUTH_LENENC | CAPS.CONNECT_WITH_DB;

export function packet(seq: number, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const h = Buffer.alloc(4);
  h.writeUIntLE(b.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, b]);
}

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.from([0])]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
export const lenenc = (n: number): Buffer => (n < 251 ? Buffer.from([n]) : Buffer.concat([Buffer.from([0xfc]), u16(n)]));
const lenencStr = (s: string): Buffer => Buffer.concat([lenenc(Buffer.byteLength(s)), Buffer.from(s)]);

export function greeting(caps: number, version = '8.0.36'): Buffer {
  return packet(
    0,
    Buffer.concat([
      Buffer.from([10]),
      cstr(version),
      u32(42),
      Buffer.from('abcdefgh'),
      Buffer.from([0]),
      u16(caps & 0xffff),
      Buffer.from([0xff]),
      u16(2),
      u16(caps >>> 16),
      Buffer.from([21]),
      Buffer.alloc(10),
      Buffer.from('ijklmnopqrst\0'),
      cstr('caching_sha2_password'),
    ]),
  );
}

export function handshakeResponse(caps: number, user: string, authData: string, database?: string): Buffer {
  const parts = [u32(caps), u32(16 * 1024 * 1024), Buffer.from([45]), Buffer.alloc(23), cstr(user), lenencStr(authData)];
  if (database !== undefined) parts.push(cstr(database));
  parts.push(cstr('caching_sha2_password'));
  return packet(1, Buffer.concat(parts));
}

export function sslRequest(caps: number): Buffer {
  return packet(1, Buffer.concat([u32(caps | CAPS.SSL), u32(16 * 1024 * 1024), Buffer.from([45]), Buffer.alloc(23)]));
}

export const ok = (seq: number, affected = 0, status = 2): Buffer => packet(seq, Buffer.concat([Buffer.from([0]), lenenc(affected), lenenc(0), u16(status), u16(0)]));
export const okEnd = (seq: number, status = 2): Buffer => packet(seq, Buffer.concat([Buffer.from([0xfe]), lenenc(0), lenenc(0), u16(status), u16(0)]));
export const eof = (seq: number, status = 2): Buffer => packet(seq, Buffer.concat([Buffer.from([0xfe]), u16(0), u16(status)]));
export const err = (seq: number, errno: number, state: string, message: string): Buffer =>
  packet(seq, Buffer.concat([Buffer.from([0xff]), u16(errno), Buffer.from(`#${state}`), Buffer.from(message)]));
export const columnCount = (seq: number, n: number): Buffer => packet(seq, lenenc(n));
export const columnDef = (seq: number, name: string): Buffer =>
  packet(seq, Buffer.concat([lenencStr('def'), lenencStr('shop'), lenencStr('t'), lenencStr('t'), lenencStr(name), lenencStr(name), Buffer.from([0x0c]), u16(45), u32(255), Buffer.from([0xfd]), u16(0), Buffer.from([0]), u16(0)]));
export const textRow = (seq: number, ...values: string[]): Buffer => packet(seq, Buffer.concat(values.map(lenencStr)));

export const query = (sql: string): Buffer => packet(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]));
export const initDb = (db: string): Buffer => packet(0, Buffer.concat([Buffer.from([0x02]), Buffer.from(db)]));
export const prepare = (sql: string): Buffer => packet(0, Buffer.concat([Buffer.from([0x16]), Buffer.from(sql)]));
export const prepareOk = (seq: number, id: number, columns: number, params: number): Buffer =>
  packet(seq, Buffer.concat([Buffer.from([0]), u32(id), u16(columns), u16(params), Buffer.from([0]), u16(0)]));
/** COM_STMT_EXECUTE with one string parameter (its value must never be stored). */
export const execute = (id: number, value: string): Buffer =>
  packet(0, Buffer.concat([Buffer.from([0x17]), u32(id), Buffer.from([0]), u32(1), Buffer.from([0]), Buffer.from([1]), Buffer.from([0xfe, 0]), lenencStr(value)]));
export const closeStmt = (id: number): Buffer => packet(0, Buffer.concat([Buffer.from([0x19]), u32(id)]));
export const quit = (): Buffer => packet(0, Buffer.from([0x01]));
