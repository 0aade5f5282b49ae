import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionTracker, type TrackedConnection } from '../../../../backend-agent/src/capture/connection-tracker.js';
import type { DataEvent, Direction } from '../../../../backend-agent/src/model/events.js';
import { http1Detector } from '../../../../backend-agent/src/protocols/http1/index.js';
import { CLIENT_PREFACE, http2Detector, looksLikeHttp2, type Http2Session } from '../../../../backend-agent/src/protocols/http2/index.js';
import { buildSpan, type SpanBuilderDeps } from '../../../../backend-agent/src/spans/span-builder.js';
import { extractTraceContext } from '../../../../backend-agent/src/context/index.js';
import {
  END_HEADERS, END_STREAM, block, data, grpcMessage, grpcRequestBlock, headers, ping, rep, settings, settingsAck, windowUpdate,
} from './helpers.js';

const socket = { family: 'ipv4' as const, local: { address: '10.0.0.1', port: 40000 }, remote: { address: '10.0.0.2', port: 50051 } };
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function tracked(role: 'client' | 'server' | 'unknown'): TrackedConnection {
  return { connId: 77n, pid: 1234, comm: 'api', cgroupId: 9n, role, socket, lastSeenNs: 0n, protocol: undefined, session: undefined, eventsBeforeDetection: 0 };
}

class Events {
  private pos = { egress: 0n, ingress: 0n };
  private t = 100n;
  make(direction: Direction, payload: Buffer, extra: Partial<DataEvent> = {}): DataEvent {
    const ev: DataEvent = {
      type: 'data', tsEnterNs: this.t, tsExitNs: this.t + 5n, connId: 77n, cgroupId: 9n, streamPos: this.pos[direction], bytes: payload.length,
      pid: 1234, tid: 1235, fd: 5, direction, role: 'unknown', syscall: 'write', truncated: false, socket, comm: 'api', payload, ...extra,
    };
    this.pos[direction] += BigInt(payload.length);
    this.t += 100n;
    return ev;
  }
}

test('detector: client preface is a request, server SETTINGS a response, frames mid-stream by their first header block', () => {
  assert.equal(http2Detector.name, 'http2');
  assert.equal(looksLikeHttp2(Buffer.concat([CLIENT_PREFACE, settings()])), 'request');
  assert.equal(looksLikeHttp2(CLIENT_PREFACE.subarray(0, 16)), 'request', 'a first write cut short');
  assert.equal(looksLikeHttp2(Buffer.concat([settings([[3, 100]]), settingsAck()])), 'response');
  assert.equal(looksLikeHttp2(Buffer.concat([windowUpdate(0, 5), headers(9, block(rep.indexed(3), rep.indexed(6)))])), 'request');
  assert.equal(looksLikeHttp2(headers(9, block(rep.sizeUpdate(0), rep.indexed(8)))), 'response');
  assert.equal(looksLikeHttp2(Buffer.concat([data(9, 'abc'), ping()])), undefined, 'frames, but nothing tells the side');
  assert.equal(looksLikeHttp2(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), undefined);
  assert.equal(looksLikeHttp2(Buffer.from('160301020001000200030303', 'hex')), undefined, 'a TLS ClientHello');
  assert.equal(looksLikeHttp2(Buffer.from('*3\r\n$3\r\nSET\r\n')), undefined, 'Redis');
  assert.equal(looksLikeHttp2(Buffer.alloc(0)), undefined);
  assert.equal(http1Detector.detect(Buffer.concat([CLIENT_PREFACE, settings()])), undefined, 'HTTP/1 does not claim the preface');
});

test('a session turns a gRPC stream into an ObservedExchange with protocol grpc, stream id and rpc', () => {
  const session = http2Detector.open(tracked('client'));
  const ev = new Events();
  session.onData(ev.make('egress', Buffer.concat([CLIENT_PREFACE, settings(), headers(1, grpcRequestBlock('/shop.Payments/Charge', [['traceparent', TRACEPARENT]])), data(1, grpcMessage(4), true)])));
  session.onData(ev.make('ingress', Buffer.concat([settings(), settingsAck(), headers(1, block(rep.indexed(8), rep.incremental('content-type', 'application/grpc'))), data(1, grpcMessage(2))])));
  assert.deepEqual(session.drain(), []);
  session.onData(ev.make('ingress', headers(1, block(rep.withoutIndexing('grpc-status', '9'), rep.withoutIndexing('grpc-message', 'out%20of%20stock')), END_HEADERS | END_STREAM)));
  const [ex, ...rest] = session.drain();
  assert.equal(rest.length, 0);
  assert.ok(ex);
  assert.equal(ex.protocol, 'grpc');
  assert.equal(ex.streamId, 1);
  assert.equal(ex.index, 0);
  assert.deepEqual(ex.rpc, { system: 'grpc', service: 'shop.Payments', method: 'Charge', statusCode: 9, statusMessage: 'out of stock' });
  assert.deepEqual(ex.connection, { connId: 77n, pid: 1234, comm: 'api', cgroupId: 9n, role: 'client', socket, captureSource: 'syscall' });
  assert.equal(ex.request.method, 'POST');
  assert.equal(ex.request.target, '/shop.Payments/Charge');
  assert.equal(ex.request.path, '/shop.Payments/Charge');
  assert.equal(ex.request.version, '2');
  assert.ok(ex.request.headers.some(([n, v]) => n === 'traceparent' && v === TRACEPARENT));
  assert.ok(ex.request.headers.some(([n]) => n === ':authority'), 'pseudo-headers kept');
  assert.equal(ex.request.bodyBytes, 9);
  assert.equal(ex.request.startNs, 100n, 'egress: the first byte left when the write began');
  assert.equal(ex.response?.statusCode, 200);
  assert.equal(ex.response?.startNs, 205n, 'ingress: known received when the read returned');
  assert.equal(ex.response?.endNs, 305n);
  assert.equal(ex.truncated, false);
  assert.equal(session.parseErrors, 0);
  assert.equal(session.gaps, 0);
});

