/**
 * One MySQL/MariaDB connection as an observer sees it: the handshake (server
 * greeting, the client's response with user and database; the auth data is
 * framed past, never read), then one command at a time, each paired with its
 * reply: OK (affected rows), ERR (errno, SQLSTATE, message) or a result set
 * (rows counted; more results followed when the server says so).
 * Prepared statements are remembered by id, so COM_STMT_EXECUTE shows the
 * statement text COM_STMT_PREPARE sent.
 *
 * Whether the server sends the legacy EOF packet after column definitions
 * (CLIENT_DEPRECATE_EOF) is known from the handshake, but a connection joined
 * mid-stream does not say: there, the EOF packet (exactly 5 bytes, 0xfe) is
 * told from the OK packet that ends a result in the newer style (0xfe, at
 * least 7 bytes), which needs no capability at all.
 */
import type { Direction, Role } from '../../model/events.js';
import type { DbCall } from '../../model/exchange.js';
import { INCOMPLETE, printable, type DbCommand } from '../common/db-exchange.js';
import { sanitizeErrorMessage } from '../common/error-text.js';
import { LengthFramer, type Frame, type StreamChunk } from '../common/length-framer.js';
import { firstKeyword, sanitizeSql } from '../common/sql-sanitize.js';
import {
  CLIENT_QUERY_ATTRIBUTES,
  COM,
  COMMAND_NAMES,
  HEADER,
  MAX_PAYLOAD,
  SERVER_MORE_RESULTS_EXISTS,
  parseEofStatus,
  parseErr,
  parseGreeting,
  parseHandshakeResponse,
  parseOk,
  parsePrepareOk,
  payload,
  payloadLength,
  queryText,
  readLenenc,
  sequenceId,
} from './packets.js';

const CLIENT_DEPRECATE_EOF = 1 << 24;
const MAX_STATEMENTS = 512;

type Phase = 'start' | 'greeted' | 'auth' | 'command' | 'encrypted';
type Stage = 'first' | 'columns' | 'rows' | 'prepare';

interface Command {
  op: string;
  text: string | undefined;
  command: number;
  startNs: bigint;
  endNs: bigint;
  tid: number | undefined;
  bytes: number;
  truncated: boolean;
  stage: Stage;
  /** Column or definition packets still due. */
  remaining: number;
  /** The next 5-byte EOF would be the one after column definitions. */
  columnsEofDue: boolean;
  rows?: number;
  errorCode?: string;
  errorMessage?: string;
  /** Database selected once this command succeeds (COM_INIT_DB, USE db). */
  selects?: string;
  response?: { bytes: number; startNs: bigint; endNs: bigint; tid: number | undefined };
}

export interface MysqlConnectionOptions {
  role: Role;
  onCommand: (cmd: DbCommand) => void;
}

export interface MysqlCounters {
  lostSync: number;
  gaps: number;
  skippedBytes: number;
  unmatchedReplies: number;
  internalErrors: number;
}

export class MysqlConnection {
  private readonly client: LengthFramer;
  private readonly server: LengthFramer;
  private readonly clientDirection: Direction;
  private phase: Phase = 'start';
  private serverCaps: number | undefined;
  private deprecateEof: boolean | undefined;
  private queryAttributes = false;
  private database: string | undefined;
  private readonly statements = new Map<number, string>();
  private pending: Command | undefined;
  /** Text of a COM_STMT_PREPARE in flight, keyed by nothing: MySQL has one command at a time. */
  private preparing: string | undefined;
  private strayEofAllowed = false;
  private unmatchedReplies = 0;
  private internalErrors = 0;
  private closed = false;

