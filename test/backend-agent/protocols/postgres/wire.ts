/** PostgreSQL v3 messages built by hand for tests (protocol-message-formats). */

export function msg(type: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
}

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

export function startup(params: Record<string, string>): Buffer {
  const body = Buffer.concat([...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length + 8, 0);
  head.writeUInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

export function sslRequest(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(8, 0);
  b.writeUInt32BE(80877103, 4);
  return b;
}

export const query = (sql: string): Buffer => msg('Q', cstr(sql));
export const parse = (name: string, sql: string): Buffer => msg('P', Buffer.concat([cstr(name), cstr(sql), Buffer.from([0, 0])]));
/** Bind with one text parameter value (which must never be stored). */
export function bind(portal: string, statement: string, value?: string): Buffer {
  const parts = [cstr(portal), cstr(statement), Buffer.from([0, 0])];
  if (value === undefined) parts.push(Buffer.from([0, 0]));
  else {
    const v = Buffer.from(value, 'utf8');
    const n = Buffer.alloc(6);
    n.writeUInt16BE(1, 0);
    n.writeInt32BE(v.length, 2);
    parts.push(n, v);
  }
  parts.push(Buffer.from([0, 0]));
  return msg('B', Buffer.concat(parts));
}
export const describePortal = (portal: string): Buffer => msg('D', Buffer.concat([Buffer.from('P'), cstr(portal)]));
export const execute = (portal: string): Buffer => msg('E', Buffer.concat([cstr(portal), Buffer.alloc(4)]));
export const sync = (): Buffer => msg('S');
export const password = (pw: string): Buffer => msg('p', cstr(pw));

export const authOk = (): Buffer => msg('R', Buffer.from([0, 0, 0, 0]));
export const authCleartext = (): Buffer => msg('R', Buffer.from([0, 0, 0, 3]));
export const ready = (): Buffer => msg('Z', 'I');
export const parseComplete = (): Buffer => msg('1');
export const bindComplete = (): Buffer => msg('2');
export const commandComplete = (tag: string): Buffer => msg('C', cstr(tag));
export const dataRow = (value: string): Buffer => {
  const v = Buffer.from(value);
  const b = Buffer.alloc(6);
  b.writeUInt16BE(1, 0);
  b.writeInt32BE(v.length, 2);
  return msg('D', Buffer.concat([b, v]));
};
export function error(code: string, message: string): Buffer {
  return msg('E', Buffer.concat([Buffer.from('S'), cstr('ERROR'), Buffer.from('V'), cstr('ERROR'), Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(message), Buffer.from([0])]));
}
