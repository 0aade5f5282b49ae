/**
 * One Redis connection as an observer sees it: commands and replies read by
 * RespReader per direction and paired first in, first out (Redis answers in
 * order, so N pipelined commands get their N replies in turn). RESP3 push
 * messages ('>') answer no command and are skipped. The database index
 * (SELECT n, acknowledged with +OK) is the namespace; 0 when the connection
 * was seen from its start and never selected another.
 */
import type { Direction, Role } from '../../model/events.js';
import type { DbCall } from '../../model/exchange.js';
import { INCOMPLETE, type DbCommand } from '../common/db-exchange.js';
import { sanitizeErrorMessage } from '../common/error-text.js';
import type { StreamChunk } from '../common/length-framer.js';
import { SUBSCRIBING, commandName, commandText } from './command.js';
import { RespReader, type RespValue } from './resp.js';

const MAX_PENDING = 1024;

interface Pending {
  name: string;
  text: string;
  selects?: string;
  value: RespValue;
}

export interface RedisConnectionOptions {
  role: Role;
  onCommand: (cmd: DbCommand) => void;
}

export interface RedisCounters {
  lostSync: number;
  gaps: number;
  skippedBytes: number;
  unmatchedReplies: number;
  internalErrors: number;
}

export class RedisConnection {
  private readonly requests: RespReader;
  private readonly replies: RespReader;
  private readonly requestDirection: Direction;
  private readonly queue: Pending[] = [];
  private database: string | undefined;
  private sawStart = false;
  /** After SUBSCRIBE or MONITOR the server pushes; pairing stops. */
  private pushMode = false;
  private unmatchedReplies = 0;
  private internalErrors = 0;
  private closed = false;

  constructor(private readonly options: RedisConnectionOptions) {
    this.requestDirection = options.role === 'server' ? 'ingress' : 'egress';
    this.requests = new RespReader('request', (v) => this.onRequest(v));
    this.replies = new RespReader('reply', (v) => this.onReply(v));
  }

  onData(chunk: StreamChunk): void {
    if (this.closed) return;
    try {
      if (chunk.direction === this.requestDirection) {
        if (!this.sawStart && chunk.streamPos === 0n && this.database === undefined) {
          this.sawStart = true;
          this.database = '0';
        }
        this.sawStart = true;
        this.requests.push(chunk);
      } else {
        this.replies.push(chunk);
      }
    } catch {
      this.internalErrors++;
    }
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.giveUp(INCOMPLETE.closed, () => true);
  }

  flush(nowNs: bigint, maxAgeNs: bigint): void {
    this.giveUp(INCOMPLETE.timeout, (p) => nowNs - p.value.lastByteNs >= maxAgeNs);
  }

  counters(): RedisCounters {
    const a = this.requests.counters;
    const b = this.replies.counters;
    return {
      lostSync: a.lostSync + b.lostSync,
      gaps: a.gaps + b.gaps,
      skippedBytes: a.skippedBytes + b.skippedBytes,
      unmatchedReplies: this.unmatchedReplies,
      internalErrors: this.internalErrors,
    };
  }

  private giveUp(reason: string, old: (p: Pending) => boolean): void {
    while (this.queue.length > 0 && old(this.queue[0] as Pending)) this.emit(this.queue.shift() as Pending, undefined, reason);
  }

  private onRequest(v: RespValue): void {
    if (this.pushMode) return;
    const name = commandName(v.args[0]);
    if (!name) return; // not a command (garbage that framed as RESP)
    const p: Pending = { name, text: commandText(name, v.args, v.argc), value: v };
    if (name === 'SELECT' && v.args[1]) {
      const db = v.args[1].toString('latin1');
      if (/^\d{1,5}$/.test(db)) p.selects = String(Number(db));
    }
    this.queue.push(p);
    if (this.queue.length > MAX_PENDING) this.emit(this.queue.shift() as Pending, undefined, INCOMPLETE.lost);
  }

  private onReply(v: RespValue): void {
    if (v.type === '>') {
      // RESP3 pushes answer no command, except a subscription's confirmation,
      // which is itself a push; the connection keeps answering in order.
      const head = this.queue[0];
      if (head && SUBSCRIBING.has(head.name) && head.name !== 'MONITOR') this.emit(this.queue.shift() as Pending, v, undefined);
      return;
    }
    if (this.pushMode) return;
    const p = this.queue.shift();
    if (!p) {
      this.unmatchedReplies++;
      return;
    }
    if (p.selects !== undefined && v.type === '+') this.database = p.selects;
    this.emit(p, v, undefined);
    if (SUBSCRIBING.has(p.name)) {
      // RESP2: later messages are arrays like replies; the commands still queued will not be answered in order.
      this.pushMode = true;
      while (this.queue.length > 0) this.emit(this.queue.shift() as Pending, undefined, 'connection switched to push mode');
    }
  }

  private emit(p: Pending, reply: RespValue | undefined, reason: string | undefined): void {
    const db: DbCall = { system: 'redis', operation: p.name, queryText: p.text };
    if (this.database !== undefined) db.namespace = this.database;
    if (reply && (reply.type === '-' || reply.type === '!')) {
      const text = reply.line ?? '';
      const space = text.indexOf(' ');
      // The first word is the error's kind by Redis convention: ERR, WRONGTYPE, NOSCRIPT, MOVED.
      db.errorCode = (space < 0 ? text : text.slice(0, space)).replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) || 'ERR';
      const message = space < 0 ? '' : text.slice(space + 1).trim();
      if (message) db.errorMessage = sanitizeErrorMessage(message, true);
    } else if (reply && reply.type === '*' && reply.argc >= 0 && isReadCommand(p.name)) {
      db.rows = reply.argc;
    }
    const cmd: DbCommand = {
      db,
      requestBytes: p.value.bytes,
      requestStartNs: p.value.firstByteNs,
      requestEndNs: p.value.lastByteNs,
      requestTid: p.value.tid,
      truncated: !p.value.complete || (reply !== undefined && !reply.complete),
    };
    if (reply) cmd.response = { bytes: reply.bytes, startNs: reply.firstByteNs, endNs: reply.lastByteNs, tid: reply.tid };
    else cmd.incompleteReason = reason ?? INCOMPLETE.lost;
    this.options.onCommand(cmd);
  }
}

/** Commands whose array reply is a list of returned items. */
function isReadCommand(name: string): boolean {
  return name === 'MGET' || name === 'LRANGE' || name === 'SMEMBERS' || name === 'ZRANGE' || name === 'HMGET' || name === 'KEYS' || name === 'HVALS' || name === 'HKEYS';
}
