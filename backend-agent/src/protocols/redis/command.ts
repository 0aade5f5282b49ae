/**
 * A Redis command as stored: its name, the key it addresses, and `?` for
 * every other argument, so values (and passwords: AUTH, HELLO ... AUTH)
 * never leave the parser.
 */
import { printable } from '../common/db-exchange.js';

/** Commands whose first argument is not a key: every argument is hidden. */
const KEYLESS = new Set([
  'AUTH', 'HELLO', 'PING', 'ECHO', 'SELECT', 'INFO', 'QUIT', 'RESET', 'MULTI', 'EXEC', 'DISCARD', 'DBSIZE', 'FLUSHDB',
  'FLUSHALL', 'SAVE', 'BGSAVE', 'BGREWRITEAOF', 'LASTSAVE', 'TIME', 'ROLE', 'SHUTDOWN', 'SWAPDB', 'WAIT', 'EVAL', 'EVALSHA',
  'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO', 'SCAN', 'MONITOR', 'RANDOMKEY', 'READONLY', 'READWRITE', 'FAILOVER',
  'REPLICAOF', 'SLAVEOF', 'SYNC', 'PSYNC', 'LOLWUT', 'UNWATCH',
]);
/** Commands with a subcommand (CONFIG GET, CLIENT SETNAME): the subcommand is kept, arguments hidden. */
const CONTAINERS = new Set([
  'CONFIG', 'CLIENT', 'CLUSTER', 'COMMAND', 'SCRIPT', 'MEMORY', 'OBJECT', 'XINFO', 'XGROUP', 'ACL', 'DEBUG', 'FUNCTION',
  'LATENCY', 'MODULE', 'SLOWLOG', 'PUBSUB',
]);
/** Placeholders shown before the rest is summarised. */
const MAX_SHOWN = 8;

/** The command name, upper case, or undefined when the bytes are not a plausible one. */
export function commandName(arg: Buffer | undefined): string | undefined {
  if (!arg || arg.length === 0 || arg.length > 32) return undefined;
  const s = arg.toString('latin1');
  return /^[A-Za-z][A-Za-z0-9_.|-]*$/.test(s) ? s.toUpperCase() : undefined;
}

/** `SET user:1 ?`, `HSET h ? ? ? ?`, `CONFIG GET ?`, `AUTH ?`. */
export function commandText(name: string, args: readonly Buffer[], argc: number): string {
  const parts = [name];
  let hidden = Math.max(0, argc - 1);
  const second = args[1];
  if (second !== undefined && hidden > 0) {
    if (CONTAINERS.has(name)) {
      const sub = commandName(second);
      parts.push(sub ?? '?');
      hidden--;
    } else if (!KEYLESS.has(name)) {
      parts.push(printable(second, 128) || '?');
      hidden--;
    }
  }
  const shown = Math.min(hidden, MAX_SHOWN);
  for (let i = 0; i < shown; i++) parts.push('?');
  if (hidden > shown) parts.push(`…(${hidden - shown} more)`);
  return parts.join(' ');
}

/** Subscribe family: after it, replies are pushed messages, not answers to commands. */
export const SUBSCRIBING = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR']);
