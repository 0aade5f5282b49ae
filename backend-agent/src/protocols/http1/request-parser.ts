/**
 * Parser of the request direction: heads become Http1Request, framing comes
 * from the request's own headers.
 */
import { requestAfterMessage, requestBodyFraming } from './framing.js';
import type { ParsedHead } from './head.js';
import { Http1StreamParser, type HeadOutcome, type Http1StreamParserOptions } from './stream-parser.js';
import { targetPath, targetQuery } from './target.js';
import type { CallStamp } from './timed-window.js';
import type { Http1Request } from './types.js';

/** What the pairing layer needs as soon as a request's head is known (before its body). */
export interface RequestHeadInfo {
  method: string;
  target: string;
  firstByteNs: bigint;
  /** The request asked to leave HTTP/1 (Upgrade header, or CONNECT). */
  awaitsUpgrade: boolean;
}

export interface Http1RequestParserOptions extends Http1StreamParserOptions<Http1Request> {
  /** Called when a request head is parsed, before its body: a response may come before the body ends. */
  onRequestHead?(head: RequestHeadInfo): void;
}

export class Http1RequestParser extends Http1StreamParser<Http1Request, Http1RequestParserOptions> {
  protected readonly kind = 'request';

  protected beginMessage(head: ParsedHead, headerBytes: number, first: CallStamp, last: CallStamp): HeadOutcome<Http1Request> | undefined {
    if (head.kind !== 'request') return undefined;
    const target = head.target;
    // Every field written here, in one literal: one object shape for every request (no spread of a base object).
    const message: Http1Request = {
      kind: 'request',
      method: head.method,
      target,
      path: targetPath(target),
      query: targetQuery(target),
      version: head.version,
      headers: head.headers,
      trailers: [],
      headerBytes,
      bodyBytes: 0,
      chunked: false,
      truncated: false,
      firstByteNs: first.firstNs,
      lastByteNs: last.lastNs,
      tid: first.tid,
    };
    const after = requestAfterMessage(head.method, head);
    this.options.onRequestHead?.({ method: head.method, target, firstByteNs: first.firstNs, awaitsUpgrade: after === 'await-upgrade' });
    return { kind: 'message', message, framing: requestBodyFraming(head), after };
  }
}
