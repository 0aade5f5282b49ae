import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { detectPostgres, detectPostgresOnPort, parseErrorFields, rowsFromTag } from '../../../../backend-agent/src/protocols/postgres/index.js';
import { WireHarness, loadFixture, replay } from '../db-harness.js';
import * as w from './wire.js';

const FIXTURE = loadFixture(new URL('./fixtures/psql-pgbench.json', import.meta.url));

function connected(observer: 'client' | 'server' = 'client', db = 'shop'): WireHarness {
  const h = new WireHarness(observer, 5432);
  h.send('client', w.startup({ user: 'app', database: db, application_name: 'test' }));
  h.send('server', Buffer.concat([w.authOk(), w.ready()]));
  return h;
}

test('recorded psql and pgbench sessions give one exchange per statement, from both ends', () => {
  const expected = [
    [{ op: 'CREATE', replied: true, text: 'CREATE DATABASE shop', ns: 'postgres' }],
    [
      { op: 'CREATE', replied: true, text: 'CREATE TABLE items (id int PRIMARY KEY, name text)', ns: 'shop' },
      { op: 'INSERT', replied: true, text: 'INSERT INTO items VALUES (?, ?), (?, ?)', ns: 'shop', rows: 2 },
    ],
    [{ op: 'SELECT', replied: true, text: 'SELECT name FROM items WHERE id = ?; SELECT count(*) FROM items', ns: 'shop', rows: 2 }],
    [{ op: 'SELEC', replied: true, text: 'SELEC ?', ns: 'shop', error: '42601' }],
    [{ op: 'SELECT', replied: true, text: 'SELECT * FROM nosuch', ns: 'shop', error: '42P01' }],
    [],
    [
      { op: 'PREPARE', replied: true, text: 'SELECT name FROM items WHERE id = $1;', ns: 'shop' },
      { op: 'SELECT', replied: true, text: 'SELECT name FROM items WHERE id = $1;', ns: 'shop', rows: 1 },
      { op: 'SELECT', replied: true, text: 'SELECT name FROM items WHERE id = $1;', ns: 'shop', rows: 1 },
    ],
    [],
    [
      { op: 'SELECT', replied: true, text: 'SELECT name FROM items WHERE id = $1;', ns: 'shop', rows: 1 },
      { op: 'SELECT', replied: true, text: 'SELECT name FROM items WHERE id = $1;', ns: 'shop', rows: 1 },
    ],
    [],
    [{ op: 'SELECT', replied: true, text: 'SELECT ?/?;', ns: 'shop', error: '22012' }],
  ];
  assert.equal(FIXTURE.length, expected.length);
  FIXTURE.forEach((conn, i) => {
    for (const observer of ['client', 'server'] as const) {
      const h = replay(conn, observer, 5432);
      assert.deepEqual(h.summary(), expected[i], `connection ${i} seen by the ${observer}`);
      assert.deepEqual(h.tracker.parseErrors(), { postgresql: 0 }, `connection ${i}`);
      for (const ex of h.done) assert.equal(ex.connection.role, observer);
    }
  });
});

test('feeding the recorded bytes in 1, 3 and 7 byte pieces gives the same exchanges', () => {
  FIXTURE.forEach((conn, i) => {
    const whole = replay(conn, 'client', 5432).summary();
    for (const piece of [1, 3, 7]) assert.deepEqual(replay(conn, 'client', 5432, piece).summary(), whole, `connection ${i}, pieces of ${piece}`);
  });
});

test('the psql sessions begin with an SSLRequest refused with N, then the start-up', () => {
  const first = FIXTURE[0]![0]!;
  assert.equal(first.dir, 'c2s');
  assert.equal(first.data.readUInt32BE(4), 80877103);
  assert.equal(FIXTURE[0]![1]!.data.toString('latin1'), 'N');
});

