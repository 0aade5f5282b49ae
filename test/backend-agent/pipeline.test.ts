/**
 * The ingest pipeline without a kernel: capture events as the loader would
 * send them (encoded and decoded through the real framing) go through the
 * connection tracker, the HTTP/1 parser and the span builder into a real
 * SQLite store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IngestPipeline } from '../../backend-agent/src/pipeline.js';
import { openStore } from '../../backend-agent/src/store/index.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import type { SocketTuple } from '../../backend-agent/src/model/events.js';
import { OFFSET_NS, StreamBuilder } from './fixtures/capture-stream.js';
import type { Span } from '../../backend-agent/src/model/span.js';

const quiet = createLogger('error', () => {});
// Pids that do not exist under the empty procRoot: names fall back to comm.
const CLIENT = { pid: 101, comm: 'shop' };
const SERVER = { pid: 202, comm: 'billing' };

const clientSocket: SocketTuple = {
  family: 'ipv4',
  local: { address: '10.0.0.1', port: 50000 },
  remote: { address: '10.0.0.1', port: 8080 },
};
const serverSocket: SocketTuple = { family: 'ipv4', local: clientSocket.remote, remote: clientSocket.local };

function collector(): { spans: Span[]; pipeline: IngestPipeline } {
  const spans: Span[] = [];
  const procRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-proc-'));
  const pipeline = new IngestPipeline({ hostName: 'test-host', log: quiet, sink: (s) => spans.push(...s), procRoot });
  return { spans, pipeline };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const request =
  'GET /invoices/42?access_token=SECRET-QUERY-TOKEN&page=2 HTTP/1.1\r\n' +
  'Host: billing:8080\r\n' +
  `traceparent: 00-${TRACE}-${CALLER_SPAN}-01\r\n` +
  'Authorization: Bearer SECRET-BEARER-TOKEN\r\n' +
  'Cookie: session=SECRET-COOKIE\r\n' +
  'X-Request-ID: req-7\r\n\r\n';
const response = 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nSet-Cookie: sid=SECRET-SET-COOKIE\r\n\r\nsorry';

function oneCall(): StreamBuilder {
  return new StreamBuilder()
    .open(1n, CLIENT, 'client', clientSocket)
    .open(2n, SERVER, 'server', serverSocket)
    .data(1n, CLIENT, 'client', clientSocket, 'egress', request)
    .data(2n, SERVER, 'server', serverSocket, 'ingress', request)
    .data(2n, SERVER, 'server', serverSocket, 'egress', response)
    .data(1n, CLIENT, 'client', clientSocket, 'ingress', response)
    .close(1n, CLIENT, clientSocket)
    .close(2n, SERVER, serverSocket);
}

test('one call seen from both sides becomes a client span and a server span joined by the header', () => {
  const { spans, pipeline } = collector();
  pipeline.handle(oneCall().events());
  assert.equal(spans.length, 2);
  const client = spans.find((s) => s.kind === 'client');
  const server = spans.find((s) => s.kind === 'server');
  assert.ok(client && server);
  assert.equal(client.service, 'shop');
  assert.equal(server.service, 'billing');
  assert.equal(client.peerService, 'billing', 'peer named from the local process at the other end');
  assert.equal(server.peerService, 'shop');
  assert.ok(client.peerLocal && server.peerLocal);
  assert.equal(client.traceId, TRACE);
  assert.equal(client.spanId, CALLER_SPAN, 'client span takes the id the caller announced');
  assert.equal(server.traceId, TRACE);
  assert.equal(server.parentSpanId, CALLER_SPAN);
  assert.equal(server.parentLink?.method, 'header');
  assert.equal(client.name, 'GET /invoices/{id}');
  assert.equal(client.attributes['http.request.method'], 'GET');
  assert.equal(client.attributes['url.path'], '/invoices/42');
  assert.equal(client.attributes['http.response.status_code'], 503);
  assert.equal(client.attributes['server.address'], 'billing');
  assert.equal(client.attributes['server.port'], 8080);
  assert.equal(server.attributes['client.address'], '10.0.0.1');
  assert.equal(server.attributes['client.port'], 50000);
  assert.equal(client.attributes['http.request.header.x-request-id'], 'req-7');
  assert.equal(client.status, 'error');
  assert.equal(server.status, 'error');
  assert.equal(server.attributes['http.response.body.size'], 5);
  // 100 µs steps: the client's request write is entered at 1.3 ms, its response read returns at 2.0 ms.
  assert.equal(client.durationNs, 700_000);
  assert.equal(client.startTimeUs, Number((OFFSET_NS + 1_300_000n) / 1000n));
  assert.ok(server.startTimeUs >= client.startTimeUs && server.durationNs < client.durationNs, 'server inside client');
  assert.equal(server.network.exchangeIndex, 0);
});

test('secrets in headers and query parameters never reach the database file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-redact-'));
  const dbPath = path.join(dir, 'spans.db');
  const store = openStore({ path: dbPath, retention: {} });
  const { spans, pipeline } = collector();
  pipeline.handle(oneCall().events());
  store.insertSpans(spans);
  const stored = store.getTrace(TRACE);
  store.close();
  assert.equal(stored.length, 2);
  assert.match(String(stored[0]?.attributes['url.query']), /access_token=\[REDACTED\]&page=2/);
  const bytes = Buffer.concat(
    fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('spans.db'))
      .map((f) => fs.readFileSync(path.join(dir, f))),
  );
  for (const secret of ['SECRET-QUERY-TOKEN', 'SECRET-BEARER-TOKEN', 'SECRET-COOKIE', 'SECRET-SET-COOKIE']) {
    assert.equal(bytes.indexOf(secret), -1, `${secret} found in the database files`);
  }
});

test('keep-alive: three exchanges on one connection keep their order and index', () => {
  const { spans, pipeline } = collector();
  const b = new StreamBuilder().open(1n, CLIENT, 'client', clientSocket);
  for (let i = 0; i < 3; i++) {
    b.data(1n, CLIENT, 'client', clientSocket, 'egress', `GET /r/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    b.data(1n, CLIENT, 'client', clientSocket, 'ingress', `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
  }
  pipeline.handle(b.events());
  assert.deepEqual(
    spans.map((s) => [s.attributes['url.path'], s.network.exchangeIndex, s.peerLocal, s.peerService]),
    [
      ['/r/0', 0, false, '10.0.0.1:8080'],
      ['/r/1', 1, false, '10.0.0.1:8080'],
      ['/r/2', 2, false, '10.0.0.1:8080'],
    ],
  );
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 3, 'header-less calls get their own derived trace ids');
});

test('a connection joined mid-stream with unknown role is still parsed once a message starts', () => {
  const { spans, pipeline } = collector();
  const b = new StreamBuilder()
    .data(9n, SERVER, 'unknown', serverSocket, 'ingress', 'tail of an earlier body')
    .data(9n, SERVER, 'unknown', serverSocket, 'ingress', 'POST /pay HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc')
    .data(9n, SERVER, 'unknown', serverSocket, 'egress', 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
  pipeline.handle(b.events());
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.kind, 'server');
  assert.equal(spans[0]?.attributes['http.response.status_code'], 201);
  assert.equal(spans[0]?.peerService, '10.0.0.1', 'a remote client is named by address only');
});

test('non-HTTP connections are given up after a bounded look and cost nothing after', () => {
  const { spans, pipeline } = collector();
  const b = new StreamBuilder();
  for (let i = 0; i < 20; i++) b.data(3n, CLIENT, 'client', clientSocket, 'egress', '\x16\x03\x01\x02\x00binary tls-ish');
  pipeline.handle(b.events());
  assert.equal(spans.length, 0);
  assert.equal(pipeline.health().openConnections, 1);
});

test('a response lost to a closed connection still yields a span, marked as an error', () => {
  const { spans, pipeline } = collector();
  pipeline.handle(
    new StreamBuilder()
      .open(1n, CLIENT, 'client', clientSocket)
      .data(1n, CLIENT, 'client', clientSocket, 'egress', 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
      .close(1n, CLIENT, clientSocket)
      .events(),
  );
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.status, 'error');
  assert.match(spans[0]?.statusMessage ?? '', /closed/);
  assert.equal(spans[0]?.attributes['http.response.status_code'], undefined);
});

test('a loader restart ends the previous session: pending requests become spans, connection ids start afresh', () => {
  const { spans, pipeline } = collector();
  pipeline.handle(
    new StreamBuilder()
      .open(1n, CLIENT, 'client', clientSocket)
      .data(1n, CLIENT, 'client', clientSocket, 'egress', 'GET /before-restart HTTP/1.1\r\nHost: x\r\n\r\n')
      .events(),
  );
  assert.equal(spans.length, 0, 'still waiting for the response');
  // The new loader reuses connection id 1 for an unrelated connection.
  const otherSocket: SocketTuple = { family: 'ipv4', local: { address: '10.0.0.1', port: 50001 }, remote: { address: '10.0.0.2', port: 9090 } };
  pipeline.handle(
    new StreamBuilder(OFFSET_NS + 5_000_000_000n)
      .data(1n, CLIENT, 'client', otherSocket, 'egress', 'GET /after-restart HTTP/1.1\r\nHost: y\r\n\r\n')
      .data(1n, CLIENT, 'client', otherSocket, 'ingress', 'HTTP/1.1 204 No Content\r\n\r\n')
      .events(),
  );
  assert.deepEqual(
    spans.map((s) => [s.attributes['url.path'], s.status, s.peerService]),
    [
      ['/before-restart', 'error', '10.0.0.1:8080'],
      ['/after-restart', 'unset', '10.0.0.2:9090'],
    ],
  );
  assert.notEqual(spans[0]?.spanId, spans[1]?.spanId, 'derived ids differ across sessions even for the same connection id');
  assert.equal(pipeline.health().openConnections, 1);
});

test('a trace header forwarded unchanged on two calls of one process keeps both client spans in the store', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-fwd-'));
  const store = openStore({ path: path.join(dir, 'spans.db'), retention: {} });
  const { spans, pipeline } = collector();
  const other: SocketTuple = { family: 'ipv4', local: { address: '10.0.0.1', port: 50002 }, remote: { address: '10.0.0.3', port: 7070 } };
  const forwarded = `traceparent: 00-${TRACE}-${CALLER_SPAN}-01\r\n`;
  pipeline.handle(
    new StreamBuilder()
      .data(1n, CLIENT, 'client', clientSocket, 'egress', `GET /stock HTTP/1.1\r\nHost: a\r\n${forwarded}\r\n`)
      .data(1n, CLIENT, 'client', clientSocket, 'ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
      .data(2n, CLIENT, 'client', other, 'egress', `GET /pay HTTP/1.1\r\nHost: b\r\n${forwarded}\r\n`)
      .data(2n, CLIENT, 'client', other, 'ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
      .events(),
  );
  assert.equal(spans.length, 2);
  store.insertSpans(spans);
  assert.deepEqual(store.getTrace(TRACE).map((s) => s.attributes['url.path']).sort(), ['/pay', '/stock']);
  store.insertSpans(spans);
  assert.equal(store.getTrace(TRACE).length, 2, 're-inserting the same spans is still idempotent');
  store.close();
});

test('the clock offset in STATS re-times later spans and is not shown as a kernel counter', () => {
  const { spans, pipeline } = collector();
  // Both calls happen at the same kernel times, on two connections.
  const call = (b: StreamBuilder, connId: bigint): StreamBuilder =>
    b
      .data(connId, CLIENT, 'client', clientSocket, 'egress', 'GET /t HTTP/1.1\r\nHost: x\r\n\r\n')
      .data(connId, CLIENT, 'client', clientSocket, 'ingress', 'HTTP/1.1 204 No Content\r\n\r\n');
  const b = call(new StreamBuilder(), 1n);
  pipeline.handle(b.events());
  // The host clock stepped forward by 10 s (NTP, or a suspend the offset now covers).
  pipeline.handle([{ type: 'stats', tsNs: 0n, counters: { data_events: 4, realtime_offset_ns: Number(OFFSET_NS + 10_000_000_000n) } }]);
  const later = new StreamBuilder();
  pipeline.handle(call(later, 2n).events().filter((e) => e.type === 'data'));
  assert.equal(spans.length, 2);
  assert.equal(Math.round((spans[1]!.startTimeUs - spans[0]!.startTimeUs) / 1e6), 10, 'the second span is ten seconds later');
  assert.deepEqual(pipeline.captureInfo().kernelCounters, { data_events: 4 });
});
