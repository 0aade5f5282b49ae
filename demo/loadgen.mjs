#!/usr/bin/env node
// Load generator for the demo: sends a deterministic mix of /checkout and
// /browse requests to the frontend at a fixed rate and records every request
// as ground truth for tests.
//
//   node demo/loadgen.mjs [--rate 20] [--duration 10 | --count N]
//     [--target http://127.0.0.1:18080] [--concurrency 8] [--out FILE]
//     [--no-traceparent-fraction 0.1] [--seed 1]
//
// Without --duration or --count it runs until SIGINT/SIGTERM, then waits for
// requests in flight and writes its output. Without --out the JSON goes to
// stdout; a one-line summary always goes to stderr.
//
// Naming: the agent names processes from their environment, so whoever starts
// this script should set OTEL_SERVICE_NAME=loadgen (demo/run.mjs does). Left
// unset, the agent falls back to the command line, which also reads "loadgen".
//
// The mix, by request number i (only the trace ids are random):
//   - every 5th request (i % 5 == 4) is GET /browse?page=1..4, the rest are
//     GET /checkout?item=N where the k-th checkout uses N = (7k mod 40) + 1,
//     so every 40 checkouts visit items 1..40 once (see topology.mjs itemOutcome);
//   - every 4th request (i % 4 == 3) goes on a new connection with
//     `Connection: close`; the others share a keep-alive pool;
//   - a seeded fraction carries no trace header at all; the rest carry a fresh
//     W3C traceparent (random trace id, sampled), every 3rd of those also a
//     tracestate.

import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';

const USAGE = `usage: node demo/loadgen.mjs [--rate 20] [--duration S | --count N] [--target URL]
  [--concurrency 8] [--out FILE] [--no-traceparent-fraction 0.1] [--seed 1] [--timeout-ms 10000]
Runs until SIGINT/SIGTERM without --duration or --count. Start it with OTEL_SERVICE_NAME=loadgen.\n`;

let parsed;
try {
  parsed = parseArgs({ options: {
    help: { type: 'boolean', default: false },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string' },
    count: { type: 'string' },
    target: { type: 'string', default: `http://127.0.0.1:${process.env.FRONTEND_PORT ?? 18080}` },
    concurrency: { type: 'string', default: '8' },
    out: { type: 'string' },
    'no-traceparent-fraction': { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '10000' },
  } });
} catch (err) {
  process.stderr.write(`loadgen: ${err.message}\n${USAGE}`);
  process.exit(2);
}
const opt = parsed.values;
if (opt.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const rate = Number(opt.rate);
const concurrency = Number(opt.concurrency);
const noTpFraction = Number(opt['no-traceparent-fraction']);
const timeoutMs = Number(opt['timeout-ms']);
const target = new URL(opt.target);
const count = opt.count !== undefined ? Number(opt.count)
  : opt.duration !== undefined ? Math.round(Number(opt.duration) * rate)
  : Infinity;
if (!(rate > 0) || !(concurrency >= 1) || !(count >= 0) || !(noTpFraction >= 0 && noTpFraction <= 1)) {
  process.stderr.write('loadgen: bad options (need --rate > 0, --concurrency >= 1, 0 <= --no-traceparent-fraction <= 1)\n');
  process.exit(2);
}

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const hex = (n) => crypto.randomBytes(n).toString('hex');

// Small seeded PRNG (mulberry32) so the header-less requests are the same
// ones on every run with the same --seed.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(Number(opt.seed));

let checkouts = 0;
/** What request i is, apart from its random ids. */
function plan(i) {
  const path = i % 5 === 4
    ? `/browse?page=${(Math.floor(i / 5) % 4) + 1}`
    : `/checkout?item=${((checkouts++ * 7) % 40) + 1}`;
  return {
    path,
    fresh: i % 4 === 3,
    traced: random() >= noTpFraction,
  };
}

// Free pooled sockets are closed after 4 s, before the frontend's 5 s
// keep-alive timeout, so a request never races the server's close.
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: concurrency, timeout: 4000 });

