/**
 * MySQL protocol from the wire: a private, throwaway MariaDB server on a
 * loopback port, driven by the real mariadb client (text protocol,
 * COM_INIT_DB) and Perl's DBD::MariaDB with server-side prepared statements
 * (COM_STMT_PREPARE/EXECUTE), while the real agent captures with eBPF.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ebpfUnavailable, requireBuilt, run, startAgent, stop, tempDir, waitFor, type AgentHandle, type RunningProcess } from './helpers.js';
import { findBinary, runClient, spansOf, type FoundSpan } from './postgres-redis-helpers.js';

const PORT = 19203;
const SERVER = findBinary(['/usr/sbin/mariadbd', '/usr/sbin/mysqld']);
const INSTALL = findBinary(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db']);
const CLIENT = findBinary(['/usr/bin/mariadb', '/usr/bin/mysql']);
const missing = !SERVER || !INSTALL || !CLIENT ? 'MariaDB server/client are not installed (apt-get install mariadb-server mariadb-client; scripts/setup.sh does)' : undefined;
const DBD = fs.existsSync('/usr/lib/x86_64-linux-gnu/perl5/5.36/DBD/MariaDB.pm') || fs.existsSync('/usr/share/perl5/DBD/MariaDB.pm');
const skipReason = ebpfUnavailable() ?? missing;
if (missing) console.log(`# skipping MySQL capture tests: ${missing}`);

describe('MySQL protocol capture (eBPF, real MariaDB server and clients)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let server: RunningProcess | undefined;
  let dir: string;
  let client: FoundSpan[] = [];
  let perl: FoundSpan[] = [];
  let serverSpans: FoundSpan[] = [];
  const sql = (args: string[], allowFailure = false): Promise<{ code: number; stdout: string; stderr: string }> =>
    runClient(CLIENT as string, ['--no-defaults', '-h', '127.0.0.1', '-P', String(PORT), '-u', 'root', ...args], { allowFailure });

  before(async () => {
    requireBuilt();
    agent = await startAgent(['--port', String(PORT)]);
    dir = tempDir('wiretrace-mysql-');
    fs.chmodSync(dir, 0o755);
    await runClient('chown', ['mysql:mysql', dir]);
    const data = path.join(dir, 'data');
    await runClient(INSTALL as string, [`--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db']);
    // Grant tables skipped: the handshake still runs, no account set-up is needed.
    server = run('runuser', ['-u', 'mysql', '--', SERVER as string, '--no-defaults', `--datadir=${data}`, `--port=${PORT}`, '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'sock')}`, '--skip-grant-tables', '--innodb-buffer-pool-size=16M', '--skip-log-bin']);
    await waitFor('mariadbd to accept connections', async () => {
      if (server?.child.exitCode !== null) throw new Error(`mariadbd exited: ${server?.stderr().slice(-2000)}`);
      const r = await sql(['-e', 'SELECT 1'], true);
      if (r.code !== 0) throw new Error(`${r.stderr.trim()} ${server?.stderr().slice(-600)}`);
      return true;
    });
    await sql(['-e', 'CREATE DATABASE shop']);
    await sql(['-D', 'shop', '-e', "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40)); INSERT INTO items VALUES (1, 'secret-widget'), (2, 'gadget')"]);
    await sql(['-D', 'shop', '-e', 'SELECT name FROM items WHERE id = 1']);
    assert.notEqual((await sql(['-D', 'shop', '-e', 'SELECT * FROM nosuch'], true)).code, 0);
    if (DBD) {
      const script =
        `my $d = DBI->connect("DBI:MariaDB:database=shop;host=127.0.0.1;port=${PORT};mariadb_server_prepare=1", "root", "", {RaiseError=>1, PrintError=>0});` +
        'my $s = $d->prepare("SELECT name FROM items WHERE id = ?"); for my $i (1, 2) { $s->execute($i); while (my @r = $s->fetchrow_array) {} }' +
        '$s->finish; $d->disconnect;';
      await runClient('perl', ['-MDBI', '-e', script]);
    }
    await waitFor(
      'the mariadb client and server spans',
      async () => {
        client = (await spansOf(agent.url, 'mariadb')).filter((s) => s.service === 'mariadb' && s.kind === 'client');
        perl = DBD ? (await spansOf(agent.url, 'perl')).filter((s) => s.service === 'perl' && s.kind === 'client') : [];
        serverSpans = (await spansOf(agent.url, 'mariadbd')).filter((s) => s.service === 'mariadbd' && s.kind === 'server');
        const nosuch = client.some((s) => s.tags['db.query.text'] === 'SELECT * FROM nosuch');
        const executes = perl.filter((s) => s.tags['db.operation.name'] === 'SELECT').length;
        return nosuch && (!DBD || executes >= 2) && serverSpans.length >= 5 ? true : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; mariadb ${JSON.stringify(client.map((s) => s.tags['db.query.text']))}; perl ${JSON.stringify(perl.map((s) => s.name))}`);
    });
  });

  after(async () => {
    if (server) await stop(server);
    if (agent) await stop(agent.proc);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const byQuery = (spans: FoundSpan[], text: string): FoundSpan | undefined => spans.find((s) => s.tags['db.query.text'] === text);

  test('text-protocol queries: operation, sanitised statement, rows, database, peer', () => {
    const insert = byQuery(client, 'INSERT INTO items VALUES (?, ?), (?, ?)');
    assert.ok(insert, JSON.stringify(client.map((s) => s.tags['db.query.text'])));
    assert.equal(insert.name, 'INSERT shop');
    assert.equal(insert.tags['db.system.name'], 'mysql');
    assert.equal(insert.tags['db.namespace'], 'shop');
    assert.equal(insert.tags['db.response.returned_rows'], 2);
    assert.equal(insert.tags['peer.service'], 'mariadbd');
    const select = byQuery(client, 'SELECT name FROM items WHERE id = ?');
    assert.equal(select?.tags['db.response.returned_rows'], 1);
  });

  test('an error carries the MySQL errno', () => {
    const nosuch = byQuery(client, 'SELECT * FROM nosuch');
    assert.equal(nosuch?.tags['db.response.status_code'], '1146');
    assert.equal(nosuch?.tags['error'], true);
    assert.equal(byQuery(serverSpans, 'SELECT * FROM nosuch')?.tags['db.response.status_code'], '1146');
  });

  test('server-side prepared statements: each execute shows the prepared text', { skip: DBD ? false : 'Perl DBD::MariaDB is not installed (libdbd-mariadb-perl; scripts/setup.sh installs it)' }, () => {
    const executes = perl.filter((s) => s.tags['db.operation.name'] === 'SELECT');
    assert.equal(executes.length, 2, JSON.stringify(perl.map((s) => [s.name, s.tags['db.query.text']])));
    for (const s of executes) {
      assert.equal(s.tags['db.query.text'], 'SELECT name FROM items WHERE id = ?');
      assert.equal(s.tags['db.response.returned_rows'], 1);
    }
    assert.ok(perl.some((s) => s.tags['db.operation.name'] === 'PREPARE'));
  });

  test('no literal reaches the store', () => {
    for (const s of [...client, ...perl, ...serverSpans]) {
      const text = JSON.stringify(s.tags);
      for (const secret of ['secret-widget', 'gadget']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });
});
