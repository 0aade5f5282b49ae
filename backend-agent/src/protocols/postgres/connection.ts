/**
 * One PostgreSQL connection as an observer sees it: frames both directions,
 * remembers the start-up parameters (user, database; the password messages
 * are framed past, never read) and prepared statements by name, and pairs
 * each command with its reply.
 *
 * What counts as one command:
 * - a simple Query: its reply ends at ReadyForQuery (all its statements);
 * - an extended-protocol Execute (Parse/Bind/Execute, statement text from
 *   the Parse of the statement the portal was bound to): its reply ends at
 *   CommandComplete, EmptyQueryResponse, PortalSuspended or ErrorResponse.
 *   After an error the server skips everything up to Sync, so later
 *   Executes of that batch are reported as not executed;
 * - a batch up to Sync that parsed a statement without executing it
 *   (drivers preparing): PREPARE, ending at ReadyForQuery.
 * Replies come in request order, so a FIFO pairs them, pipelined or not.
 */
import type { Direction, Role } from '../../model/events.js';
import type { DbCall } from '../../model/exchange.js';
import { sanitizeErrorMessage } from '../common/error-text.js';
import { INCOMPLETE, printable, type DbCommand } from '../common/db-exchange.js';
import { LengthFramer, type Frame, type StreamChunk } from '../common/length-framer.js';
import { firstKeyword, sanitizeSql } from '../common/sql-sanitize.js';
import {
  BACKEND_TYPES,
  FRONTEND_TYPES,
  MAX_MESSAGE_LENGTH,
  MAX_STARTUP_LENGTH,
  looksLikeMessage,
  looksLikeStartup,
  parseBind,
  parseClose,
  parseCommandComplete,
  parseErrorFields,
  parseExecute,
  parseParse,
  parseQuery,
  parseStartup,
  rowsFromTag,
} from './messages.js';

/** Prepared statements and portals remembered per connection (drivers may prepare thousands). */
const MAX_STATEMENTS = 512;
/** Commands waiting for a reply before the oldest is given up. */
const MAX_PENDING = 1024;

type UnitKind = 'query' | 'execute' | 'prepare' | 'sync';

interface Unit {
  kind: UnitKind;
  text: string | undefined;
  startNs: bigint;
  endNs: bigint;
  tid: number | undefined;
  bytes: number;
  truncated: boolean;
  rows?: number;
  tag?: string;
  errorCode?: string;
  errorMessage?: string;
  response?: { bytes: number; startNs: bigint; endNs: bigint; tid: number | undefined };
}

/** Frontend messages since the last Execute, Sync or Query: they make up the next command's request. */
interface Group {
  startNs: bigint;
  tid: number | undefined;
  bytes: number;
  truncated: boolean;
}

export interface PgConnectionOptions {
  role: Role;
  onCommand: (cmd: DbCommand) => void;
}

export interface PgCounters {
  lostSync: number;
  gaps: number;
  skippedBytes: number;
  /** Replies that came with no command waiting (joined mid-stream, or lost requests). */
  unmatchedReplies: number;
  internalErrors: number;
}

export class PgConnection {
  private readonly frontend: LengthFramer;
  private readonly backend: LengthFramer;
  private readonly frontendDirection: Direction;
  /** undefined until the first client bytes say whether we saw the start-up. */
  private frontendStartup: boolean | undefined;
  /** SSL/GSS requests answered by one unframed byte. */
  private sslAnswersDue = 0;
  private encrypted = false;
  private database: string | undefined;
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, string>();
  private group: Group | undefined;
  private batchExecutes = 0;
  private batchParsed: string | undefined;
  private readonly queue: Unit[] = [];
  private unmatchedReplies = 0;
  private internalErrors = 0;
  private closed = false;

  constructor(private readonly options: PgConnectionOptions) {
    this.frontendDirection = options.role === 'server' ? 'ingress' : 'egress';
    this.frontend = new LengthFramer(
      {
        headerLength: () => (this.frontendStartup ? 4 : 5),
        messageLength: (h) => {
          if (this.frontendStartup) {
            const n = h.readUInt32BE(0);
            return n >= 8 && n <= MAX_STARTUP_LENGTH ? n : undefined;
          }
          return regularLength(h, FRONTEND_TYPES);
        },
        canStartAt: (p) => looksLikeMessage(p, FRONTEND_TYPES) || looksLikeStartup(p),
        // Password and SASL messages ('p') are never held, copy data is not needed.
        keep: (h) => (!this.frontendStartup && (h[0] === 0x70 || h[0] === 0x64) ? 5 : Number.MAX_SAFE_INTEGER),
      },
      (f) => this.onFrontend(f),
    );
    this.backend = new LengthFramer(
      {
        headerLength: () => (this.sslAnswersDue > 0 ? 1 : 5),
        messageLength: (h) => (this.sslAnswersDue > 0 ? 1 : regularLength(h, BACKEND_TYPES)),
        canStartAt: (p) => looksLikeMessage(p, BACKEND_TYPES),
        // Rows, row descriptions and copy data are counted, not read.
        keep: (h) => (this.sslAnswersDue === 0 && (h[0] === 0x44 || h[0] === 0x54 || h[0] === 0x64) ? 5 : Number.MAX_SAFE_INTEGER),
      },
      (f) => this.onBackend(f),
    );
  }