  constructor(private readonly options: MysqlConnectionOptions) {
    this.clientDirection = options.role === 'server' ? 'ingress' : 'egress';
    const framing = (fromClient: boolean) => ({
      headerLength: () => HEADER,
      messageLength: (h: Buffer) => HEADER + payloadLength(h),
      canStartAt: (p: Buffer) => looksLikePacket(p, fromClient),
      // Auth data is never held; of the server's packets (rows, mostly), the
      // first kilobyte holds all we read (OK, ERR, column counts, EOF).
      keep: (): number => (fromClient ? (this.phase === 'auth' ? HEADER : Number.MAX_SAFE_INTEGER) : HEADER + 1024),
    });
    this.client = new LengthFramer(framing(true), (f) => this.onClient(f));
    this.server = new LengthFramer(framing(false), (f) => this.onServer(f));
  }

  onData(chunk: StreamChunk): void {
    if (this.closed || this.phase === 'encrypted') return;
    try {
      if (this.phase === 'start') {
        // From the start only if the first bytes we see are the server's greeting.
        const greeting = chunk.direction !== this.clientDirection && looksLikeGreeting(chunk.payload);
        if (!greeting) this.phase = 'command';
      }
      if (chunk.direction === this.clientDirection) this.client.push(chunk);
      else this.server.push(chunk);
    } catch {
      this.internalErrors++;
    }
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending) this.emit(this.pending, INCOMPLETE.closed);
    this.pending = undefined;
  }

  flush(nowNs: bigint, maxAgeNs: bigint): void {
    if (this.pending && nowNs - this.pending.endNs >= maxAgeNs) {
      this.emit(this.pending, INCOMPLETE.timeout);
      this.pending = undefined;
    }
  }

  counters(): MysqlCounters {
    const a = this.client.counters;
    const b = this.server.counters;
    return {
      lostSync: a.lostSync + b.lostSync,
      gaps: a.gaps + b.gaps,
      skippedBytes: a.skippedBytes + b.skippedBytes,
      unmatchedReplies: this.unmatchedReplies,
      internalErrors: this.internalErrors,
    };
  }

  // -- client to server -----------------------------------------------------

  private onClient(f: Frame): void {
    if (this.phase === 'greeted') {
      const r = parseHandshakeResponse(f.data);
      if (r?.ssl) {
        this.phase = 'encrypted';
        return;
      }
      this.phase = 'auth';
      if (r) {
        const both = (this.serverCaps ?? 0) & r.capabilities;
        this.deprecateEof = (both & CLIENT_DEPRECATE_EOF) !== 0;
        this.queryAttributes = (both & CLIENT_QUERY_ATTRIBUTES) !== 0;
        if (r.database) this.database = printable(Buffer.from(r.database), 64);
      }
      return;
    }
    if (this.phase !== 'command') return; // auth data: never read
    if (sequenceId(f.data) !== 0) {
      // The rest of a long command, or LOCAL INFILE data: bytes of the pending request.
      if (this.pending) this.pending.bytes += f.length;
      return;
    }
    if (this.pending) this.emit(this.pending, INCOMPLETE.lost); // its reply was never seen
    this.pending = undefined;
    this.strayEofAllowed = false;
    const p = payload(f.data);
    const command = p[0];
    if (command === undefined) return;
    const cmd: Command = {
      op: COMMAND_NAMES[command] ?? `COM_${command.toString(16).padStart(2, '0')}`,
      text: undefined,
      command,
      startNs: f.firstByteNs,
      endNs: f.lastByteNs,
      tid: f.tid,
      bytes: f.length,
      truncated: !f.complete || payloadLength(f.data) === MAX_PAYLOAD,
      stage: 'first',
      remaining: 0,
      columnsEofDue: false,
    };
    switch (command) {
      case COM.QUERY: {
        const raw = queryText(f.data, this.queryAttributes);
        if (raw !== undefined) {
          cmd.text = sanitizeSql(raw, 'mysql');
          cmd.op = firstKeyword(cmd.text) || 'QUERY';
          const use = /^\s*use\s+`?([A-Za-z0-9_$-]{1,64})`?\s*;?\s*$/i.exec(raw);
          if (use) cmd.selects = use[1];
        }
        break;
      }
      case COM.INIT_DB:
        cmd.selects = printable(p.subarray(1), 64);
        break;
      case COM.STMT_PREPARE:
        cmd.text = sanitizeSql(p.toString('utf8', 1, 1 + 64 * 1024), 'mysql');
        this.preparing = cmd.text;
        break;
      case COM.STMT_EXECUTE: {
        const text = p.length >= 5 ? this.statements.get(p.readUInt32LE(1)) : undefined;
        if (text !== undefined) {
          cmd.text = text;
          cmd.op = firstKeyword(text) || 'EXECUTE';
        }
        break;
      }
      case COM.STMT_CLOSE:
        if (p.length >= 5) this.statements.delete(p.readUInt32LE(1));
        return; // no reply
      case COM.STMT_SEND_LONG_DATA: // no reply
      case COM.QUIT:
        return;
      default:
        break;
    }
    this.pending = cmd;
  }

  // -- server to client -----------------------------------------------------

  private onServer(f: Frame): void {
    const p = payload(f.data);
    const first = p[0];
    if (this.phase === 'start') {
      const g = parseGreeting(f.data);
      this.serverCaps = g?.capabilities;
      this.phase = 'greeted';
      return;
    }
    if (this.phase === 'greeted') return;
    if (this.phase === 'auth') {
      if (first === 0x00) this.phase = 'command';
      return;
    }
    const cmd = this.pending;
    if (!cmd) {
      // The legacy EOF after the last definitions of a prepare whose EOF style we could not know.
      if (!(this.strayEofAllowed && isEof(f.data))) this.unmatchedReplies++;
      this.strayEofAllowed = false;
      return;
    }
    const r = (cmd.response ??= { bytes: 0, startNs: f.firstByteNs, endNs: f.lastByteNs, tid: f.tid });
    r.bytes += f.length;
    r.endNs = f.lastByteNs;
    if (!f.complete) cmd.truncated = true;
    if (first === 0xff) {
      const e = parseErr(f.data);
      cmd.errorCode = String(e.errno);
      // Syntax errors (1064) quote the rest of the statement from the error on,
      // literals included and quotes unbalanced: that part goes whole. Data
      // and integrity errors (SQLSTATE 22xxx, 23xxx: `Duplicate entry 'bob'`)
      // quote values.
      const text = printable(Buffer.from(e.message), 512).replace(/ near '[\s\S]*' at line (\d+)$/, " near '?' at line $1");
      const message = sanitizeErrorMessage(text, /^2[23]/.test(e.sqlState ?? ''));
      if (message) cmd.errorMessage = message;
      this.finish();
      return;
    }
    switch (cmd.stage) {
      case 'first':
        this.onFirst(cmd, f, first);
        break;
      case 'prepare':
        // EOF packets are counted in `remaining` only when the handshake told us they come.
        if (isEof(f.data) && this.deprecateEof !== false) break;
        if (--cmd.remaining <= 0) this.finishPrepare();
        break;
      case 'columns':
        if (--cmd.remaining <= 0) {
          cmd.stage = 'rows';
          cmd.rows = 0;
          cmd.columnsEofDue = this.deprecateEof !== true;
        }
        break;
      case 'rows': {
        if (cmd.columnsEofDue && isEof(f.data)) {
          cmd.columnsEofDue = false;
          break;
        }
        cmd.columnsEofDue = false;
        if (first === 0xfe && payloadLength(f.data) < MAX_PAYLOAD) {
          const status = isEof(f.data) ? parseEofStatus(f.data) : parseOk(f.data).status;
          if (status & SERVER_MORE_RESULTS_EXISTS) cmd.stage = 'first';
          else this.finish();
          break;
        }
        cmd.rows = (cmd.rows ?? 0) + 1;
        break;
      }
    }
  }

  private onFirst(cmd: Command, f: Frame, first: number | undefined): void {
    if (first === 0x00 && cmd.command === COM.STMT_PREPARE) {
      const ok = parsePrepareOk(f.data);
      if (ok && this.preparing !== undefined) remember(this.statements, ok.statementId, this.preparing);
      const defs = ok ? ok.params + ok.columns : 0;
      if (defs === 0) {
        this.finish();
        return;
      }
      cmd.stage = 'prepare';
      // Legacy servers end each non-empty definition group with an EOF packet.
      cmd.remaining = defs + (this.deprecateEof === false ? (ok!.params > 0 ? 1 : 0) + (ok!.columns > 0 ? 1 : 0) : 0);
      return;
    }
    if (first === 0x00 || (first === 0xfe && cmd.command !== COM.QUERY && cmd.command !== COM.STMT_EXECUTE)) {
      const ok = parseOk(f.data);
      if (ok.affectedRows !== undefined && (cmd.command === COM.QUERY || cmd.command === COM.STMT_EXECUTE)) cmd.rows = (cmd.rows ?? 0) + ok.affectedRows;
      if (!(ok.status & SERVER_MORE_RESULTS_EXISTS)) this.finish();
      return;
    }
    if (first === 0xfb) return; // LOCAL INFILE: the client sends the file, then the server's OK comes
    const columns = readLenenc(payload(f.data), 0);
    if (!columns || columns.value === 0) {
      this.finish();
      return;
    }
    cmd.stage = 'columns';
    cmd.remaining = columns.value;
  }

  private finishPrepare(): void {
    // Only the EOF style negotiated in a handshake we saw tells whether one more EOF follows.
    this.finish();
    this.strayEofAllowed = this.deprecateEof === undefined;
  }

  private finish(): void {
    const cmd = this.pending;
    this.pending = undefined;
    if (!cmd) return;
    if (cmd.selects !== undefined && cmd.errorCode === undefined) this.database = cmd.selects;
    this.emit(cmd, undefined);
  }

  private emit(c: Command, incompleteReason: string | undefined): void {
    const db: DbCall = { system: 'mysql', operation: c.op };
    if (c.text) db.queryText = c.text;
    if (this.database) db.namespace = this.database;
    if (c.errorCode) db.errorCode = c.errorCode;
    if (c.errorMessage) db.errorMessage = c.errorMessage;
    if (c.rows !== undefined && !c.errorCode) db.rows = c.rows;
    const cmd: DbCommand = { db, requestBytes: c.bytes, requestStartNs: c.startNs, requestEndNs: c.endNs, requestTid: c.tid, truncated: c.truncated };
    if (incompleteReason === undefined && c.response) cmd.response = c.response;
    else cmd.incompleteReason = incompleteReason ?? INCOMPLETE.lost;
    this.options.onCommand(cmd);
  }
}

