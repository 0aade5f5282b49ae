import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespReader, commandText, detectRedis, detectRedisOnPort, type RespValue } from '../../../../backend-agent/src/protocols/redis/index.js';
import { WireHarness, loadFixture, replay } from '../db-harness.js';

const FIXTURE = loadFixture(new URL('./fixtures/redis-cli.json', import.meta.url));

const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

function session(observer: 'client' | 'server' = 'client'): WireHarness {
  return new WireHarness(observer, 6379);
}

test('recorded redis-cli sessions (RESP2 and RESP3, SELECT, an error, a pipeline) from both ends', () => {
  const expected = [
    [{ op: 'SET', replied: true, text: 'SET user:1 ?', ns: '0' }],
    [
      { op: 'SELECT', replied: true, text: 'SELECT ?', ns: '3' },
      { op: 'HSET', replied: true, text: 'HSET cart:9 ? ? ? ?', ns: '3' },
    ],
    [{ op: 'LPUSH', replied: true, text: 'LPUSH list:a ?', ns: '0' }],
    [{ op: 'GET', replied: true, text: 'GET list:a', ns: '0', error: 'WRONGTYPE' }],
    [
      { op: 'HELLO', replied: true, text: 'HELLO ?', ns: '0' },
      { op: 'HGETALL', replied: true, text: 'HGETALL cart:9', ns: '0' },
    ],
    [
      { op: 'SELECT', replied: true, text: 'SELECT ?', ns: '3' },
      { op: 'HELLO', replied: true, text: 'HELLO ?', ns: '3' },
      { op: 'HGETALL', replied: true, text: 'HGETALL cart:9', ns: '3' },
    ],
    [{ op: 'MGET', replied: true, text: 'MGET user:1 ?', ns: '0', rows: 2 }],
    [{ op: 'SET', replied: true, text: 'SET big ?', ns: '0' }],
    [
      { op: 'SET', replied: true, text: 'SET p:1 ?', ns: '0' },
      { op: 'GET', replied: true, text: 'GET p:1', ns: '0' },
      { op: 'INCR', replied: true, text: 'INCR counter:1', ns: '0' },
      { op: 'ECHO', replied: true, text: 'ECHO ?', ns: '0' },
    ],
    [{ op: 'NOSUCHCMD', replied: true, text: 'NOSUCHCMD a ?', ns: '0', error: 'ERR' }],
  ];
  assert.equal(FIXTURE.length, expected.length);
  FIXTURE.forEach((conn, i) => {
    for (const observer of ['client', 'server'] as const) {
      const h = replay(conn, observer, 6379);
      assert.deepEqual(h.summary(), expected[i], `connection ${i} seen by the ${observer}`);
      assert.deepEqual(h.tracker.parseErrors(), { redis: 0 });
    }
    for (const piece of [1, 5]) assert.deepEqual(replay(conn, 'client', 6379, piece).summary(), expected[i], `connection ${i} in pieces of ${piece}`);
  });
  // The error message quoted the command's arguments: they are hidden.
  const unknown = replay(FIXTURE[9]!, 'client', 6379).done[0]!;
  assert.equal(unknown.db?.errorMessage, "unknown command '?', with args beginning with: ?");
});

