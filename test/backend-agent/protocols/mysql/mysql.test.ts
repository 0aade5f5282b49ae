import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { detectMysql, detectMysqlOnPort, parseGreeting, parseHandshakeResponse } from '../../../../backend-agent/src/protocols/mysql/index.js';
import { WireHarness, loadFixture, replay } from '../db-harness.js';
import * as w from './wire.js';

const FIXTURE = loadFixture(new URL('./fixtures/mariadb.json', import.meta.url));

test('recorded MariaDB 10.11 sessions (mariadb CLI; Perl DBD::MariaDB with server-side prepares) from both ends', () => {
  const sel = 'SELECT name FROM items WHERE id = ?';
  const expected = [
    [{ op: 'CREATE', replied: true, text: 'CREATE DATABASE shop', rows: 1 }],
    [
      { op: 'CREATE', replied: true, text: 'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(?))', ns: 'shop', rows: 0 },
      { op: 'INSERT', replied: true, text: 'INSERT INTO items VALUES (?, ?), (?, ?)', ns: 'shop', rows: 2 },
    ],
    [
      { op: 'SELECT', replied: true, text: sel, ns: 'shop', rows: 1 },
      { op: 'SELECT', replied: true, text: 'SELECT * FROM nosuch', ns: 'shop', error: '1146' },
    ],
    [{ op: 'SELEC', replied: true, text: 'SELEC ?', ns: 'shop', error: '1064' }],
    [
      { op: 'SELECT', replied: true, text: 'SELECT DATABASE()', rows: 1 },
      { op: 'INIT_DB', replied: true, ns: 'shop' },
      { op: 'SELECT', replied: true, text: 'SELECT COUNT(*) FROM items WHERE name <> ?', ns: 'shop', rows: 1 },
    ],
    [
      { op: 'SET', replied: true, text: 'SET NAMES ?', ns: 'shop', rows: 0 },
      { op: 'SET', replied: true, text: 'SET character_set_server = ?', ns: 'shop', rows: 0 },
      { op: 'SET', replied: true, text: 'SET collation_connection = ?', ns: 'shop', rows: 0 },
      { op: 'SET', replied: true, text: 'SET collation_server = ?', ns: 'shop', rows: 0 },
      { op: 'PREPARE', replied: true, text: sel, ns: 'shop' },
      { op: 'SELECT', replied: true, text: sel, ns: 'shop', rows: 1 },
      { op: 'SELECT', replied: true, text: sel, ns: 'shop', rows: 1 },
      { op: 'PREPARE', replied: true, text: 'INSERT INTO items VALUES (?, ?)', ns: 'shop' },
      { op: 'INSERT', replied: true, text: 'INSERT INTO items VALUES (?, ?)', ns: 'shop', error: '1062' },
      { op: 'STMT_RESET', replied: true, ns: 'shop' },
    ],
  ];
  assert.equal(FIXTURE.length, expected.length);
  FIXTURE.forEach((conn, i) => {
    for (const observer of ['client', 'server'] as const) {
      const h = replay(conn, observer, 3306);
      assert.deepEqual(h.summary(), expected[i], `connection ${i} seen by the ${observer}`);
      assert.deepEqual(h.tracker.parseErrors(), { mysql: 0 });
    }
    for (const piece of [1, 6]) assert.deepEqual(replay(conn, 'client', 3306, piece).summary(), expected[i], `connection ${i} in pieces of ${piece}`);
  });
  const dup = replay(FIXTURE[5]!, 'client', 3306).done[8]!;
  assert.equal(dup.db?.errorMessage, "Duplicate entry '?' for key '?'", 'integrity errors quote values: all quoted parts hidden');
  const syntax = replay(FIXTURE[3]!, 'client', 3306).done[0]!;
  assert.equal(syntax.db?.errorMessage, "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '?' at line 1");
});

