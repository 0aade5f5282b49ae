// Private, throwaway database servers for the demo: PostgreSQL (orders are
// recorded there) and Redis (inventory caches stock there), each on a
// loopback port next to the services'; PostgreSQL's data in a temp dir
// removed on stop. run.mjs starts them before the services (unless
// --no-databases or the binaries are missing); see demo/DATABASES.md.
//
//   const dbs = await startDatabases({ portBase });   // { env, pgPort, redisPort, stop(), kill() }
//   ...spawn services with { ...env, ...dbs.env } ...
//   await dbs.stop();

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NAME_VARS } from './topology.mjs';

export const PG_PORT_OFFSET = 10;
export const REDIS_PORT_OFFSET = 11;
const PG_VERSIONS = ['17', '16', '15', '14', '13'];

/** Why the databases cannot run here (missing binaries), or undefined. */
export function databasesUnavailable() {
  if (!pgBin()) return 'PostgreSQL server binaries are missing (apt-get install postgresql)';
  if (!fs.existsSync('/usr/bin/redis-server')) return 'redis-server is missing (apt-get install redis-server)';
  return undefined;
}

function pgBin() {
  return PG_VERSIONS.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(path.join(d, 'postgres')));
}

function waitForPort(port, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port}`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

/**
 * Starts PostgreSQL (database `shop`, table `orders`, trust auth on
 * loopback; run as the postgres user since it refuses root) and Redis
 * (no persistence). Resolves once both accept connections.
 */
export async function startDatabases({ portBase, log = () => {} }) {
  const why = databasesUnavailable();
  if (why) throw new Error(why);
  const bin = pgBin();
  const pgPort = portBase + PG_PORT_OFFSET;
  const redisPort = portBase + REDIS_PORT_OFFSET;
  // Its own directory, not under the state dir: the postgres user must be
  // able to reach it, and state dirs are private (mkdtemp makes them 0700).
  const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-demo-pg-'));
  fs.mkdirSync(path.join(pgDir, 'data'));
  fs.chmodSync(pgDir, 0o755);
  const asPostgres = process.getuid?.() === 0 ? (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : (cmd, args) => [cmd, args];
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', pgDir]);
  execFileSync(...asPostgres(path.join(bin, 'initdb'), ['-D', path.join(pgDir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']), { stdio: 'ignore' });
  const children = [];
  // No naming variable from the caller's shell may name these servers
  // (the agent would read it from their environment).
  const env = { ...process.env };
  for (const v of NAME_VARS) delete env[v];
  const exited = (c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)));
  let stopped = false;
  const kill = () => {
    for (const c of children) {
      // Only groups whose leader has not been reaped: a gone group's id may be reused.
      if (c.exitCode !== null || c.signalCode !== null) continue;
      try { process.kill(-c.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for clients);
    // redis-server exits on either. Each runs in its own process group.
    for (const [c, sig] of children.map((c, i) => [c, i === 0 ? 'SIGINT' : 'SIGTERM'])) {
      try { process.kill(-c.pid, sig); } catch { /* already gone */ }
    }
    const timer = setTimeout(kill, 5000);
    await Promise.all(children.map(exited));
    clearTimeout(timer);
    fs.rmSync(pgDir, { recursive: true, force: true });
  };
  try {
    const [pgCmd, pgArgs] = asPostgres(path.join(bin, 'postgres'), ['-D', path.join(pgDir, 'data'), '-k', pgDir, '-p', String(pgPort), '-h', '127.0.0.1', '-c', 'fsync=off']);
    children.push(spawn(pgCmd, pgArgs, { stdio: 'ignore', detached: true, env }));
    children.push(spawn('/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore', detached: true, env }));
    for (const c of children) c.on('error', () => {}); // reported as "nothing listens" below
    await Promise.all([waitForPort(pgPort), waitForPort(redisPort)]);
    // A server left over on the same port would answer while ours failed to bind.
    for (const [c, what] of [[children[0], 'postgres'], [children[1], 'redis-server']]) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${what} exited at start (is its port taken?)`);
    }
    // Schema: created once, before the services start (through psql, so this one-off is not a demo span).
    const psql = path.join(bin, 'psql');
    const sql = (db, q) => execFileSync(psql, ['-X', '-q', '-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', db, '-c', q], { stdio: 'ignore', env });
    for (let i = 0; ; i++) {
      try { sql('postgres', 'CREATE DATABASE shop'); break; } catch (err) { if (i > 40) throw err; await new Promise((r) => setTimeout(r, 250)); }
    }
    sql('shop', 'CREATE TABLE orders (id bigserial PRIMARY KEY, item int NOT NULL, status int NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
  } catch (err) {
    await stop();
    throw err;
  }
  log(`postgres  db     port ${pgPort} (database shop)`);
  log(`redis     cache  port ${redisPort}`);
  return {
    pgPort,
    redisPort,
    pids: { postgres: children[0].pid, redis: children[1].pid },
    env: { DEMO_PG_PORT: String(pgPort), DEMO_REDIS_PORT: String(redisPort) },
    stop,
    /** Last resort (the runner is exiting on an exception): SIGKILL both groups now, synchronously. */
    kill,
  };
}