test('pipelined commands pair with their replies in order; values never reach an exchange', () => {
  const h = session();
  h.send('client', cmd('AUTH', 'app', 'pass-secret') + cmd('SET', 'k', 'value-secret') + cmd('GET', 'k') + cmd('HGET', 'h', 'f') + cmd('DEL', 'k'));
  h.send('server', '+OK\r\n+OK\r\n$12\r\nvalue-secret\r\n');
  h.send('server', '$-1\r\n:1\r\n');
  assert.deepEqual(h.summary(), [
    { op: 'AUTH', replied: true, text: 'AUTH ? ?', ns: '0' },
    { op: 'SET', replied: true, text: 'SET k ?', ns: '0' },
    { op: 'GET', replied: true, text: 'GET k', ns: '0' },
    { op: 'HGET', replied: true, text: 'HGET h ?', ns: '0' },
    { op: 'DEL', replied: true, text: 'DEL k', ns: '0' },
  ]);
  const all = JSON.stringify(h.done, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  assert.ok(!all.includes('secret'));
  assert.equal(h.done[1]!.response?.statusCode, 0);
});

test('errors: the first word is the code; SELECT that failed does not change the namespace', () => {
  const h = session();
  h.send('client', cmd('SELECT', '99'));
  h.send('server', '-ERR DB index is out of range\r\n');
  h.send('client', cmd('EVALSHA', 'abc', '0'));
  h.send('server', '!20\r\nNOSCRIPT No matching\r\n'); // RESP3 bulk error
  assert.deepEqual(h.summary(), [
    { op: 'SELECT', replied: true, text: 'SELECT ?', ns: '0', error: 'ERR' },
    { op: 'EVALSHA', replied: true, text: 'EVALSHA ? ?', ns: '0', error: 'NOSCRIPT' },
  ]);
  assert.equal(h.done[0]!.response?.statusCode, 1);
});

test('RESP3: push messages answer no command; attributes and maps are framed through', () => {
  const h = session();
  h.send('client', cmd('CLIENT', 'TRACKING', 'on') + cmd('GET', 'a') + cmd('HGETALL', 'h'));
  h.send('server', '+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n|1\r\n+ttl\r\n:3\r\n$1\r\nx\r\n%1\r\n+f\r\n~2\r\n:1\r\n_\r\n');
  assert.deepEqual(h.summary(), [
    { op: 'CLIENT', replied: true, text: 'CLIENT TRACKING ?', ns: '0' },
    { op: 'GET', replied: true, text: 'GET a', ns: '0' },
    { op: 'HGETALL', replied: true, text: 'HGETALL h', ns: '0' },
  ]);
  assert.deepEqual(h.tracker.parseErrors(), { redis: 0 });
});

test('a value larger than the capture prefix is skipped by its length, the next command still parsed', () => {
  const h = session();
  const big = 'v'.repeat(10_000);
  h.send('client', cmd('SET', 'big', big), { capture: 64 });
  h.send('server', '+OK\r\n');
  h.send('client', cmd('GET', 'big'));
  h.send('server', `$10000\r\n${big}\r\n`, { capture: 30 });
  h.send('client', cmd('PING'));
  h.send('server', '+PONG\r\n');
  assert.deepEqual(h.summary().map((s) => [s.text, s.replied]), [
    ['SET big ?', true],
    ['GET big', true],
    ['PING', true],
  ]);
  assert.deepEqual([h.done[0]!.truncated, h.done[1]!.truncated, h.done[2]!.truncated], [true, true, false]);
  assert.equal(h.done[1]!.response?.headerBytes, 10_000 + 10, '$10000 CRLF, the value, CRLF');
});

test('a gap outside a bulk body loses the framing until a call starts with a command', () => {
  const h = session();
  h.send('client', cmd('GET', 'a'));
  h.send('server', '$1\r\nx\r\n');
  h.send('client', '\r\n$3\r\nfoo\r\n', { gapBefore: 20 }); // tail of an unseen command
  h.send('client', cmd('GET', 'b'));
  h.send('server', ':5\r\n', { gapBefore: 7 });
  assert.deepEqual(h.summary().map((s) => [s.text, s.replied]), [
    ['GET a', true],
    ['GET b', true],
  ]);
  assert.equal(h.tracker.gaps(), 2);
});

test('after SUBSCRIBE the server pushes: pairing stops instead of going wrong', () => {
  const h = session();
  h.send('client', cmd('SUBSCRIBE', 'news'));
  h.send('server', '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
  h.send('server', '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n');
  h.send('client', cmd('PING'));
  h.send('server', '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
  assert.deepEqual(h.summary(), [{ op: 'SUBSCRIBE', replied: true, text: 'SUBSCRIBE news', ns: '0' }]);
});

test('RESP3 SUBSCRIBE: the confirmation is a push, and later commands still pair in order', () => {
  const h = session();
  h.send('client', cmd('HELLO', '3') + cmd('SUBSCRIBE', 'news'));
  h.send('server', '%1\r\n+server\r\n+redis\r\n>3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
  h.send('server', '>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n');
  h.send('client', cmd('GET', 'k'));
  h.send('server', '$1\r\nv\r\n');
  assert.deepEqual(h.summary().map((s) => [s.text, s.replied]), [
    ['HELLO ?', true],
    ['SUBSCRIBE news', true],
    ['GET k', true],
  ]);
});

test('inline commands are parsed too; joined mid-stream on 6379 the namespace is unknown', () => {
  const h = new WireHarness('server', 6379, 'unknown');
  h.startAt('client', 100n);
  h.startAt('server', 50n);
  h.send('client', 'GET session:1\r\n');
  h.send('server', '$-1\r\n');
  assert.deepEqual(h.summary(), [{ op: 'GET', replied: true, text: 'GET session:1' }]);
  assert.equal(h.done[0]!.connection.role, 'server');
});

test('close and time-out report commands still waiting', () => {
  const h = session();
  h.send('client', cmd('BLPOP', 'q', '0'));
  h.tick(h.now + 200_000_000_000n);
  h.send('client', cmd('GET', 'x'));
  h.close();
  assert.deepEqual(h.summary().map((s) => [s.op, s.replied]), [
    ['BLPOP', false],
    ['GET', false],
  ]);
});

test('command text: key kept, values hidden, subcommands kept, long commands summarised', () => {
  const b = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x));
  assert.equal(commandText('SET', b('SET', 'k'), 3), 'SET k ?');
  assert.equal(commandText('CONFIG', b('CONFIG', 'get'), 3), 'CONFIG GET ?');
  assert.equal(commandText('HELLO', b('HELLO', '3'), 5), 'HELLO ? ? ? ?');
  assert.equal(commandText('MSET', b('MSET', 'k1'), 21), 'MSET k1 ? ? ? ? ? ? ? ? …(11 more)');
  assert.equal(commandText('PING', b('PING'), 1), 'PING');
});

test('detection: a command array, not other protocols; replies and inline commands only on the Redis port', () => {
  assert.equal(detectRedis(Buffer.from(cmd('PING'))), 'request');
  assert.equal(detectRedis(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
  assert.equal(detectRedis(Buffer.from('*1\r\n$4\r\n\x00\x00\x00\x00\r\n', 'latin1')), undefined);
  assert.equal(detectRedis(Buffer.from('+OK\r\n')), undefined);
  assert.equal(detectRedisOnPort(Buffer.from('+OK\r\n'), 'ingress'), 'response');
  assert.equal(detectRedisOnPort(Buffer.from('PING\r\n'), 'egress'), 'request');
  assert.equal(detectRedisOnPort(Buffer.from('\x16\x03\x01', 'latin1'), 'egress'), undefined);
});

test('property: any bytes, either way, in pieces, with holes, never throw', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ fromClient: fc.boolean(), data: fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.stringMatching(/^[*$:+\-%~>|!=_#,(0-9\r\na-z]{0,40}$/).map((s) => Buffer.from(s))), capture: fc.nat(48), gap: fc.nat(9) }), { maxLength: 30 }),
      (chunks) => {
        const h = session();
        h.send('client', cmd('PING'));
        for (const c of chunks) {
          const data = Buffer.from(c.data);
          h.send(c.fromClient ? 'client' : 'server', data, { capture: Math.min(c.capture, data.length), ...(c.gap > 7 ? { gapBefore: c.gap } : {}) });
        }
        h.close();
        for (const ex of h.done) {
          assert.equal(ex.db?.system, 'redis');
          assert.ok((ex.db?.queryText ?? '').length < 1200);
        }
      },
    ),
    { numRuns: 400, seed: 13 },
  );
});

test('property: a RESP reader reports the same values however a valid stream is cut', () => {
  const value: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.stringMatching(/^[a-z ]{0,10}$/).map((s) => `+${s}\r\n`),
      fc.integer().map((n) => `:${n}\r\n`),
      fc.string({ maxLength: 20 }).map((s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`),
      fc.array(tie('v'), { maxLength: 4 }).map((a) => `*${a.length}\r\n${a.join('')}`),
      fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 3 }).map((a) => `%${a.length}\r\n${a.map(([k, x]) => k + x).join('')}`),
    ),
  })).v;
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 9 }), (values, piece) => {
      const stream = Buffer.from(values.join(''));
      const read = (size: number): RespValue[] => {
        const out: RespValue[] = [];
        const r = new RespReader('reply', (v) => out.push(v));
        for (let at = 0; at < stream.length; at += size) {
          const p = stream.subarray(at, at + size);
          r.push({ payload: p, bytes: p.length, streamPos: BigInt(at), tsEnterNs: 0n, tsExitNs: 0n, direction: 'ingress' });
        }
        return out;
      };
      const whole = read(stream.length);
      assert.equal(whole.length, values.length);
      assert.deepEqual(read(piece).map((v) => [v.type, v.bytes, v.argc]), whole.map((v) => [v.type, v.bytes, v.argc]));
    }),
    { numRuns: 300, seed: 17 },
  );
});