  /** Database name from the start-up message (PostgreSQL defaults it to the user name). */
  get namespace(): string | undefined {
    return this.database;
  }

  get isEncrypted(): boolean {
    return this.encrypted;
  }

  onData(chunk: StreamChunk): void {
    if (this.closed || this.encrypted) return;
    try {
      if (chunk.direction === this.frontendDirection) {
        if (this.frontendStartup === undefined) {
          // Seen from the start when the first bytes are a start-up packet; else joined mid-stream.
          // (Not tied to position 0: TLS plaintext from the OpenSSL probes starts after the SSLRequest.)
          this.frontendStartup = looksLikeStartup(chunk.payload);
        }
        this.frontend.push(chunk);
      } else {
        this.backend.push(chunk);
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

  /** Reports commands that waited longer than maxAgeNs for their reply. */
  flush(nowNs: bigint, maxAgeNs: bigint): void {
    this.giveUp(INCOMPLETE.timeout, (u) => nowNs - u.endNs >= maxAgeNs);
  }

  counters(): PgCounters {
    const f = this.frontend.counters;
    const b = this.backend.counters;
    return {
      lostSync: f.lostSync + b.lostSync,
      gaps: f.gaps + b.gaps,
      skippedBytes: f.skippedBytes + b.skippedBytes,
      unmatchedReplies: this.unmatchedReplies,
      internalErrors: this.internalErrors,
    };
  }

  private giveUp(reason: string, old: (u: Unit) => boolean): void {
    while (this.queue.length > 0 && old(this.queue[0] as Unit)) {
      const u = this.queue.shift() as Unit;
      if (u.kind !== 'sync') this.emit(u, reason);
    }
  }

  // -- client to server -----------------------------------------------------

  private onFrontend(f: Frame): void {
    if (this.frontendStartup) {
      this.onStartup(f);
      return;
    }
    const type = String.fromCharCode(f.data[0] as number);
    const g = (this.group ??= { startNs: f.firstByteNs, tid: f.tid, bytes: 0, truncated: false });
    g.bytes += f.length;
    if (!f.complete) g.truncated = true;
    switch (type) {
      case 'Q':
        this.push(this.takeGroup('query', cleanSql(parseQuery(f.data)), f));
        break;
      case 'P': {
        const { statement, sql } = parseParse(f.data);
        const text = cleanSql(sql);
        remember(this.statements, statement, text);
        this.batchParsed = text;
        break;
      }
      case 'B': {
        const { portal, statement } = parseBind(f.data);
        remember(this.portals, portal, statement);
        break;
      }
      case 'E': {
        const statement = this.portals.get(parseExecute(f.data));
        this.batchExecutes++;
        this.push(this.takeGroup('execute', statement === undefined ? undefined : this.statements.get(statement), f));
        break;
      }
      case 'S': {
        // A batch that only prepared is a round trip of its own; otherwise Sync just closes the batch.
        const kind: UnitKind = this.batchExecutes === 0 && this.batchParsed !== undefined ? 'prepare' : 'sync';
        this.push(this.takeGroup(kind, kind === 'prepare' ? this.batchParsed : undefined, f));
        this.batchExecutes = 0;
        this.batchParsed = undefined;
        break;
      }
      case 'C': {
        const { what, name } = parseClose(f.data);
        if (what === 'S') this.statements.delete(name);
        else if (what === 'P') this.portals.delete(name);
        break;
      }
      case 'X':
        this.group = undefined;
        break;
      default:
        // Describe, Flush, password messages ('p': never read), copy data: bytes of the next command.
        break;
    }
  }

  private onStartup(f: Frame): void {
    const s = parseStartup(f.data);
    if (!s || s.kind === 'cancel') return; // a cancel request's connection carries nothing else
    if (s.kind === 'ssl' || s.kind === 'gss') {
      this.sslAnswersDue++;
      return;
    }
    this.frontendStartup = false;
    const db = s.database || s.user;
    if (db) this.database = printable(Buffer.from(db, 'utf8'), 63);
  }

  private takeGroup(kind: UnitKind, text: string | undefined, f: Frame): Unit {
    const g = this.group as Group;
    this.group = undefined;
    return { kind, text, startNs: g.startNs, endNs: f.lastByteNs, tid: g.tid, bytes: g.bytes, truncated: g.truncated };
  }

  private push(u: Unit): void {
    this.queue.push(u);
    if (this.queue.length > MAX_PENDING) {
      const old = this.queue.shift() as Unit;
      if (old.kind !== 'sync') this.emit(old, INCOMPLETE.lost);
    }
  }

  // -- server to client -----------------------------------------------------

  private onBackend(f: Frame): void {
    if (this.sslAnswersDue > 0) {
      this.sslAnswersDue--;
      // 'S' (or 'G' for GSS): everything after is encrypted; we stop looking.
      if (f.data[0] === 0x53 || f.data[0] === 0x47) this.encrypted = true;
      return;
    }
    const type = String.fromCharCode(f.data[0] as number);
    const head = this.queue[0];
    if (!head) {
      // Start-up replies (authentication, parameters, the first ReadyForQuery) and async notices land here.
      if (type !== 'R' && type !== 'S' && type !== 'K' && type !== 'Z' && type !== 'N' && type !== 'A') this.unmatchedReplies++;
      return;
    }
    if (head.kind !== 'sync') {
      const r = (head.response ??= { bytes: 0, startNs: f.firstByteNs, endNs: f.lastByteNs, tid: f.tid });
      r.bytes += f.length;
      r.endNs = f.lastByteNs;
      if (!f.complete) head.truncated = true;
    }
    switch (type) {
      case 'C': {
        const tag = parseCommandComplete(f.data);
        const rows = rowsFromTag(tag);
        if (head.kind === 'query' || head.kind === 'execute') {
          head.tag ??= tag;
          if (rows !== undefined) head.rows = (head.rows ?? 0) + rows;
        }
        if (head.kind === 'execute') this.complete();
        break;
      }
      case 'I': // EmptyQueryResponse
      case 's': // PortalSuspended (row limit reached)
        if (head.kind === 'execute') this.complete();
        break;
      case 'E': {
        const e = parseErrorFields(f.data);
        if (head.kind !== 'sync' && head.errorCode === undefined) {
          head.errorCode = e.code ? printable(Buffer.from(e.code), 5) : 'ERROR';
          // Class 22 (data exception) and 23 (integrity) messages quote values.
          if (e.message) head.errorMessage = sanitizeErrorMessage(printable(Buffer.from(e.message), 512), /^2[23]/.test(head.errorCode));
        }
        if (head.kind === 'execute') {
          this.complete();
          // The server skips to Sync: the batch's later Executes never run.
          while (this.queue[0] && this.queue[0].kind === 'execute') this.emit(this.queue.shift() as Unit, 'not executed: an earlier statement of the batch failed');
        }
        break;
      }
      case 'Z':
        // ReadyForQuery ends a Query, a PREPARE batch or a Sync; an Execute still waiting here got no reply of its own.
        while (this.queue[0] && this.queue[0].kind === 'execute') this.emit(this.queue.shift() as Unit, INCOMPLETE.lost);
        this.complete();
        break;
      default:
        break;
    }
  }

  private complete(): void {
    const u = this.queue.shift();
    if (u && u.kind !== 'sync') this.emit(u, undefined);
  }

  private emit(u: Unit, incompleteReason: string | undefined): void {
    const text = u.text;
    const tagWord = u.tag ? (u.tag.split(' ')[0] as string) : '';
    let operation = text ? firstKeyword(text) : '';
    if (u.kind === 'prepare') operation = 'PREPARE';
    // WITH ... or an unknown statement: the command tag names what really ran.
    if ((operation === '' || operation === 'WITH') && tagWord) operation = tagWord.toUpperCase();
    if (operation === '') operation = u.kind === 'execute' ? 'EXECUTE' : 'QUERY';
    const db: DbCall = { system: 'postgresql', operation };
    if (text) db.queryText = text;
    if (this.database) db.namespace = this.database;
    if (u.errorCode) db.errorCode = u.errorCode;
    if (u.errorMessage) db.errorMessage = u.errorMessage;
    if (u.rows !== undefined && !u.errorCode) db.rows = u.rows;
    const cmd: DbCommand = {
      db,
      requestBytes: u.bytes,
      requestStartNs: u.startNs,
      requestEndNs: u.endNs,
      requestTid: u.tid,
      truncated: u.truncated,
    };
    if (incompleteReason === undefined && u.response) cmd.response = u.response;
    else cmd.incompleteReason = incompleteReason ?? INCOMPLETE.lost;
    this.options.onCommand(cmd);
  }
}

function regularLength(h: Buffer, types: ReadonlySet<string>): number | undefined {
  if (!types.has(String.fromCharCode(h[0] as number))) return undefined;
  const n = h.readUInt32BE(1);
  return n >= 4 && n <= MAX_MESSAGE_LENGTH ? n + 1 : undefined;
}

function cleanSql(sql: string): string {
  return sanitizeSql(sql, 'postgresql');
}

/** A bounded map: the oldest name goes when full (Map keeps insertion order). */
function remember(map: Map<string, string>, key: string, value: string): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_STATEMENTS) map.delete(map.keys().next().value as string);
}