test('plain HTTP/2 is protocol http2 with no rpc; query split from :path; TLS plaintext marked', () => {
  const session = http2Detector.open(tracked('server'));
  const ev = new Events();
  const tls = { captureSource: 'tls' } as Partial<DataEvent>;
  session.onData(ev.make('ingress', Buffer.concat([CLIENT_PREFACE, settings(), headers(3, block(rep.indexed(2), rep.indexed(7), rep.withoutIndexing(4, '/search?q=h2'), rep.withoutIndexing(1, 'shop.example:8443')), END_HEADERS | END_STREAM)]), tls));
  session.onData(ev.make('egress', Buffer.concat([headers(3, block(rep.indexed(13))), data(3, 'nope', true)]), tls));
  const [ex] = session.drain();
  assert.ok(ex);
  assert.equal(ex.protocol, 'http2');
  assert.equal(ex.rpc, undefined);
  assert.equal(ex.request.path, '/search');
  assert.equal(ex.request.query, 'q=h2');
  assert.equal(ex.response?.statusCode, 404);
  assert.equal(ex.connection.role, 'server');
  assert.equal(ex.connection.captureSource, 'tls');
});

test('through the tracker and the span builder: gRPC span name, rpc attributes, trace context from the metadata header', () => {
  const tracker = new ConnectionTracker([http1Detector, http2Detector]);
  const ev = new Events();
  // Role unknown (connection opened before capture): the preface tells.
  tracker.onData(ev.make('egress', Buffer.concat([CLIENT_PREFACE, settings(), headers(1, grpcRequestBlock('/shop.Payments/Charge', [['traceparent', TRACEPARENT]]), END_HEADERS | END_STREAM)])));
  tracker.onData(ev.make('ingress', headers(1, block(rep.indexed(8), rep.withoutIndexing('content-type', 'application/grpc'), rep.withoutIndexing('grpc-status', '0')), END_HEADERS | END_STREAM)));
  const [ex] = tracker.drain();
  assert.ok(ex);
  const deps: SpanBuilderDeps = {
    resolveProcess: (pid, comm) => ({ pid, serviceName: 'checkout', serviceNameSource: 'comm', executableName: comm, hostName: 'h' }),
    peerOf: () => undefined,
    extractTraceContext: (h) => {
      const r = extractTraceContext(h);
      return { ...(r.context ? { context: r.context } : {}), correlationIds: {} };
    },
    redactHeaders: (h) => h,
    redactQuery: (q) => q,
    redactPath: (p) => p,
    toUnixUs: (ns) => Number(ns / 1000n),
    sessionKey: 's',
  };
  const span = buildSpan(ex, deps);
  assert.equal(span.kind, 'client');
  assert.equal(span.name, 'shop.Payments/Charge');
  assert.equal(span.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(span.spanId, 'b7ad6b7169203331');
  assert.equal(span.attributes['rpc.service'], 'shop.Payments');
  assert.equal(span.attributes['rpc.method'], 'Charge');
  assert.equal(span.attributes['rpc.grpc.status_code'], 0);
  assert.equal(span.attributes['network.stream.id'], 1);
  assert.equal(span.attributes['server.address'], 'svc', ':authority without its port');
  assert.equal(span.status, 'unset');
  assert.deepEqual(tracker.parseErrors(), { http2: 0 });
});

test('a desynchronised header table never yields a method: _OTHER, and counters say why', () => {
  const session = http2Detector.open(tracked('client')) as Http2Session;
  const ev = new Events();
  session.onData(ev.make('egress', headers(11, block(rep.indexed(70), rep.indexed(71)), END_HEADERS | END_STREAM)));
  session.onData(ev.make('ingress', headers(11, block(rep.indexed(8)), END_HEADERS | END_STREAM)));
  const [ex] = session.drain();
  assert.ok(ex);
  assert.equal(ex.request.method, '_OTHER');
  assert.equal(ex.request.path, '');
  assert.equal(ex.response?.statusCode, 200);
  assert.equal(session.counters().degradedHeaderBlocks, 1);
  assert.equal(session.counters().unknownHeaderFields, 2);
  assert.equal(session.parseErrors, 0, 'not knowing is not an error');
});

test('through the tracker, role unknown: a server whose first write is its SETTINGS preface is the server', () => {
  const tracker = new ConnectionTracker([http1Detector, http2Detector]);
  const ev = new Events();
  tracker.onData(ev.make('egress', Buffer.concat([settings([[3, 100]])])));
  tracker.onData(ev.make('ingress', Buffer.concat([CLIENT_PREFACE, settings(), headers(1, block(rep.indexed(2), rep.indexed(6), rep.indexed(4), rep.withoutIndexing(1, 'a')), END_HEADERS | END_STREAM)])));
  tracker.onData(ev.make('egress', headers(1, block(rep.indexed(8)), END_HEADERS | END_STREAM)));
  const [ex] = tracker.drain();
  assert.ok(ex);
  assert.equal(ex.connection.role, 'server');
  assert.equal(ex.request.method, 'GET');
  assert.equal(ex.response?.statusCode, 200);
});
