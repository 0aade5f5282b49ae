import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_DETECTORS } from '../../../backend-agent/src/protocols/index.js';
import { WireHarness } from './db-harness.js';
import * as pg from './postgres/wire.js';
import * as my from './mysql/wire.js';

/** Each protocol's opening bytes, and who sends them. */
const OPENINGS: Record<string, { bytes: Buffer; kind: 'request' | 'response' }> = {
  http1: { bytes: Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), kind: 'request' },
  postgresql: { bytes: pg.startup({ user: 'u', database: 'd' }), kind: 'request' },
  redis: { bytes: Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'), kind: 'request' },
  mysql: { bytes: my.greeting(my.BASE_CAPS), kind: 'response' },
};

test('every database detector claims its own opening and no other protocol’s', () => {
  for (const [owner, opening] of Object.entries(OPENINGS)) {
    const claimed = PROTOCOL_DETECTORS.filter((d) => d.detect(opening.bytes) !== undefined).map((d) => d.name);
    assert.deepEqual(claimed, [owner], `${owner}'s opening claimed by ${claimed.join(', ')}`);
    assert.equal(PROTOCOL_DETECTORS.find((d) => d.name === owner)?.detect(opening.bytes), opening.kind);
  }
});

test('a protocol’s own signature beats a port guess: HTTP on the PostgreSQL port is HTTP', () => {
  const h = new WireHarness('client', 5432);
  h.send('client', 'GET /health HTTP/1.1\r\nHost: db\r\n\r\n');
  h.send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.deepEqual(h.done.map((e) => [e.protocol, e.request.method]), [['http1', 'GET']]);
});

test('the server speaking first decides the role of a connection joined without connect/accept', () => {
  const h = new WireHarness('server', 3306, 'unknown');
  h.send('server', my.greeting(my.BASE_CAPS));
  h.send('client', my.handshakeResponse(my.BASE_CAPS, 'u', 'x', 'shop'));
  h.send('server', my.ok(2));
  h.send('client', my.query('SELECT 1'));
  h.send('server', Buffer.concat([my.columnCount(1, 1), my.columnDef(2, '1'), my.eof(3), my.textRow(4, '1'), my.eof(5)]));
  assert.deepEqual(h.done.map((e) => [e.protocol, e.connection.role, e.db?.operation, e.db?.namespace]), [['mysql', 'server', 'SELECT', 'shop']]);
});
