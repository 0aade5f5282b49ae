// A minimal Redis client for the demo's stock cache: one connection, RESP2
// arrays out, replies parsed in order (so commands may be pipelined). The
// demo has no npm dependencies; this is all inventory needs. When Redis is
// not configured (no DEMO_REDIS_PORT) or down, every call resolves to
// undefined and the service works uncached.

import net from 'node:net';

export class RedisCache {
  constructor(port, host = '127.0.0.1') {
    this.port = port;
    this.host = host;
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    this.waiting = [];
  }

  static fromEnv(env = process.env) {
    const port = Number(env.DEMO_REDIS_PORT);
    return Number.isInteger(port) && port > 0 ? new RedisCache(port) : undefined;
  }

  connect() {
    if (this.socket) return;
    const s = net.connect(this.port, this.host);
    s.setNoDelay(true);
    s.on('data', (d) => this.onData(d));
    const fail = () => {
      this.socket = undefined;
      this.buffer = Buffer.alloc(0);
      for (const w of this.waiting.splice(0)) w(undefined);
    };
    s.on('error', fail);
    s.on('close', fail);
    this.socket = s;
  }

  /** Sends one command; resolves with its reply (string, number, null, array, or an Error for -ERR). */
  command(...args) {
    this.connect();
    const wire = `*${args.length}\r\n${args.map((a) => { const v = String(a); return `$${Buffer.byteLength(v)}\r\n${v}\r\n`; }).join('')}`;
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(wire);
    });
  }

  close() {
    this.socket?.end();
  }

  onData(d) {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const parsed = parseReply(this.buffer, 0);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.next);
      this.waiting.shift()?.(parsed.value);
    }
  }
}

function parseReply(b, at) {
  const lf = b.indexOf('\r\n', at);
  if (lf < 0) return undefined;
  const type = String.fromCharCode(b[at]);
  const line = b.toString('utf8', at + 1, lf);
  const next = lf + 2;
  switch (type) {
    case '+': return { value: line, next };
    case '-': return { value: new Error(line), next };
    case ':': return { value: Number(line), next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      if (b.length < next + n + 2) return undefined;
      return { value: b.toString('utf8', next, next + n), next: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const out = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(b, p);
        if (!r) return undefined;
        out.push(r.value);
        p = r.next;
      }
      return { value: out, next: p };
    }
    default:
      throw new Error(`unexpected RESP type ${type}`);
  }
}