test('no literal, password or bound value reaches an exchange', () => {
  const h = new WireHarness('client', 5432);
  h.send('client', w.startup({ user: 'app', database: 'shop' }));
  h.send('server', w.authCleartext());
  h.send('client', w.password('hunter2-secret'));
  h.send('server', Buffer.concat([w.authOk(), w.ready()]));
  h.send('client', w.query("UPDATE users SET pw = 'swordfish', n = 42 WHERE id = 7"));
  h.send('server', Buffer.concat([w.commandComplete('UPDATE 1'), w.ready()]));
  h.send('client', Buffer.concat([w.parse('', 'SELECT * FROM t WHERE a = $1'), w.bind('', '', 'bound-secret'), w.execute(''), w.sync()]));
  h.send('server', Buffer.concat([w.parseComplete(), w.bindComplete(), w.dataRow('row-secret'), w.commandComplete('SELECT 1'), w.ready()]));
  const all = JSON.stringify(h.done, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  for (const secret of ['hunter2', 'swordfish', '42', 'bound-secret', 'row-secret']) assert.ok(!all.includes(secret), secret);
  assert.deepEqual(h.summary(), [
    { op: 'UPDATE', replied: true, text: 'UPDATE users SET pw = ?, n = ? WHERE id = ?', ns: 'shop', rows: 1 },
    { op: 'SELECT', replied: true, text: 'SELECT * FROM t WHERE a = $1', ns: 'shop', rows: 1 },
  ]);
});

test('pipelined extended-protocol batches: statements by name, an error skips the rest of its batch only', () => {
  const h = connected();
  h.send(
    'client',
    Buffer.concat([
      w.parse('s1', 'SELECT a FROM t WHERE id = $1'),
      w.parse('s2', 'INSERT INTO t VALUES ($1)'),
      w.bind('', 's1', '1'),
      w.execute(''),
      w.bind('p2', 's2', '2'),
      w.execute('p2'),
      w.bind('', 's1', '3'),
      w.execute(''),
      w.sync(),
      w.bind('', 's1', '4'),
      w.execute(''),
      w.sync(),
    ]),
  );
  h.send(
    'server',
    Buffer.concat([
      w.parseComplete(),
      w.parseComplete(),
      w.bindComplete(),
      w.dataRow('x'),
      w.commandComplete('SELECT 1'),
      w.bindComplete(),
      w.error('23505', 'duplicate key value violates unique constraint "t_pkey"'),
      w.ready(),
      w.bindComplete(),
      w.commandComplete('SELECT 0'),
      w.ready(),
    ]),
  );
  assert.deepEqual(h.summary(), [
    { op: 'SELECT', replied: true, text: 'SELECT a FROM t WHERE id = $1', ns: 'shop', rows: 1 },
    { op: 'INSERT', replied: true, text: 'INSERT INTO t VALUES ($1)', ns: 'shop', error: '23505' },
    { op: 'SELECT', replied: false, text: 'SELECT a FROM t WHERE id = $1', ns: 'shop' },
    { op: 'SELECT', replied: true, text: 'SELECT a FROM t WHERE id = $1', ns: 'shop', rows: 0 },
  ]);
  assert.match(h.done[2]!.incompleteReason ?? '', /not executed/);
  // Integrity errors quote values: the message keeps its shape, not the quoted part.
  assert.equal(h.done[1]!.db?.errorMessage, 'duplicate key value violates unique constraint "?"');
});

test('timing: a client exchange runs from its first request byte to its last reply byte', () => {
  const h = connected();
  const start = h.now;
  h.send('client', w.query('SELECT 1'));
  h.send('server', Buffer.concat([w.dataRow('1'), w.commandComplete('SELECT 1')]));
  const end = h.now + 5n;
  h.send('server', w.ready());
  const ex = h.done[0]!;
  assert.equal(ex.request.startNs, start);
  assert.equal(ex.response?.endNs, end);
  assert.equal(ex.response?.statusCode, 0);
  assert.equal(ex.protocol, 'postgresql');
});

test('a long statement cut by the capture prefix is still paired, marked truncated, its literal cut too', () => {
  const h = connected();
  const sql = `SELECT * FROM t WHERE note = '${'x'.repeat(5000)}' AND id = 1`;
  h.send('client', w.query(sql), { capture: 40 });
  h.send('server', Buffer.concat([w.commandComplete('SELECT 0'), w.ready()]));
  h.send('client', w.query('SELECT 2'));
  h.send('server', Buffer.concat([w.commandComplete('SELECT 1'), w.ready()]));
  assert.deepEqual(h.summary(), [
    { op: 'SELECT', replied: true, text: 'SELECT * FROM t WHERE note = ?', ns: 'shop', rows: 0 },
    { op: 'SELECT', replied: true, text: 'SELECT ?', ns: 'shop', rows: 1 },
  ]);
  assert.equal(h.done[0]!.truncated, true);
  assert.equal(h.done[1]!.truncated, false);
});

test('a gap over a message header loses the framing until a later call starts a message', () => {
  const h = connected();
  h.send('client', w.query('SELECT 1'));
  h.send('server', Buffer.concat([w.commandComplete('SELECT 1'), w.ready()]));
  h.send('client', w.query('SELECT 3'), { gapBefore: 13 }); // lost bytes of an unseen message: resynchronised here
  h.send('server', Buffer.concat([w.commandComplete('SELECT 1'), w.ready()]), { gapBefore: 11 });
  assert.deepEqual(h.summary().map((s) => [s.text, s.replied]), [
    ['SELECT ?', true],
    ['SELECT ?', true],
  ]);
  assert.equal(h.tracker.gaps(), 2);
});

test('SSL accepted (S): the rest is ciphertext and is ignored without errors', () => {
  const h = new WireHarness('client', 5432);
  h.send('client', w.sslRequest());
  h.send('server', 'S');
  h.send('client', Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03random-bytes', 'latin1'));
  h.send('server', Buffer.from('\x16\x03\x03\x00\x7a\x02\x00\x00\x76', 'latin1'));
  h.close();
  assert.deepEqual(h.summary(), []);
  assert.deepEqual(h.tracker.parseErrors(), { postgresql: 0 });
});

test('a start-up packet not at position 0 (TLS plaintext after the SSLRequest) is still read as one', () => {
  const h = new WireHarness('client', 5432);
  h.startAt('client', 8n);
  h.startAt('server', 1n);
  h.send('client', w.startup({ user: 'app', database: 'billing' }));
  h.send('server', Buffer.concat([w.authOk(), w.ready()]));
  h.send('client', w.query('SELECT 1'));
  h.send('server', Buffer.concat([w.commandComplete('SELECT 1'), w.ready()]));
  assert.deepEqual(h.summary(), [{ op: 'SELECT', replied: true, text: 'SELECT ?', ns: 'billing', rows: 1 }]);
});

test('joined mid-stream on port 5432: detected from a Query, the role from its direction, database unknown', () => {
  const h = new WireHarness('server', 5432, 'unknown');
  h.startAt('client', 5000n);
  h.startAt('server', 9000n);
  h.send('client', w.query('DELETE FROM sessions WHERE expires < now()'));
  h.send('server', Buffer.concat([w.commandComplete('DELETE 3'), w.ready()]));
  assert.deepEqual(h.summary(), [{ op: 'DELETE', replied: true, text: 'DELETE FROM sessions WHERE expires < now()', rows: 3 }]);
  assert.equal(h.done[0]!.connection.role, 'server');
  // On another port the same bytes are not taken for PostgreSQL.
  const other = new WireHarness('server', 8080, 'unknown');
  other.startAt('client', 5000n);
  other.send('client', w.query('SELECT 1'));
  assert.equal(other.tracker.parseErrors().postgresql, undefined);
});

test('close and time-out report commands still waiting, without a reply', () => {
  const h = connected();
  h.send('client', w.query('SELECT pg_sleep(100)'));
  h.tick(h.now + 200_000_000_000n);
  h.send('client', w.query('VACUUM'));
  h.close();
  assert.deepEqual(h.summary().map((s) => [s.op, s.replied]), [
    ['SELECT', false],
    ['VACUUM', false],
  ]);
  assert.equal(h.done[0]!.incompleteReason, 'no response (timed out)');
  assert.equal(h.done[1]!.incompleteReason, 'connection closed before a response');
});

test('detection: start-up and SSL request packets, nothing else without a port hint', () => {
  assert.equal(detectPostgres(w.startup({ user: 'u' })), 'request');
  assert.equal(detectPostgres(w.sslRequest()), 'request');
  assert.equal(detectPostgres(w.query('SELECT 1')), undefined);
  assert.equal(detectPostgres(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
  assert.equal(detectPostgres(Buffer.alloc(0)), undefined);
  assert.equal(detectPostgresOnPort(w.query('SELECT 1'), 'egress'), 'request');
  assert.equal(detectPostgresOnPort(w.ready(), 'ingress'), 'response');
  assert.equal(detectPostgresOnPort(Buffer.from('Q\xff\xff\xff\xffjunk', 'latin1'), 'egress'), undefined);
});

test('message helpers: command tags and error fields', () => {
  assert.equal(rowsFromTag('INSERT 0 5'), 5);
  assert.equal(rowsFromTag('SELECT 12'), 12);
  assert.equal(rowsFromTag('CREATE TABLE'), undefined);
  assert.deepEqual(parseErrorFields(w.error('42P01', 'relation "x" does not exist')), { severity: 'ERROR', code: '42P01', message: 'relation "x" does not exist' });
  assert.deepEqual(parseErrorFields(w.error('42P01', 'm').subarray(0, 12)), { severity: 'ERROR' }, 'a cut message yields its captured fields');
});

test('property: any bytes, in any pieces, either way, never throw and never invent a reply', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ fromClient: fc.boolean(), data: fc.uint8Array({ maxLength: 64 }), capture: fc.nat(64), gap: fc.nat(8) }), { maxLength: 30 }),
      fc.boolean(),
      (chunks, startWithStartup) => {
        const h = new WireHarness('client', 5432);
        if (startWithStartup) h.send('client', w.startup({ user: 'u', database: 'd' }));
        for (const c of chunks) {
          const opts = { capture: Math.min(c.capture, c.data.length), ...(c.gap > 6 ? { gapBefore: c.gap } : {}) };
          h.send(c.fromClient ? 'client' : 'server', Buffer.from(c.data), opts);
        }
        h.tick(h.now + 1_000_000_000_000n);
        h.close();
        for (const ex of h.done) {
          assert.equal(ex.protocol, 'postgresql');
          assert.ok(ex.request.startNs <= ex.request.endNs);
          if (ex.response) assert.ok(ex.response.startNs >= ex.request.startNs || ex.response.startNs >= 0n);
          assert.ok((ex.db?.queryText ?? '').length <= 2048);
        }
      },
    ),
    { numRuns: 300, seed: 7 },
  );
});

test('property: framed garbage (valid headers, random bodies) never throws', () => {
  const types = [...'QPBESDCHXpFdcf'];
  const backTypes = [...'RKSZTDCIEN123ntsAGHWdc'];
  fc.assert(
    fc.property(
      fc.array(fc.record({ fromClient: fc.boolean(), t: fc.nat(20), body: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 40 }),
      (messages) => {
        const h = connected();
        for (const m of messages) {
          const list = m.fromClient ? types : backTypes;
          h.send(m.fromClient ? 'client' : 'server', w.msg(list[m.t % list.length]!, Buffer.from(m.body)));
        }
        h.close();
        for (const ex of h.done) assert.equal(ex.db?.system, 'postgresql');
      },
    ),
    { numRuns: 300, seed: 11 },
  );
});
