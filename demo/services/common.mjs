// Shared plumbing for the Node demo services: routing, W3C trace context,
// JSON over node:http, ground-truth counters and a clean shutdown. The
// services themselves stay small enough to read as examples.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export const HOST = '127.0.0.1';
const VERBOSE = process.env.DEMO_VERBOSE === '1';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function envPort(name, fallback) {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v <= 0 || v > 65535) throw new Error(`${name} is not a port: ${process.env[name]}`);
  return v;
}

// ---- W3C trace context -------------------------------------------------------

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** { traceId, parentId, flags } or null when absent or invalid (all-zero ids are invalid). */
export function parseTraceparent(value) {
  const m = typeof value === 'string' ? TRACEPARENT.exec(value.trim()) : null;
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return null;
  return { traceId: m[1], parentId: m[2], flags: m[3] };
}

function randomHex(bytes) {
  for (;;) {
    const h = crypto.randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(h)) return h;
  }
}
export const newTraceId = () => randomHex(16);
export const newSpanId = () => randomHex(8);

// ---- ground truth of who called whom -------------------------------------------
// Every call carries `x-demo-call: <unique id>`; each service logs
// "inbound call id -> outbound call id" to <service>.calls.jsonl. The agent is
// told to record that header for evaluation only; it never links by it.

export const PROPAGATE = process.env.DEMO_PROPAGATION !== 'off';
const DEMO_CALL = 'x-demo-call';
let callSeq = 0;

/** Headers naming a new outbound call made while serving `req` (or from nowhere), logged as ground truth. */
export function demoCallHeaders(service, req, target) {
  const child = `${service}-${process.pid}-${++callSeq}`;
  const parent = req?.headers?.[DEMO_CALL] ?? null;
  const dir = process.env.DEMO_STATE_DIR;
  if (dir) fs.appendFileSync(path.join(dir, `${service}.calls.jsonl`), JSON.stringify({ service, parent, child, target }) + '\n');
  return { [DEMO_CALL]: child };
}

// ---- counters written to $DEMO_STATE_DIR/<service>.json ------------------------

export class Counters {
  constructor(service, port) {
    this.service = service;
    this.port = port;
    this.startedAtUs = nowUs();
    this.inbound = { total: 0, withTraceparent: 0, withoutTraceparent: 0, byStatus: {}, byRoute: {} };
    this.outbound = {}; // target service -> status (or 'error') -> count
    this.healthz = 0; // the runner's readiness probes, kept apart from app traffic
    this.connections = 0; // accepted TCP connections (probes included): shows keep-alive reuse
  }

  countInbound(route, status, hadTraceparent) {
    const i = this.inbound;
    i.total += 1;
    if (hadTraceparent) i.withTraceparent += 1;
    else i.withoutTraceparent += 1;
    bump(i.byStatus, status);
    bump((i.byRoute[route] ??= {}), status);
  }

  countOutbound(target, status) {
    bump((this.outbound[target] ??= {}), status);
  }

  write(final = false) {
    const dir = process.env.DEMO_STATE_DIR;
    if (!dir) return;
    const doc = {
      service: this.service, language: 'node', pid: process.pid, port: this.port,
      startedAtUs: this.startedAtUs, updatedAtUs: nowUs(), final,
      inbound: this.inbound, outbound: this.outbound, healthz: this.healthz, connections: this.connections,
    };
    // Write then rename, so a reader never sees a half-written file.
    const file = path.join(dir, `${this.service}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(doc, null, 2) + '\n');
    fs.renameSync(`${file}.tmp`, file);
  }
}

const bump = (obj, key) => { obj[key] = (obj[key] ?? 0) + 1; };
export const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

// ---- HTTP ---------------------------------------------------------------------

/** Every non-streamed response carries a Content-Length, so keep-alive works. */
export function sendJson(res, status, body, headers = {}) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length, ...headers });
  res.end(data);
}

/**
 * One outbound call, counted under `target`. Resolves { status, body } with
 * status null when the call failed before a response (counted as 'error').
 */
export function callJson(counters, target, { port, method = 'GET', path: p, headers = {}, body, agent, timeoutMs = 5000 }) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const h = { accept: 'application/json', ...headers };
    if (payload) Object.assign(h, { 'content-type': 'application/json', 'content-length': payload.length });
    let settled = false;
    const done = (status, parsed) => {
      if (settled) return;
      settled = true;
      counters.countOutbound(target, status ?? 'error');
      resolve({ status, body: parsed });
    };
    const req = http.request({ host: HOST, port, method, path: p, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let parsed = null;
        try { parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON */ }
        done(res.statusCode, parsed);
      });
      res.on('error', () => done(null, null));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => done(null, null));
    req.end(payload);
  });
}

/**
 * Starts a service: `routes` is a list of { method, pattern, route, handler }
 * where handler(ctx) gets { req, res, url, match, trace }. `trace` holds the
 * inbound W3C context (or null). Handles /healthz, counting, logging, state
 * file ticks, SIGTERM/SIGINT and the parent going away.
 */
export function serve({ service, port, routes }) {
  const counters = new Counters(service, port);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://${HOST}`);
    if (url.pathname === '/healthz') {
      counters.healthz += 1;
      return sendJson(res, 200, { status: 'ok', service, pid: process.pid });
    }
    const trace = parseTraceparent(req.headers.traceparent);
    let route = `${req.method} (unmatched)`;
    const started = performance.now();
    res.on('close', () => {
      // A response cut short (client went away) is recorded as 'aborted'.
      const status = res.writableFinished ? res.statusCode : 'aborted';
      counters.countInbound(route, status, trace !== null);
      if (VERBOSE) {
        const ms = (performance.now() - started).toFixed(1);
        process.stderr.write(`${service} ${req.method} ${req.url} ${status} ${ms}ms trace=${trace?.traceId ?? '-'}\n`);
      }
    });
    for (const r of routes) {
      const match = req.method === r.method ? r.pattern.exec(url.pathname) : null;
      if (!match) continue;
      route = r.route;
      try {
        await r.handler({ req, res, url, match, trace });
      } catch (err) {
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
        process.stderr.write(`${service}: ${err.stack ?? err}\n`);
      }
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  });

  server.on('connection', () => { counters.connections += 1; });
  server.on('error', (err) => {
    process.stderr.write(`${service}: cannot listen on ${HOST}:${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, HOST, () => {
    if (VERBOSE) process.stderr.write(`${service} listening on http://${HOST}:${port}\n`);
  });

  const parent = process.ppid;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(tick);
    // Let in-flight requests finish briefly; then cut what is left.
    server.close();
    server.closeIdleConnections();
    const finish = () => {
      server.closeAllConnections();
      counters.write(true);
      process.exit(0);
    };
    const deadline = setTimeout(finish, 1000);
    server.on('close', () => { clearTimeout(deadline); finish(); });
  };
  // Every second: refresh the state file, and exit if whoever started us has
  // died (re-parented), so a crashed runner leaves no orphans behind.
  const tick = setInterval(() => {
    counters.write(false);
    if (process.ppid !== parent) stop();
  }, 1000);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  counters.write(false);
  return { server, counters };
}
