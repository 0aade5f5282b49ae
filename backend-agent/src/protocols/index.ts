/**
 * Every protocol the agent parses, in the order the connection tracker tries
 * them on a connection's first bytes. Adding a protocol is adding its folder
 * and one line here. Order matters only where signatures could overlap: the
 * strictest first (HTTP/1's request line before a Redis inline command).
 */
import type { ProtocolDetector } from '../capture/connection-tracker.js';
import { http1Detector } from './http1/session.js';
import { http2Detector } from './http2/session.js';
import { postgresDetector } from './postgres/session.js';
import { redisDetector } from './redis/session.js';
import { mysqlDetector } from './mysql/session.js';

export const PROTOCOL_DETECTORS: readonly ProtocolDetector[] = [
  http1Detector,
  postgresDetector,
  redisDetector,
  mysqlDetector,
  http2Detector,
];