/** Legacy EOF packet: 0xfe and exactly 5 payload bytes (warnings, status). */
function isEof(packet: Buffer): boolean {
  return packet[HEADER] === 0xfe && payloadLength(packet) === 5;
}

/** Protocol 10 greeting: sequence 0, version byte 10, a printable server version. */
export function looksLikeGreeting(p: Buffer): boolean {
  if (p.length < 10 || p[3] !== 0 || p[4] !== 0x0a) return false;
  const len = payloadLength(p);
  if (len < 20 || len > 1024) return false;
  const nul = p.indexOf(0, 5);
  if (nul < 6 || nul > 64) return false;
  for (let i = 5; i < nul; i++) {
    const c = p[i] as number;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return (p[5] as number) >= 0x30 && (p[5] as number) <= 0x39; // versions start with a digit
}

/** A plausible packet start after lost framing: client commands have sequence 0 and a known command byte. */
function looksLikePacket(p: Buffer, fromClient: boolean): boolean {
  if (p.length < HEADER + 1) return false;
  const len = payloadLength(p);
  if (len === 0) return false;
  if (fromClient) return p[3] === 0 && (p[4] as number) <= 0x1f && COMMAND_NAMES[p[4] as number] !== undefined;
  return p[3] !== 0;
}

function remember(map: Map<number, string>, key: number, value: string): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_STATEMENTS) map.delete(map.keys().next().value as number);
}
