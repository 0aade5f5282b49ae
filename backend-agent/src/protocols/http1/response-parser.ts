/**
 * Parser of the response direction. A response's framing depends on the
 * request it answers (HEAD: no body; 2xx to CONNECT: a tunnel), which this
 * direction's bytes do not show: the pairing layer says, per final response.
 * 1xx interim responses (100 Continue, 103 Early Hints) are folded into the
 * final response that follows them.
 */
import { UNTIL_RESYNC, isInterimStatus, responseAfterMessage, responseBodyFraming } from './framing.js';
import type { ParsedHead } from './head.js';
import { Http1StreamParser, type HeadOutcome, type Http1StreamParserOptions } from './stream-parser.js';
import type { CallStamp } from './timed-window.js';
import type { Http1Response } from './types.js';

export interface ResponseHeadInfo {
  statusCode: number;
  firstByteNs: bigint;
}

/**
 * What `requestMethodFor` returns for a response that answers no request this
 * connection saw (an orphan: the request was lost, sent before capture began,
 * or the response is garbage). `undefined` means the request is known but not
 * its method.
 */
export const NO_REQUEST: unique symbol = Symbol('no request');

export interface Http1ResponseParserOptions extends Http1StreamParserOptions<Http1Response> {
  /**
   * Called once per final response head, in order: returns the method of the
   * request it answers (undefined if unknown). Pairing code typically shifts
   * its queue of pending requests here.
   */
  requestMethodFor?(response: ResponseHeadInfo): string | undefined | typeof NO_REQUEST;
}

const NO_INTERIM: readonly number[] = Object.freeze([]);

export class Http1ResponseParser extends Http1StreamParser<Http1Response, Http1ResponseParserOptions> {
  protected readonly kind = 'response';
  /** 1xx responses before the final one; a shared empty list until one comes (they are rare). */
  private interimStatusCodes: readonly number[] = NO_INTERIM;
  private interimBytes = 0;

  protected beginMessage(head: ParsedHead, headerBytes: number, first: CallStamp, last: CallStamp): HeadOutcome<Http1Response> | undefined {
    if (head.kind !== 'response') return undefined;
    if (isInterimStatus(head.statusCode)) {
      this.interimStatusCodes = [...this.interimStatusCodes, head.statusCode];
      this.interimBytes += headerBytes;
      return { kind: 'interim' };
    }
    const answers = this.options.requestMethodFor?.({ statusCode: head.statusCode, firstByteNs: first.firstNs });
    const orphan = answers === NO_REQUEST;
    const method = orphan ? undefined : answers;
    // Every field written here, in one literal: one object shape for every response (no spread of a base object).
    const message: Http1Response = {
      kind: 'response',
      statusCode: head.statusCode,
      reason: head.reason,
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
      // A copy per message: consumers own (and may change) what they are given.
      interimStatusCodes: this.interimStatusCodes.length === 0 ? [] : [...this.interimStatusCodes],
      interimBytes: this.interimBytes,
    };
    this.interimStatusCodes = NO_INTERIM;
    this.interimBytes = 0;
    const framing = responseBodyFraming(head.statusCode, method, head);
    if (orphan) {
      // Nothing we saw asked for this response, so the direction is already out
      // of step and its framing is a guess. Trusting a close-delimited body or a
      // 101 here would make every later response on the connection body or
      // tunnel bytes (each later request then lost its response). A body that
      // ends at the next status line, and no tunnel the request side never
      // asked for, cost at most one more orphan when the guess is wrong. A
      // declared length is kept while bytes arrive in sequence, but not across
      // lost bytes (framingGuessed).
      return {
        kind: 'message',
        message,
        framing: framing.kind === 'until-close' ? UNTIL_RESYNC : framing,
        after: 'continue',
        framingGuessed: true,
      };
    }
    return { kind: 'message', message, framing, after: responseAfterMessage(head.statusCode, method) };
  }
}
