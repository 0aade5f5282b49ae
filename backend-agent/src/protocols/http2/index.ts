/**
 * HTTP/2 and gRPC as an observer sees them: frames per direction, HPACK with
 * a dynamic table per direction, streams paired into exchanges, gRPC method
 * and status, and a detector. Pure computation, no I/O.
 */
export { looksLikeHttp2 } from './detect.js';
export { Http2Connection, type Http2ConnectionOptions } from './connection.js';
export { FrameReader, type Frame, type FrameReaderOptions } from './frame-reader.js';
export { readFrameHeader, frameHeaderProblem, frameChainAt, frameChainEndingAt, type FrameHeader } from './frame-header.js';
export { HpackDecoder, DEFAULT_TABLE_SIZE, type HeaderBlockResult } from './hpack-decoder.js';
export { decodeHuffman, HUFFMAN_CODES } from './huffman.js';
export { STATIC_TABLE } from './hpack-static-table.js';
export { grpcCall, isGrpc, parseGrpcPath, percentDecode } from './grpc.js';
export { Http2Session, http2Detector } from './session.js';
export * from './constants.js';
export type * from './types.js';
export { emptyCounters } from './types.js';