const records = [];
function send(i) {
  const p = plan(i);
  const rec = {
    seq: i, method: 'GET', path: p.path, route: p.path.split('?')[0],
    traceId: null, spanId: null, tracestate: null,
    connection: p.fresh ? 'new' : 'keep-alive',
    status: null, error: null, traceresponse: null, startUs: 0, endUs: 0,
    // Ground truth: the id every hop of this request logs as its parent call.
    call: `loadgen-${process.pid}-${i}`,
  };
  records.push(rec);
  const headers = { accept: 'application/json', 'user-agent': 'wiretrace-demo-loadgen/1', 'x-demo-call': rec.call };
  if (p.traced) {
    rec.traceId = hex(16);
    rec.spanId = hex(8);
    headers.traceparent = `00-${rec.traceId}-${rec.spanId}-01`;
    if (i % 3 === 0) headers.tracestate = rec.tracestate = `loadgen=r${i}`;
  }
  if (p.fresh) headers.connection = 'close';
  return new Promise((resolve) => {
    const finish = (status, error) => {
      if (rec.endUs) return;
      rec.endUs = nowUs();
      rec.status = status;
      rec.error = error;
      resolve();
    };
    rec.startUs = nowUs();
    const req = http.request({
      host: target.hostname, port: target.port || 80, method: 'GET', path: p.path, headers,
      agent: p.fresh ? false : keepAlive,
    }, (res) => {
      rec.traceresponse = res.headers.traceresponse ?? null;
      res.resume(); // read the body fully so the socket can be reused
      res.on('end', () => finish(res.statusCode, null));
      res.on('error', (e) => finish(null, e.code ?? e.message));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => finish(null, e.code ?? e.message));
    req.end();
  });
}

// Stop on a signal: no new requests, but wait for those in flight.
let stopping = false;
let wake = () => {};
const stop = () => { stopping = true; wake(); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const pause = (ms) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  wake = () => { clearTimeout(t); resolve(); };
});

const startedAtUs = nowUs();
const t0 = performance.now();
const inFlight = new Set();
// Open-loop schedule: request i is due at t0 + i/rate; at the concurrency
// limit the next request waits for a slot (and simply goes out late).
for (let i = 0; i < count && !stopping; i++) {
  const due = t0 + (i * 1000) / rate;
  if (due > performance.now()) await pause(due - performance.now());
  while (inFlight.size >= concurrency && !stopping) await Promise.race(inFlight);
  if (stopping) break;
  const pr = send(i).then(() => inFlight.delete(pr));
  inFlight.add(pr);
}
await Promise.all(inFlight);
keepAlive.destroy();

const totals = { sent: records.length, completed: 0, failed: 0, withTraceparent: 0, byPath: {}, byStatus: {} };
for (const r of records) {
  const s = r.status ?? 'error';
  if (r.status == null) totals.failed += 1;
  else totals.completed += 1;
  if (r.traceId) totals.withTraceparent += 1;
  totals.byStatus[s] = (totals.byStatus[s] ?? 0) + 1;
  const byPath = (totals.byPath[r.route] ??= {});
  byPath[s] = (byPath[s] ?? 0) + 1;
}
const doc = {
  tool: 'loadgen', target: target.href, rate, concurrency,
  noTraceparentFraction: noTpFraction, seed: Number(opt.seed),
  pid: process.pid, startedAtUs, endedAtUs: nowUs(), totals, requests: records,
};
const text = JSON.stringify(doc, null, 1) + '\n';
if (opt.out) {
  fs.writeFileSync(`${opt.out}.tmp`, text);
  fs.renameSync(`${opt.out}.tmp`, opt.out);
} else {
  process.stdout.write(text);
}
const secs = ((doc.endedAtUs - startedAtUs) / 1e6).toFixed(1);
process.stderr.write(`loadgen: ${totals.sent} requests in ${secs}s, ${totals.failed} failed, by status ${JSON.stringify(totals.byStatus)}\n`);
