/**
 * Parser of the request direction: heads become Http1Request, framing comes
 * from the request's own headers.
 */
import { requestAfterMessage, requestBodyFraming } from './framing.js';
import type { ParsedHead } from './head.js';
import { Http1StreamParser, type HeadOutcome, type Http1StreamParserOptions } from './stream-parser.js';
import { splitTarget } from './target.js';
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
    const { path, query } = splitTarget(head.target);
    const message: Http1Request = {
      kind: 'request',
      method: head.method,
      target: head.target,
      path,
      query,
      ...this.messageBase(head, headerBytes, first, last),
    };
    const after = requestAfterMessage(head.method, head);
    this.options.onRequestHead?.({ method: head.method, target: head.target, firstByteNs: first.firstNs, awaitsUpgrade: after === 'await-upgrade' });
    return { kind: 'message', message, framing: requestBodyFraming(head), after };
  }
}
