/**
 * Parser of the response direction. A response's framing depends on the
 * request it answers (HEAD: no body; 2xx to CONNECT: a tunnel), which this
 * direction's bytes do not show: the pairing layer says, per final response.
 * 1xx interim responses (100 Continue, 103 Early Hints) are folded into the
 * final response that follows them.
 */
import { isInterimStatus, responseAfterMessage, responseBodyFraming } from './framing.js';
import type { ParsedHead } from './head.js';
import { Http1StreamParser, type HeadOutcome, type Http1StreamParserOptions } from './stream-parser.js';
import type { CallStamp } from './timed-window.js';
import type { Http1Response } from './types.js';

export interface ResponseHeadInfo {
  statusCode: number;
  firstByteNs: bigint;
}

export interface Http1ResponseParserOptions extends Http1StreamParserOptions<Http1Response> {
  /**
   * Called once per final response head, in order: returns the method of the
   * request it answers (undefined if unknown). Pairing code typically shifts
   * its queue of pending requests here.
   */
  requestMethodFor?: (response: ResponseHeadInfo) => string | undefined;
}

export class Http1ResponseParser extends Http1StreamParser<Http1Response> {
  protected readonly kind = 'response';
  private readonly requestMethodFor: ((response: ResponseHeadInfo) => string | undefined) | undefined;
  private interimStatusCodes: number[] = [];
  private interimBytes = 0;

  constructor(options: Http1ResponseParserOptions) {
    super(options);
    this.requestMethodFor = options.requestMethodFor;
  }

  protected beginMessage(head: ParsedHead, headerBytes: number, first: CallStamp, last: CallStamp): HeadOutcome<Http1Response> | undefined {
    if (head.kind !== 'response') return undefined;
    if (isInterimStatus(head.statusCode)) {
      this.interimStatusCodes.push(head.statusCode);
      this.interimBytes += headerBytes;
      return { kind: 'interim' };
    }
    const method = this.requestMethodFor?.({ statusCode: head.statusCode, firstByteNs: first.firstNs });
    const message: Http1Response = {
      kind: 'response',
      statusCode: head.statusCode,
      reason: head.reason,
      ...this.messageBase(head, headerBytes, first, last),
      interimStatusCodes: this.interimStatusCodes,
      interimBytes: this.interimBytes,
    };
    this.interimStatusCodes = [];
    this.interimBytes = 0;
    return {
      kind: 'message',
      message,
      framing: responseBodyFraming(head.statusCode, method, head),
      after: responseAfterMessage(head.statusCode, method),
    };
  }
}
