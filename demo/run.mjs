#!/usr/bin/env node
// Runs the demo: starts every service as its own process group with the right
// environment, waits for /healthz, optionally drives load, and tears it all
// down on SIGINT/SIGTERM or when a finite load run is done.
//
//   node demo/run.mjs                      services only, until Ctrl-C
//   node demo/run.mjs --load [--rate 50] [--duration 10 | --count N]
//        [--concurrency 8] [--no-traceparent-fraction 0.1] [--seed 1]
//   common: [--state-dir DIR] [--port-base 18080] [--verbose]
//   node demo/run.mjs --expect --state-dir DIR   print per-edge expectations as JSON
//
// --load without --duration/--count runs the load until Ctrl-C. The state dir
// (default: a new temp dir) receives <service>.json counters, loadgen.json and
// run.json (pids and ports of this run), and rates' TLS certificate.
// PostgreSQL and Redis (databases.mjs) start first when installed, unless
// --no-databases; without them the demo runs without those two edges.

import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import {
  SERVICES, LOADGEN, HOST, DEFAULT_PORT_BASE, ports, processEnv, command,
} from './topology.mjs';
import { computeExpectations } from './expect.mjs';
import { nginxCommand } from './nginx-proxy.mjs';
import { databasesUnavailable, startDatabases } from './databases.mjs';

const USAGE = `usage: node demo/run.mjs [--load] [--rate 50] [--duration S | --count N] [--concurrency 8]
  [--no-traceparent-fraction 0.1] [--seed 1] [--state-dir DIR] [--port-base 18080] [--verbose]
  [--no-propagation] [--proxy] [--no-databases]
       node demo/run.mjs --expect --state-dir DIR
--no-propagation: no service sends trace headers (loadgen included); --proxy: loadgen goes
through nginx (port base + 5, keep-alive pool to frontend); --no-databases: do not start
PostgreSQL (port base + 10) and Redis (port base + 11), so orders and inventory use neither.\n`;

