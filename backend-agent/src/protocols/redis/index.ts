/** Redis RESP2/RESP3 as an observer sees it. Pure computation, no I/O. */
export { RedisConnection, type RedisConnectionOptions, type RedisCounters } from './connection.js';
export { RedisSession, detectRedis, detectRedisOnPort, redisDetector } from './session.js';
export { RespReader, type RespValue, type RespCounters } from './resp.js';
export { commandName, commandText } from './command.js';
