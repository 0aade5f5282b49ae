/**
 * HTTP/1.x as an observer sees it: parsers for each direction of a captured
 * TCP stream, a per-connection pairing of requests and responses into
 * exchanges, and a cheap detector. Pure computation, no I/O.
 */
export { looksLikeHttp1 } from './detect.js';
export { Http1Connection, type Http1ConnectionOptions } from './connection.js';
export { Http1RequestParser, type Http1RequestParserOptions, type RequestHeadInfo } from './request-parser.js';
export { Http1ResponseParser, type Http1ResponseParserOptions, type ResponseHeadInfo } from './response-parser.js';
export {
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_START_LINE_BYTES,
  type Http1StreamParser,
  type Http1StreamParserOptions,
} from './stream-parser.js';
export { Http1Session, http1Detector } from './session.js';
export type {
  HeaderField,
  Http1Chunk,
  Http1ConnectionCounters,
  Http1DirectedChunk,
  Http1Exchange,
  Http1Message,
  Http1ParserCounters,
  Http1Request,
  Http1Response,
  MissingResponseReason,
} from './types.js';
