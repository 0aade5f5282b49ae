/**
 * How a message body is delimited (RFC 9112 section 6.3), and what the
 * connection becomes after the message. Decided once per head; the stream
 * parser then follows the decision without looking at headers again.
 */
import type { HeaderField } from './types.js';

/** The header facts that decide framing, gathered while parsing the head. */
export interface FramingHeaders {
  /** Valid Content-Length, if one was sent. */
  contentLength: number | undefined;
  /** Content-Length was sent but is not a number, or copies disagree. */
  contentLengthInvalid: boolean;
  /** Transfer-Encoding: absent, ending in chunked, or ending in something else. */
  transferEncoding: 'absent' | 'chunked' | 'other';
  /** An Upgrade header was sent (websocket, h2c...). */
  upgrade: boolean;
}

export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Response without length: the body ends when the connection closes. */
  | { kind: 'until-close' }
  /** Framing unknowable (a malformed request): treat what follows as body until a start line shows up. */
  | { kind: 'until-resync' };

/**
 * What the direction carries after this message:
 * - continue: more HTTP/1 messages;
 * - tunnel: no more HTTP/1 (after 101 Switching Protocols or 2xx to CONNECT);
 * - await-upgrade: a request asked to leave HTTP/1; whether it did depends on the response.
 */
export type AfterMessage = 'continue' | 'tunnel' | 'await-upgrade';

export function describeFraming(headers: HeaderField[]): FramingHeaders {
  let contentLength: number | undefined;
  let contentLengthInvalid = false;
  let lastCoding: string | undefined;
  let upgrade = false;
  for (const header of headers) {
    const name = header[0];
    const value = header[1];
    if (name === 'content-length') {
      const n = parseContentLength(value);
      if (n === undefined || (contentLength !== undefined && contentLength !== n)) contentLengthInvalid = true;
      else contentLength = n;
    } else if (name === 'transfer-encoding') {
      for (const coding of value.split(',')) {
        const c = coding.trim().toLowerCase();
        if (c) lastCoding = c;
      }
    } else if (name === 'upgrade') {
      if (value.length > 0) upgrade = true;
    }
  }
  // "identity" alone was allowed by RFC 2616 and means no transfer coding.
  const transferEncoding = lastCoding === undefined || lastCoding === 'identity' ? 'absent' : lastCoding === 'chunked' ? 'chunked' : 'other';
  return { contentLength: contentLengthInvalid ? undefined : contentLength, contentLengthInvalid, transferEncoding, upgrade };
}

/** "42" or a list of equal values "42, 42" (RFC 9110 section 8.6); undefined if invalid. */
function parseContentLength(value: string): number | undefined {
  if (value.indexOf(',') < 0) return parseDecimal(value);
  let result: number | undefined;
  for (const part of value.split(',')) {
    const n = parseDecimal(part.trim());
    if (n === undefined || (result !== undefined && result !== n)) return undefined;
    result = n;
  }
  return result;
}

/** 1 to 15 ASCII digits (below 2^53, so exact), else undefined. No sign, no spaces: a lenient parse here is a smuggling vector. */
function parseDecimal(s: string): number | undefined {
  if (s.length === 0 || s.length > 15) return undefined;
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const d = s.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

/** The framings without a parameter, shared (nothing changes a framing once decided). */
export const NO_BODY: BodyFraming = Object.freeze({ kind: 'none' });
export const CHUNKED: BodyFraming = Object.freeze({ kind: 'chunked' });
export const UNTIL_CLOSE: BodyFraming = Object.freeze({ kind: 'until-close' });
export const UNTIL_RESYNC: BodyFraming = Object.freeze({ kind: 'until-resync' });

export function requestBodyFraming(head: FramingHeaders): BodyFraming {
  if (head.transferEncoding === 'chunked') return CHUNKED;
  // A request cannot be delimited by close (the client still needs the response): these are malformed.
  if (head.transferEncoding === 'other' || head.contentLengthInvalid) return UNTIL_RESYNC;
  if (head.contentLength !== undefined && head.contentLength > 0) return { kind: 'length', length: head.contentLength };
  return NO_BODY;
}

export function requestAfterMessage(method: string, head: FramingHeaders): AfterMessage {
  return method === 'CONNECT' || head.upgrade ? 'await-upgrade' : 'continue';
}

/**
 * The response's framing depends on the request it answers: a response to
 * HEAD announces a Content-Length but sends no body; a 2xx to CONNECT opens
 * a tunnel. `requestMethod` is undefined when the request was not seen; the
 * headers alone then decide, which is right for every method but those two.
 */
export function responseBodyFraming(statusCode: number, requestMethod: string | undefined, head: FramingHeaders): BodyFraming {
  if (requestMethod === 'HEAD') return NO_BODY;
  if (statusCode < 200 || statusCode === 204 || statusCode === 304) return NO_BODY;
  if (requestMethod === 'CONNECT' && statusCode < 300) return NO_BODY;
  if (head.transferEncoding === 'chunked') return CHUNKED;
  if (head.transferEncoding === 'other' || head.contentLengthInvalid) return UNTIL_CLOSE;
  if (head.contentLength !== undefined) return head.contentLength > 0 ? { kind: 'length', length: head.contentLength } : NO_BODY;
  return UNTIL_CLOSE;
}

export function responseAfterMessage(statusCode: number, requestMethod: string | undefined): AfterMessage {
  if (statusCode === 101) return 'tunnel';
  if (requestMethod === 'CONNECT' && statusCode >= 200 && statusCode < 300) return 'tunnel';
  return 'continue';
}

/** 1xx other than 101 are interim: the final response to the same request follows. */
export function isInterimStatus(statusCode: number): boolean {
  return statusCode >= 100 && statusCode < 200 && statusCode !== 101;
}
