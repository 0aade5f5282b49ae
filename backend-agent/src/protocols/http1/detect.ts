/**
 * A cheap first look at a connection's bytes: does this payload begin an
 * HTTP/1 request or response? Only the start of the payload is examined,
 * since a protocol decision is made on the first bytes of a direction.
 */
import { CR, LF, SP, isDigitByte, isTargetByte } from './ascii.js';
import { MAX_METHOD_LENGTH, isKnownMethod, isMethodByte } from './methods.js';

const HTTP1_PREFIX = Buffer.from('HTTP/1.', 'latin1');
const VERSION_SUFFIX = Buffer.from(' HTTP/1.', 'latin1');
/** How far we look for the end of the request line. */
const MAX_LINE = 8 * 1024;

export function looksLikeHttp1(payload: Buffer): 'request' | 'response' | undefined {
  if (!Buffer.isBuffer(payload) || payload.length === 0) return undefined;
  if (looksLikeStatusLine(payload)) return 'response';
  if (looksLikeRequestLine(payload)) return 'request';
  return undefined;
}

/** "HTTP/1.d ddd" followed by SP, CR, LF or the end of the payload. */
function looksLikeStatusLine(p: Buffer): boolean {
  if (p.length < 12 || p.compare(HTTP1_PREFIX, 0, HTTP1_PREFIX.length, 0, HTTP1_PREFIX.length) !== 0) return false;
  if (!isDigitByte(p[7] as number) || p[8] !== SP) return false;
  if (!isDigitByte(p[9] as number) || !isDigitByte(p[10] as number) || !isDigitByte(p[11] as number)) return false;
  const after = p[12];
  return after === undefined || after === SP || after === CR || after === LF;
}

/**
 * A known method, SP and a target; when the line end is in the payload, the
 * line must end with " HTTP/1.d". A short first read may hold less: then the
 * method and the start of a target have to do.
 */
function looksLikeRequestLine(p: Buffer): boolean {
  let i = 0;
  while (i < p.length && i <= MAX_METHOD_LENGTH && isMethodByte(p[i] as number)) i++;
  if (i === 0 || p[i] !== SP || !isKnownMethod(p, 0, i)) return false;
  const targetStart = i + 1;
  if (targetStart >= p.length || !isTargetByte(p[targetStart] as number)) return false;
  const lf = p.indexOf(LF, targetStart);
  if (lf < 0) return p.length <= MAX_LINE;
  const lineEnd = lf > 0 && p[lf - 1] === CR ? lf - 1 : lf;
  const versionAt = lineEnd - 9;
  if (versionAt <= targetStart) return false;
  if (p.compare(VERSION_SUFFIX, 0, VERSION_SUFFIX.length, versionAt, versionAt + VERSION_SUFFIX.length) !== 0) return false;
  if (!isDigitByte(p[lineEnd - 1] as number)) return false;
  // The target holds no SP: the only one after it is the one before the version.
  return p.indexOf(SP, targetStart) === versionAt;
}
