/**
 * Redis as the connection tracker sees it: a detector for a RESP command
 * array (or, on port 6379, an inline command or a reply: connections joined
 * mid-stream) and a session that turns RedisConnection's commands into
 * ObservedExchange.
 */
import type { ProtocolDetector, TrackedConnection } from '../../capture/connection-tracker.js';
import type { Direction } from '../../model/events.js';
import { DbSession } from '../common/db-session.js';
import { RedisConnection } from './connection.js';
import { REPLY_START } from './resp.js';

export class RedisSession extends DbSession {
  constructor(tracked: TrackedConnection) {
    super('redis', tracked, (options) => new RedisConnection(options));
  }
}

/** `*<n>\r\n$<len>\r\n<letter>`: a command array whose first element is a command name. */
export function detectRedis(p: Buffer): 'request' | undefined {
  if (p.length < 8 || p[0] !== 0x2a) return undefined;
  let i = 1;
  while (i < p.length && i < 8 && isDigit(p[i] as number)) i++;
  if (i === 1 || p[i] !== 0x0d || p[i + 1] !== 0x0a || p[i + 2] !== 0x24) return undefined;
  let j = i + 3;
  const lenStart = j;
  while (j < p.length && j < lenStart + 3 && isDigit(p[j] as number)) j++;
  if (j === lenStart || p[j] !== 0x0d || p[j + 1] !== 0x0a) return undefined;
  const c = (p[j + 2] ?? 0) | 0x20;
  return c >= 0x61 && c <= 0x7a ? 'request' : undefined;
}

/** Mid-stream on the Redis port: a command array, an inline command line, or a reply. */
export function detectRedisOnPort(p: Buffer, _direction: Direction): 'request' | 'response' | undefined {
  if (detectRedis(p)) return 'request';
  if (p.length < 3) return undefined;
  const lf = p.indexOf(0x0a);
  if (lf < 1 || lf > 512 || p[lf - 1] !== 0x0d) return undefined;
  const first = String.fromCharCode(p[0] as number);
  if (REPLY_START.has(first)) return 'response';
  return /^[A-Za-z]{3,16}( |\r)/.test(p.toString('latin1', 0, Math.min(lf, 17))) ? 'request' : undefined;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export const redisDetector: ProtocolDetector = {
  name: 'redis',
  detect: detectRedis,
  ports: [6379],
  detectOnPort: detectRedisOnPort,
  open: (connection: TrackedConnection) => new RedisSession(connection),
};
