/**
 * PostgreSQL from the wire: a private, throwaway PostgreSQL server on a
 * loopback port, driven by the real psql (simple protocol, with its
 * SSLRequest refused) and pgbench (extended protocol, named prepared
 * statements), while the real agent captures with eBPF. The spans must say
 * what the clients did: operation, sanitised statement, rows, SQLSTATE of
 * failures, database as namespace, client and server services.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ebpfUnavailable, requireBuilt, run, startAgent, stop, tempDir, waitFor, type AgentHandle, type RunningProcess } from './helpers.js';
import { findBinary, runClient, spansOf, type FoundSpan } from './postgres-redis-helpers.js';

const PORT = 19201;
const PG_BIN = ['17', '16', '15', '14', '13'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(path.join(d, 'postgres')));
const missing = PG_BIN === undefined ? 'PostgreSQL server binaries are not installed (apt-get install postgresql; scripts/setup.sh does)' : undefined;
const skipReason = ebpfUnavailable() ?? missing;
if (missing) console.log(`# skipping PostgreSQL capture tests: ${missing}`);

describe('PostgreSQL capture (eBPF, real server and clients)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let server: RunningProcess | undefined;
  let dataDir: string;
  let client: FoundSpan[] = [];
  let serverSpans: FoundSpan[] = [];
  let bench: FoundSpan[] = [];
  const bin = (name: string): string => findBinary([path.join(PG_BIN as string, name), `/usr/bin/${name}`]) ?? name;
  const psql = (db: string, sql: string, allowFailure = false): Promise<{ code: number; stdout: string; stderr: string }> =>
    runClient(bin('psql'), ['-X', '-h', '127.0.0.1', '-p', String(PORT), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql], { allowFailure });

  before(async () => {
    requireBuilt();
    agent = await startAgent(['--port', String(PORT)]);
    // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
    dataDir = tempDir('wiretrace-pg-');
    fs.chmodSync(dataDir, 0o755);
    const pgdata = path.join(dataDir, 'data');
    fs.mkdirSync(pgdata);
    await runClient('chown', ['-R', 'postgres:postgres', dataDir]);
    await runClient('runuser', ['-u', 'postgres', '--', bin('initdb'), '-D', pgdata, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    server = run('runuser', ['-u', 'postgres', '--', bin('postgres'), '-D', pgdata, '-k', dataDir, '-p', String(PORT), '-h', '127.0.0.1', '-c', 'fsync=off', '-c', 'ssl=off']);
    await waitFor('postgres to accept connections', async () => {
      if (server?.child.exitCode !== null) throw new Error(`postgres exited: ${server?.stderr()}`);
      const r = await runClient(bin('pg_isready'), ['-h', '127.0.0.1', '-p', String(PORT)], { allowFailure: true });
      return r.code === 0 ? true : undefined;
    });

    await psql('postgres', 'CREATE DATABASE shop');
    await psql('shop', 'CREATE TABLE items (id int PRIMARY KEY, name text)');
    await psql('shop', "INSERT INTO items VALUES (1, 'secret-widget'), (2, 'gadget')");
    await psql('shop', "SELECT name FROM items WHERE id = 1 AND name <> 'hidden-literal'");
    const syntax = await psql('shop', 'SELEC 1', true);
    assert.notEqual(syntax.code, 0);
    const noTable = await psql('shop', 'SELECT * FROM nosuch WHERE id = 7', true);
    assert.notEqual(noTable.code, 0);
    // Extended protocol with named prepared statements: one Parse, three Bind/Execute.
    const script = path.join(dataDir, 'bench.sql');
    fs.writeFileSync(script, '\\set id 2\nSELECT name FROM items WHERE id = :id;\n');
    await runClient(bin('pgbench'), ['-h', '127.0.0.1', '-p', String(PORT), '-U', 'postgres', '-n', '-M', 'prepared', '-t', '3', '-f', script, 'shop']);

    await waitFor(
      'the psql, postgres and pgbench spans',
      async () => {
        client = (await spansOf(agent.url, 'psql')).filter((s) => s.service === 'psql' && s.kind === 'client');
        serverSpans = (await spansOf(agent.url, 'postgres')).filter((s) => s.service === 'postgres' && s.kind === 'server');
        bench = (await spansOf(agent.url, 'pgbench')).filter((s) => s.service === 'pgbench' && s.kind === 'client');
        const benchSelects = bench.filter((s) => s.tags['db.operation.name'] === 'SELECT');
        return client.length >= 6 && serverSpans.length >= 10 && benchSelects.length >= 3 ? true : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; psql ${JSON.stringify(client.map((s) => s.name))}, postgres ${serverSpans.length}, pgbench ${JSON.stringify(bench.map((s) => s.name))}`);
    });
  });

  after(async () => {
    if (server) await stop(server);
    if (agent) await stop(agent.proc);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const byQuery = (spans: FoundSpan[], text: string): FoundSpan | undefined => spans.find((s) => s.tags['db.query.text'] === text);

  test('simple queries from psql are client spans with operation, sanitised statement, rows and database', () => {
    const insert = byQuery(client, 'INSERT INTO items VALUES (?, ?), (?, ?)');
    assert.ok(insert, `INSERT span among ${JSON.stringify(client.map((s) => s.tags['db.query.text']))}`);
    assert.equal(insert.name, 'INSERT shop');
    assert.equal(insert.tags['db.system.name'], 'postgresql');
    assert.equal(insert.tags['db.operation.name'], 'INSERT');
    assert.equal(insert.tags['db.namespace'], 'shop');
    assert.equal(insert.tags['db.response.returned_rows'], 2);
    assert.equal(insert.tags['peer.service'], 'postgres');
    assert.equal(insert.tags['server.port'], PORT);
    assert.equal(insert.tags['error'], undefined);

    const select = byQuery(client, 'SELECT name FROM items WHERE id = ? AND name <> ?');
    assert.ok(select);
    assert.equal(select.tags['db.operation.name'], 'SELECT');
    assert.equal(select.tags['db.response.returned_rows'], 1);

    const create = byQuery(client, 'CREATE DATABASE shop');
    assert.ok(create);
    assert.equal(create.tags['db.namespace'], 'postgres', 'run while connected to the postgres database');
  });

  test('failed statements carry their SQLSTATE and an error status', () => {
    const syntax = byQuery(client, 'SELEC ?');
    assert.ok(syntax);
    assert.equal(syntax.tags['db.response.status_code'], '42601');
    assert.equal(syntax.tags['error'], true);
    assert.match(String(syntax.tags['otel.status_description']), /^42601: syntax error/);
    const noTable = byQuery(client, 'SELECT * FROM nosuch WHERE id = ?');
    assert.ok(noTable);
    assert.equal(noTable.tags['db.response.status_code'], '42P01');
    assert.match(String(noTable.tags['otel.status_description']), /relation "nosuch" does not exist/);
  });

  test('the server side sees the same statements as server spans of postgres', () => {
    const insert = byQuery(serverSpans, 'INSERT INTO items VALUES (?, ?), (?, ?)');
    assert.ok(insert);
    assert.equal(insert.tags['db.namespace'], 'shop');
    assert.equal(insert.tags['db.response.returned_rows'], 2);
    assert.equal(insert.tags['peer.service'], 'psql');
    const syntax = byQuery(serverSpans, 'SELEC ?');
    assert.equal(syntax?.tags['db.response.status_code'], '42601');
  });

  test('extended protocol: each Execute of a named prepared statement is a span with the Parse text', () => {
    const selects = bench.filter((s) => s.tags['db.operation.name'] === 'SELECT' && s.tags['db.query.text'] === 'SELECT name FROM items WHERE id = $1;');
    assert.equal(selects.length, 3, JSON.stringify(bench.map((s) => [s.name, s.tags['db.query.text']])));
    // pgbench prepares the statement in a round trip of its own (Parse, Sync) before executing it.
    const prepare = bench.find((s) => s.tags['db.operation.name'] === 'PREPARE');
    assert.equal(prepare?.tags['db.query.text'], 'SELECT name FROM items WHERE id = $1;');
    for (const s of selects) {
      assert.equal(s.name, 'SELECT shop');
      assert.equal(s.tags['db.response.returned_rows'], 1);
      assert.equal(s.tags['error'], undefined);
    }
  });

  test('no literal the clients sent reaches the store', () => {
    for (const s of [...client, ...serverSpans, ...bench]) {
      const text = JSON.stringify(s.tags);
      for (const secret of ['secret-widget', 'gadget', 'hidden-literal']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });
});
