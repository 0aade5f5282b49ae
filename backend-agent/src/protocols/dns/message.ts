/**
 * DNS messages (RFC 1035 section 4): header, questions and the answer
 * count, enough for a span per lookup (name, type, response code, answers).
 * Pure and total: truncated or hostile input (compression loops, pointers
 * out of range, labels past the end) gives undefined or a partial result,
 * never a throw.
 *
 * NOT WIRED: the kernel side captures TCP sockets only (bpf/ resolves
 * SOCK_STREAM + IPPROTO_TCP), so UDP lookups never reach the agent. Once
 * datagrams are captured, DnsTransactions pairs them.
 */

export interface DnsQuestion {
  name: string;
  type: string;
  class: number;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  /** RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN... */
  rcode: number;
  /** TC bit: the answer did not fit (UDP), the client should retry over TCP. */
  truncated: boolean;
  questions: DnsQuestion[];
  answers: number;
}

export const HEADER_LENGTH = 12;
/** A name is at most 255 bytes on the wire (RFC 1035 2.3.4). */
const MAX_NAME = 255;
/** Pointers followed per name; more means a loop. */
const MAX_POINTERS = 16;
/** Questions read per message; real queries carry one. */
const MAX_QUESTIONS = 4;

const TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR', 43: 'DS',
  46: 'RRSIG', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 255: 'ANY', 257: 'CAA',
};

export const RCODES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE',
};

export function typeName(t: number): string {
  return TYPES[t] ?? `TYPE${t}`;
}

/** Reads a possibly compressed name; undefined when malformed. */
export function readName(msg: Buffer, start: number): { name: string; next: number } | undefined {
  const labels: string[] = [];
  let at = start;
  let next: number | undefined;
  let length = 0;
  for (let pointers = 0; ; ) {
    const len = msg[at];
    if (len === undefined) return undefined;
    if (len === 0) {
      next ??= at + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      const low = msg[at + 1];
      if (low === undefined || ++pointers > MAX_POINTERS) return undefined;
      next ??= at + 2;
      const target = ((len & 0x3f) << 8) | low;
      // Pointers go back to earlier data: forward ones are how loops and garbage start.
      if (target >= at) return undefined;
      at = target;
      continue;
    }
    if (kind !== 0) return undefined; // 0x40/0x80: extended label types, obsolete
    if (at + 1 + len > msg.length) return undefined;
    length += len + 1;
    if (length > MAX_NAME) return undefined;
    labels.push(printableLabel(msg.subarray(at + 1, at + 1 + len)));
    at += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), next };
}

function printableLabel(b: Buffer): string {
  let s = '';
  for (const c of b) s += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${c.toString().padStart(3, '0')}`;
  return s;
}

export function parseDnsMessage(msg: Buffer): DnsMessage | undefined {
  if (!Buffer.isBuffer(msg) || msg.length < HEADER_LENGTH) return undefined;
  const flags = msg.readUInt16BE(2);
  const qdcount = msg.readUInt16BE(4);
  const out: DnsMessage = {
    id: msg.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    truncated: (flags & 0x0200) !== 0,
    questions: [],
    answers: msg.readUInt16BE(6),
  };
  let at = HEADER_LENGTH;
  for (let i = 0; i < Math.min(qdcount, MAX_QUESTIONS); i++) {
    const name = readName(msg, at);
    if (!name || name.next + 4 > msg.length) break;
    out.questions.push({ name: name.name, type: typeName(msg.readUInt16BE(name.next)), class: msg.readUInt16BE(name.next + 2) });
    at = name.next + 4;
  }
  return out;
}

/** Plausible DNS from its header alone: the cheap check a detector would make on port 53. */
export function looksLikeDns(msg: Buffer): 'request' | 'response' | undefined {
  if (!Buffer.isBuffer(msg) || msg.length < HEADER_LENGTH + 5) return undefined;
  const flags = msg.readUInt16BE(2);
  const qdcount = msg.readUInt16BE(4);
  if (qdcount !== 1 || ((flags >> 11) & 0xf) > 5 || (flags & 0x0040) !== 0 /* Z bit must be 0 */) return undefined;
  const m = parseDnsMessage(msg);
  if (!m || m.questions.length !== 1) return undefined;
  if (!m.response && (m.answers !== 0 || m.rcode !== 0)) return undefined;
  return m.response ? 'response' : 'request';
}

export interface DnsLookup {
  name: string;
  type: string;
  rcode?: string;
  answers?: number;
  queryNs: bigint;
  responseNs?: bigint;
}

/**
 * Pairs queries with responses by transaction id and question (ids alone are
 * 16 bits and reused across sockets of one resolver); a query with no
 * response after the caller's time-out is reported without one.
 */
export class DnsTransactions {
  private readonly pending = new Map<string, DnsLookup>();

  constructor(
    private readonly onLookup: (l: DnsLookup) => void,
    private readonly maxPending = 1024,
  ) {}

  onMessage(msg: Buffer, tsNs: bigint): void {
    const m = parseDnsMessage(msg);
    const q = m?.questions[0];
    if (!m || !q) return;
    const key = `${m.id}|${q.name.toLowerCase()}|${q.type}`;
    if (!m.response) {
      if (this.pending.size >= this.maxPending) this.expire(tsNs, 0n);
      this.pending.set(key, { name: q.name, type: q.type, queryNs: tsNs });
      return;
    }
    const l = this.pending.get(key);
    if (!l) return;
    this.pending.delete(key);
    this.onLookup({ ...l, rcode: RCODES[m.rcode] ?? `RCODE${m.rcode}`, answers: m.answers, responseNs: tsNs });
  }

  /** Reports lookups older than maxAgeNs without a response. */
  expire(nowNs: bigint, maxAgeNs: bigint): void {
    for (const [key, l] of this.pending) {
      if (nowNs - l.queryNs < maxAgeNs) continue;
      this.pending.delete(key);
      this.onLookup(l);
    }
  }
}
