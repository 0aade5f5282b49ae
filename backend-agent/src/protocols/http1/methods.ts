/**
 * Request methods we accept when looking for a request line in bytes of
 * unknown meaning. A closed list (rather than any token) is what keeps the
 * resynchronising scanner from mistaking body text for a request: "FOO /x
 * HTTP/1.1" in a JSON document is far less likely to use a real method.
 */

const KNOWN_METHODS = [
  // RFC 9110
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE',
  // RFC 5789 and the QUERY draft
  'PATCH', 'QUERY',
  // WebDAV and friends (RFC 4918, 3253, 3648, 3744, 4791, 5323, 5842)
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT',
  'MKACTIVITY', 'CHECKOUT', 'MERGE', 'MKCALENDAR', 'ACL', 'BIND', 'UNBIND', 'REBIND',
  // Seen in the wild: caches, UPnP, Icecast
  'PURGE', 'LINK', 'UNLINK', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'M-SEARCH', 'SOURCE',
] as const;

/** Longest first, so a suffix search finds the earliest possible start. */
const METHOD_BYTES: readonly Buffer[] = [...KNOWN_METHODS]
  .sort((a, b) => b.length - a.length)
  .map((m) => Buffer.from(m, 'latin1'));

export const MAX_METHOD_LENGTH = METHOD_BYTES[0]?.length ?? 0;

/** Bytes a known method is made of: upper-case letters and '-'. */
export function isMethodByte(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || b === 0x2d;
}

function matchesAt(buf: Buffer, at: number, method: Buffer, length: number): boolean {
  for (let k = 0; k < length; k++) if (buf[at + k] !== method[k]) return false;
  return true;
}

/** buf[start, end) is exactly a known method. */
export function isKnownMethod(buf: Buffer, start: number, end: number): boolean {
  const len = end - start;
  for (const m of METHOD_BYTES) if (m.length === len && matchesAt(buf, start, m, len)) return true;
  return false;
}

/** buf[start, end) is a known method or the beginning of one (more bytes may complete it). */
export function isKnownMethodPrefix(buf: Buffer, start: number, end: number): boolean {
  const len = end - start;
  for (const m of METHOD_BYTES) if (m.length >= len && matchesAt(buf, start, m, len)) return true;
  return false;
}

/**
 * Length of the longest known method that ends at `end` and starts at or
 * after `floor`, or 0. Used when a request line is found glued to garbage
 * before it ("...}GET / HTTP/1.1"): the method is the longest known suffix.
 */
export function longestKnownMethodEndingAt(buf: Buffer, floor: number, end: number): number {
  for (const m of METHOD_BYTES) {
    const start = end - m.length;
    if (start >= floor && matchesAt(buf, start, m, m.length)) return m.length;
  }
  return 0;
}