let parsed;
try {
  parsed = parseArgs({ options: {
    help: { type: 'boolean', default: false },
    load: { type: 'boolean', default: false },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string' },
    count: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    'no-traceparent-fraction': { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '1' },
    'state-dir': { type: 'string' },
    'port-base': { type: 'string', default: String(DEFAULT_PORT_BASE) },
    verbose: { type: 'boolean', default: false },
    expect: { type: 'boolean', default: false },
    'no-propagation': { type: 'boolean', default: false },
    proxy: { type: 'boolean', default: false },
    'no-databases': { type: 'boolean', default: false },
  } });
} catch (err) {
  process.stderr.write(`run: ${err.message}\n${USAGE}`);
  process.exit(2);
}
const opt = parsed.values;
if (opt.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

if (opt.expect) {
  if (!opt['state-dir']) {
    process.stderr.write('run: --expect needs --state-dir\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(computeExpectations(path.resolve(opt['state-dir'])), null, 2) + '\n');
  process.exit(0);
}

const portBase = Number(opt['port-base']);
const stateDir = path.resolve(opt['state-dir'] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-demo-')));
fs.mkdirSync(stateDir, { recursive: true });
// Old counters from an earlier run would be mistaken for this one's.
for (const name of [...SERVICES.map((s) => s.name), 'loadgen', 'run']) fs.rmSync(path.join(stateDir, `${name}.json`), { force: true });

for (const name of [...SERVICES.map((s) => s.name), 'loadgen']) fs.rmSync(path.join(stateDir, `${name}.calls.jsonl`), { force: true });
// rates makes a fresh self-signed certificate when none is there: never reuse an old (maybe expired) one.
for (const f of ['rates-cert.pem', 'rates-key.pem']) fs.rmSync(path.join(stateDir, f), { force: true });
// Services read DEMO_PROPAGATION from the environment processEnv() copies.
if (opt['no-propagation']) process.env.DEMO_PROPAGATION = 'off';
else delete process.env.DEMO_PROPAGATION;
const PROXY = { name: 'nginx', language: 'nginx' };

const log = (msg) => process.stdout.write(`demo: ${msg}\n`);
const children = new Map(); // name -> ChildProcess
let shuttingDown = false;
let dbs; // databases.mjs handle, when PostgreSQL and Redis run
let dbsStarting; // its promise, so a Ctrl-C during their start still stops them
async function stopDatabases() {
  const d = dbs ?? (await dbsStarting?.catch(() => undefined));
  await d?.stop();
}
// Every service gets these on top of processEnv(): where rates keeps its
// certificate (and orders finds it), and the datastores' ports when they run.
const extraEnv = { DEMO_TLS_DIR: stateDir };

/** Starts one demo process in its own process group, its output prefixed with its name. */
function start(s, extraArgs = []) {
  const [exe, args] = s === PROXY
    ? nginxCommand({ listenPort: portBase + 5, upstreamPort: portBase, dir: path.join(stateDir, 'nginx') })
    : command(s, extraArgs);
  const child = spawn(exe, args, {
    env: processEnv(s, { portBase, stateDir, verbose: opt.verbose, baseEnv: { ...process.env, ...extraEnv } }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so teardown can signal the whole group
  });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[${s.name}] ${line}\n`));
  }
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.exited.then(({ code, signal }) => {
    children.delete(s.name);
    if (!shuttingDown && s !== LOADGEN) {
      process.stderr.write(`demo: ${s.name} exited unexpectedly (code ${code}, signal ${signal})\n`);
      shutdown(1);
    }
  });
  children.set(s.name, child);
  return child;
}

function signalGroup(child, sig) {
  try { process.kill(-child.pid, sig); } catch { /* already gone */ }
}

/** SIGTERM a process group, SIGKILL it if it is still there after 5 s. */
async function stopChild(child) {
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
  await child.exited;
  clearTimeout(timer);
  signalGroup(child, 'SIGKILL'); // anything the child itself left in its group
}

async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  // The load generator first, so it can record its last answers; then the services.
  const lg = children.get(LOADGEN.name);
  if (lg) await stopChild(lg);
  await Promise.all([...children.values()].map(stopChild));
  await stopDatabases(); // after their clients, so PostgreSQL has no session left
  log(`stopped; state in ${stateDir}`);
  process.exit(code);
}

// Last resort if the runner itself dies on an exception: no orphans.
process.on('exit', () => {
  for (const c of children.values()) signalGroup(c, 'SIGKILL');
  dbs?.kill();
});
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

/** True when /healthz on `port` answers 200 from process `pid` (not some other server on that port). */
function healthy(port, pid) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/healthz', agent: false, timeout: 1000, headers: { 'user-agent': 'wiretrace-demo-runner' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        try { resolve(res.statusCode === 200 && JSON.parse(body).pid === pid); } catch { resolve(false); }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** True when GET /healthz on `port` answers 200 (nginx answers it itself). */
function healthyStatus(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/healthz', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** True when /healthz over TLS answers 200 from process `pid` (rates: self-signed, so not verified here). */
function healthyTls(port, pid) {
  return new Promise((resolve) => {
    const req = https.get({ host: HOST, port, path: '/healthz', agent: false, timeout: 1000, rejectUnauthorized: false, headers: { 'user-agent': 'wiretrace-demo-runner' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        try { resolve(res.statusCode === 200 && JSON.parse(body).pid === pid); } catch { resolve(false); }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * True when `port` accepts a TCP connection while `child` is alive
 * (gRPC shipping has no /healthz; it binds its port only once it serves, and
 * a taken port makes it exit, which the runner notices).
 */
function accepting(port, child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null) return resolve(false);
    const s = net.connect(port, HOST);
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.once('connect', () => { s.destroy(); resolve(child.exitCode === null); });
    s.once('error', () => resolve(false));
  });
}

/** The readiness check of one service, by what it speaks. */
function ready(s, port) {
  const child = children.get(s.name);
  if (s.protocol === 'grpc') return accepting(port, child);
  if (s.protocol === 'https') return healthyTls(port, child?.pid);
  return healthy(port, child?.pid);
}

async function waitFor(name, check, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${name} did not become ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Once teardown has begun, the main flow must not go on (shutdown exits).
const halted = () => new Promise(() => {});

async function waitHealthy(s, port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (shuttingDown) await halted();
    if (await ready(s, port)) return;
    if (Date.now() > deadline) throw new Error(`${s.name} did not ${s.protocol === 'grpc' ? 'accept connections' : 'answer /healthz'} on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const portOf = ports(portBase);
// The datastores first: orders and inventory read their ports at start.
const noDatabases = opt['no-databases'] ? 'disabled by --no-databases' : databasesUnavailable();
if (noDatabases) {
  log(`no PostgreSQL/Redis (${noDatabases}): running without the orders -> postgres and inventory -> redis-server edges`);
} else {
  try {
    dbsStarting = startDatabases({ portBase, log });
    dbs = await dbsStarting;
    Object.assign(extraEnv, dbs.env);
  } catch (err) {
    // Partly started servers were stopped by startDatabases itself.
    log(`PostgreSQL/Redis did not start (${err.message}): running without the orders -> postgres and inventory -> redis-server edges`);
    dbs = undefined;
  }
}
if (shuttingDown) await halted();
// rates first, so its certificate exists before anything could call it
// (orders only reads it at its first call, after every service is ready).
for (const s of [...SERVICES].sort((a, b) => (b.name === 'rates') - (a.name === 'rates'))) start(s);
if (opt.proxy) {
  const nginx = start(PROXY);
  try {
    await waitFor('nginx', () => healthyStatus(portBase + 5));
  } catch (err) {
    process.stderr.write(`demo: ${err.message}\n`);
    await shutdown(1);
  }
  log(`nginx     proxy  pid ${String(nginx.pid).padEnd(7)} http://${HOST}:${portBase + 5} -> frontend (keepalive pool)`);
}
try {
  await Promise.all(SERVICES.map((s) => waitHealthy(s, portOf[s.name])));
} catch (err) {
  process.stderr.write(`demo: ${err.message}\n`);
  await shutdown(1);
}
if (shuttingDown) await halted();

const run = {
  startedAtUs: Date.now() * 1000, portBase, stateDir,
  services: SERVICES.map((s) => ({
    name: s.name, language: s.language, pid: children.get(s.name)?.pid, port: portOf[s.name],
    url: `${s.protocol === 'grpc' ? 'grpc' : s.protocol === 'https' ? 'https' : 'http'}://${HOST}:${portOf[s.name]}`,
    protocol: s.protocol, naming: s.naming, expectedName: s.expectedName,
  })),
  // null when PostgreSQL and Redis did not run (expect.mjs then predicts no datastore edge).
  databases: dbs ? { postgres: { port: dbs.pgPort, pid: dbs.pids.postgres }, redis: { port: dbs.redisPort, pid: dbs.pids.redis } } : null,
  loadgen: null,
  proxy: opt.proxy ? { name: 'nginx', pid: children.get('nginx')?.pid, port: portBase + 5 } : null,
  propagation: !opt['no-propagation'],
};
for (const s of run.services) {
  log(`${s.name.padEnd(9)} ${s.language.padEnd(6)} pid ${String(s.pid).padEnd(7)} ${s.url.padEnd(22)} (name from ${s.naming === 'derived' ? 'command line' : s.naming})`);
}
log(`state dir ${stateDir}`);

if (!opt.load) {
  fs.writeFileSync(path.join(stateDir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  log('ready; Ctrl-C to stop');
} else {
  const out = path.join(stateDir, 'loadgen.json');
  const target = opt.proxy ? `http://${HOST}:${portBase + 5}` : run.services[0].url;
  const noTp = opt['no-propagation'] ? '1' : opt['no-traceparent-fraction'];
  const args = ['--rate', opt.rate, '--concurrency', opt.concurrency, '--target', target,
    '--no-traceparent-fraction', noTp, '--seed', opt.seed, '--out', out];
  if (opt.duration !== undefined) args.push('--duration', opt.duration);
  if (opt.count !== undefined) args.push('--count', opt.count);
  const lg = start(LOADGEN, args);
  run.loadgen = { pid: lg.pid, out };
  fs.writeFileSync(path.join(stateDir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  log(`ready; loadgen (pid ${lg.pid}) at ${opt.rate} req/s ${opt.duration ? `for ${opt.duration} s` : opt.count ? `for ${opt.count} requests` : 'until Ctrl-C'}`);
  const { code } = await lg.exited;
  if (!shuttingDown) {
    if (code !== 0) process.stderr.write(`demo: loadgen exited with code ${code}\n`);
    await shutdownAndSummarize(code === 0 ? 0 : 1);
  }
}

/** After a finite load run: stop the services, then check the counts. */
async function shutdownAndSummarize(code) {
  shuttingDown = true;
  await Promise.all([...children.values()].map(stopChild));
  await stopDatabases();
  const report = computeExpectations(stateDir);
  for (const e of report.edges) log(`${`${e.client} -> ${e.server}`.padEnd(26)} ${String(e.calls).padStart(6)}  ${JSON.stringify(e.byStatus)}`);
  for (const p of report.problems) log(`PROBLEM ${p}`);
  log(`${report.ok ? 'counts consistent' : 'counts INCONSISTENT'}; state in ${stateDir}`);
  log(`per-edge JSON: node ${path.relative(process.cwd(), process.argv[1]) || 'demo/run.mjs'} --expect --state-dir ${stateDir}`);
  process.exit(report.ok ? code : 1);
}