/** A connection through the handshake; `deprecateEof`: the newer result-set style both ends agreed on. */
function connected(deprecateEof: boolean, observer: 'client' | 'server' = 'client'): WireHarness {
  const caps = w.BASE_CAPS | (deprecateEof ? w.CAPS.DEPRECATE_EOF : 0);
  const h = new WireHarness(observer, 3306);
  h.send('server', w.greeting(caps));
  h.send('client', w.handshakeResponse(caps, 'app', 'scrambled-secret', 'shop'));
  h.send('server', w.ok(2));
  return h;
}

/** A two-column, two-row result set in either style. */
function resultSet(deprecateEof: boolean): Buffer {
  const parts = [w.columnCount(1, 2), w.columnDef(2, 'id'), w.columnDef(3, 'name')];
  let seq = 4;
  if (!deprecateEof) parts.push(w.eof(seq++));
  parts.push(w.textRow(seq++, '1', 'row-secret'), w.textRow(seq++, '2', 'b'));
  parts.push(deprecateEof ? w.okEnd(seq) : w.eof(seq));
  return Buffer.concat(parts);
}

for (const deprecateEof of [false, true]) {
  test(`handshake, queries, a result set, an error, USE and COM_INIT_DB (${deprecateEof ? 'OK' : 'EOF'}-terminated results)`, () => {
    const h = connected(deprecateEof);
    h.send('client', w.query("SELECT id, name FROM t WHERE name = 'secret-name' LIMIT 10"));
    h.send('server', resultSet(deprecateEof));
    h.send('client', w.query('INSERT INTO t VALUES (3, "x"), (4, "y")'));
    h.send('server', w.ok(1, 2));
    h.send('client', w.query('SELEC 1'));
    h.send('server', w.err(1, 1064, '42000', "You have an error in your SQL syntax; check the manual near 'SELEC 1' at line 1"));
    h.send('client', w.initDb('other'));
    h.send('server', w.ok(1));
    h.send('client', w.query('SELECT 1 FROM dual WHERE 1 = 0'));
    h.send('server', Buffer.concat(deprecateEof ? [w.columnCount(1, 1), w.columnDef(2, 'x'), w.okEnd(3)] : [w.columnCount(1, 1), w.columnDef(2, 'x'), w.eof(3), w.eof(4)]));
    h.send('client', w.query('use `third`'));
    h.send('server', w.ok(1));
    h.send('client', w.query("SELECT * FROM t WHERE a = 'bob"));
    h.send('server', w.err(1, 1064, '42000', "You have an error in your SQL syntax; check the manual near ''bob' at line 1"));
    h.send('client', w.query('DELETE FROM t'));
    h.send('server', w.ok(1, 4));
    h.send('client', w.quit());
    h.close();
    assert.deepEqual(h.summary(), [
      { op: 'SELECT', replied: true, text: 'SELECT id, name FROM t WHERE name = ? LIMIT ?', ns: 'shop', rows: 2 },
      { op: 'INSERT', replied: true, text: 'INSERT INTO t VALUES (?, ?), (?, ?)', ns: 'shop', rows: 2 },
      { op: 'SELEC', replied: true, text: 'SELEC ?', ns: 'shop', error: '1064' },
      { op: 'INIT_DB', replied: true, ns: 'other' },
      { op: 'SELECT', replied: true, text: 'SELECT ? FROM dual WHERE ? = ?', ns: 'other', rows: 0 },
      { op: 'USE', replied: true, text: 'use `third`', ns: 'third', rows: 0 },
      { op: 'SELECT', replied: true, text: 'SELECT * FROM t WHERE a = ?', ns: 'third', error: '1064' },
      { op: 'DELETE', replied: true, text: 'DELETE FROM t', ns: 'third', rows: 4 },
    ]);
    assert.equal(h.done[2]!.db?.errorMessage, "You have an error in your SQL syntax; check the manual near '?' at line 1");
    assert.equal(h.done[6]!.db?.errorMessage, "You have an error in your SQL syntax; check the manual near '?' at line 1", 'unbalanced quotes');
    const all = JSON.stringify(h.done, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of ['scrambled-secret', 'secret-name', 'row-secret', 'bob']) assert.ok(!all.includes(secret), secret);
    assert.deepEqual(h.tracker.parseErrors(), { mysql: 0 });
  });

  test(`prepared statements: EXECUTE shows the PREPARE text, CLOSE gets no reply (${deprecateEof ? 'no' : 'with'} EOF packets)`, () => {
    const h = connected(deprecateEof, 'server');
    h.send('client', w.prepare('SELECT name FROM t WHERE id = ?'));
    const defs = [w.prepareOk(1, 7, 1, 1), w.columnDef(2, '?'), ...(deprecateEof ? [] : [w.eof(3)]), w.columnDef(deprecateEof ? 3 : 4, 'name'), ...(deprecateEof ? [] : [w.eof(5)])];
    h.send('server', Buffer.concat(defs));
    h.send('client', w.execute(7, 'param-secret'));
    h.send('server', resultSet(deprecateEof));
    h.send('client', w.closeStmt(7));
    h.send('client', w.execute(7, 'again'));
    h.send('server', w.err(1, 1243, 'HY000', 'Unknown prepared statement handler (7) given to mysqld_stmt_execute'));
    assert.deepEqual(h.summary(), [
      { op: 'PREPARE', replied: true, text: 'SELECT name FROM t WHERE id = ?', ns: 'shop' },
      { op: 'SELECT', replied: true, text: 'SELECT name FROM t WHERE id = ?', ns: 'shop', rows: 2 },
      { op: 'EXECUTE', replied: true, ns: 'shop', error: '1243' },
    ]);
    assert.equal(h.done[0]!.connection.role, 'server');
    assert.ok(!JSON.stringify(h.summary()).includes('param-secret'));
    assert.deepEqual(h.tracker.parseErrors(), { mysql: 0 });
  });
}

test('multiple result sets (a stored procedure): the command ends with the last one', () => {
  const h = connected(true);
  h.send('client', w.query('CALL report(1)'));
  const MORE = 0x0008 | 0x0002;
  h.send('server', Buffer.concat([w.columnCount(1, 1), w.columnDef(2, 'a'), w.textRow(3, 'x'), w.okEnd(4, MORE), w.ok(5, 0, 2)]));
  h.send('client', w.query('SELECT 1'));
  h.send('server', Buffer.concat([w.columnCount(1, 1), w.columnDef(2, '1'), w.textRow(3, '1'), w.okEnd(4)]));
  assert.deepEqual(h.summary().map((s) => [s.op, s.rows, s.replied]), [
    ['CALL', 1, true],
    ['SELECT', 1, true],
  ]);
});

test('TLS requested: the connection is left alone', () => {
  const h = new WireHarness('client', 3306);
  h.send('server', w.greeting(w.BASE_CAPS | w.CAPS.SSL));
  h.send('client', w.sslRequest(w.BASE_CAPS));
  h.send('client', Buffer.from('\x16\x03\x01\x00\xa5\x01\x00\x00\xa1', 'latin1'));
  h.send('server', Buffer.from('\x16\x03\x03\x00\x7a\x02', 'latin1'));
  h.close();
  assert.deepEqual(h.summary(), []);
  assert.deepEqual(h.tracker.parseErrors(), { mysql: 0 });
});

test('joined mid-stream on port 3306: EOF style unknown, told apart by packet size', () => {
  for (const deprecateEof of [false, true]) {
    const h = new WireHarness('client', 3306, 'unknown');
    h.startAt('client', 1000n);
    h.startAt('server', 5000n);
    h.send('client', w.query('SELECT id, name FROM t'));
    h.send('server', resultSet(deprecateEof));
    h.send('client', w.query('SELECT 1 FROM t WHERE 0'));
    h.send('server', Buffer.concat(deprecateEof ? [w.columnCount(1, 1), w.columnDef(2, 'x'), w.okEnd(3)] : [w.columnCount(1, 1), w.columnDef(2, 'x'), w.eof(3), w.eof(4)]));
    assert.deepEqual(h.summary(), [
      { op: 'SELECT', replied: true, text: 'SELECT id, name FROM t', rows: 2 },
      { op: 'SELECT', replied: true, text: 'SELECT ? FROM t WHERE ?', rows: 0 },
    ], `deprecateEof ${deprecateEof}`);
    assert.equal(h.done[0]!.connection.role, 'client');
  }
});

test('a long statement beyond the capture prefix and a lost reply', () => {
  const h = connected(true);
  h.send('client', w.query(`INSERT INTO blobs VALUES ('${'z'.repeat(9000)}')`), { capture: 64 });
  h.send('server', w.ok(1, 1));
  h.send('client', w.query('SELECT 1'));
  h.send('client', w.query('SELECT 2')); // the first one's reply never came
  h.send('server', Buffer.concat([w.columnCount(1, 1), w.columnDef(2, '2'), w.textRow(3, '2'), w.okEnd(4)]));
  assert.deepEqual(h.summary().map((s) => [s.text, s.replied, s.rows]), [
    ['INSERT INTO blobs VALUES (?', true, 1],
    ['SELECT ?', false, undefined],
    ['SELECT ?', true, 1],
  ]);
  assert.equal(h.done[0]!.truncated, true);
});

test('handshake parsing: capabilities, user and database; the auth data is skipped', () => {
  const g = parseGreeting(w.greeting(w.BASE_CAPS | w.CAPS.DEPRECATE_EOF, '5.5.5-10.11.6-MariaDB'));
  assert.equal(g?.serverVersion, '5.5.5-10.11.6-MariaDB');
  assert.equal(g?.capabilities, (w.BASE_CAPS | w.CAPS.DEPRECATE_EOF) >>> 0);
  const r = parseHandshakeResponse(w.handshakeResponse(w.BASE_CAPS, 'app', 'x'.repeat(20), 'shop'));
  assert.deepEqual(r, { capabilities: w.BASE_CAPS, ssl: false, user: 'app', database: 'shop' });
  assert.equal(parseHandshakeResponse(w.handshakeResponse(w.BASE_CAPS, 'app', 'x').subarray(0, 40))?.database, undefined);
});

test('detection: the greeting (server first), a COM_QUERY only on the MySQL port', () => {
  assert.equal(detectMysql(w.greeting(w.BASE_CAPS)), 'response');
  assert.equal(detectMysql(w.query('SELECT 1')), undefined);
  assert.equal(detectMysql(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
  assert.equal(detectMysql(Buffer.alloc(3)), undefined);
  assert.equal(detectMysqlOnPort(w.query('SELECT 1'), 'egress'), 'request');
  assert.equal(detectMysqlOnPort(w.ok(1), 'ingress'), undefined);
});

test('property: any bytes after a handshake, in pieces, with holes, never throw', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.record({ fromClient: fc.boolean(), data: fc.uint8Array({ maxLength: 48 }), capture: fc.nat(48), gap: fc.nat(9) }), { maxLength: 30 }),
      (deprecateEof, chunks) => {
        const h = connected(deprecateEof);
        for (const c of chunks) {
          const data = Buffer.from(c.data);
          h.send(c.fromClient ? 'client' : 'server', data, { capture: Math.min(c.capture, data.length), ...(c.gap > 7 ? { gapBefore: c.gap } : {}) });
        }
        h.close();
        for (const ex of h.done) assert.equal(ex.db?.system, 'mysql');
      },
    ),
    { numRuns: 300, seed: 19 },
  );
});

test('property: well-framed packets with random bodies never throw', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ fromClient: fc.boolean(), seq: fc.nat(4), body: fc.uint8Array({ minLength: 1, maxLength: 40 }) }), { maxLength: 40 }), (packets) => {
      const h = connected(false);
      for (const p of packets) h.send(p.fromClient ? 'client' : 'server', w.packet(p.fromClient ? 0 : p.seq + 1, Buffer.from(p.body)));
      h.close();
    }),
    { numRuns: 300, seed: 23 },
  );
});
