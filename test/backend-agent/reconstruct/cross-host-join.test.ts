import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import type { WorkingSet } from '../../../backend-agent/src/reconstruct/link-layer.js';
import { crossHostJoinLinks } from '../../../backend-agent/src/reconstruct/cross-host-join.js';
import { T0_US, makeSpan, spanIdOf, traceIdOf } from '../fixtures/spans.js';

const MS = 1000; // µs

interface ExchangeSpec {
  /** True start of the client's request, µs from T0. */
  atUs: number;
  clientUs: number;
  serverUs: number;
  requestBytes?: number;
  responseBytes?: number;
}

let n = 0;
/**
 * One connection seen from two hosts: host-a holds the client, host-b the
 * server, whose clock is `skewUs` ahead. `serverIndexShift` makes the server
 * side count exchanges from a later start (it joined mid-connection).
 */
function connection(clientPort: number, exchanges: ExchangeSpec[], skewUs: number, serverIndexShift = 0): { clients: Span[]; servers: Span[] } {
  const clients: Span[] = [];
  const servers: Span[] = [];
  exchanges.forEach((e, i) => {
    const wireUs = (e.clientUs - e.serverUs) / 2;
    const bytes = { requestBytes: e.requestBytes ?? 200, responseBytes: e.responseBytes ?? 500 };
    n += 1;
    clients.push(
      makeSpan({
        traceId: traceIdOf(n), spanId: spanIdOf(n), kind: 'client', service: 'web', startTimeUs: T0_US + e.atUs, durationNs: e.clientUs * 1000,
        process: { hostName: 'host-a', pid: 10, serviceName: 'web' },
        network: { connectionId: `a${clientPort}`, exchangeIndex: i, local: { address: '10.0.0.1', port: clientPort }, remote: { address: '10.0.0.2', port: 8080 }, ...bytes },
      }),
    );
    n += 1;
    servers.push(
      makeSpan({
        traceId: traceIdOf(n), spanId: spanIdOf(n), kind: 'server', service: 'api', startTimeUs: T0_US + e.atUs + wireUs + skewUs, durationNs: e.serverUs * 1000,
        process: { hostName: 'host-b', pid: 20, serviceName: 'api' },
        network: { connectionId: `b${clientPort}`, exchangeIndex: i - serverIndexShift, local: { address: '10.0.0.2', port: 8080 }, remote: { address: '10.0.0.1', port: clientPort }, ...bytes },
      }),
    );
  });
  return { clients, servers };
}

function workingSet(spans: Span[]): WorkingSet {
  return { spans, parentOf: () => undefined, indexOfSpanId: (id) => { const i = spans.findIndex((s) => s.spanId === id); return i < 0 ? undefined : i; } };
}

/** server span id -> client span id, as proposed. */
function joins(spans: Span[]): Map<string, { parent: string; confidence: number; networkTimeNs?: number }> {
  const out = new Map<string, { parent: string; confidence: number; networkTimeNs?: number }>();
  for (const p of crossHostJoinLinks.propose(workingSet(spans))) {
    out.set(spans[p.child]!.spanId, { parent: p.parentSpanId, confidence: p.confidence, ...(p.networkTimeNs !== undefined ? { networkTimeNs: p.networkTimeNs } : {}) });
  }
  return out;
}

function expectPaired(conn: { clients: Span[]; servers: Span[] }, got: ReturnType<typeof joins>, minConfidence: number): void {
  conn.servers.forEach((s, i) => {
    const j = got.get(s.spanId);
    assert.ok(j, `server exchange ${i} joined`);
    assert.equal(j.parent, conn.clients[i]!.spanId, `server exchange ${i} joined to client exchange ${i}`);
    assert.ok(j.confidence >= minConfidence, `confidence ${j.confidence}`);
    assert.equal(j.networkTimeNs, conn.clients[i]!.durationNs - s.durationNs, 'network time needs no clock');
  });
}

describe('cross-host socket join', () => {
  for (const skewMs of [0, 37, -45, 80]) {
    test(`keep-alive exchanges with identical sizes pair in order under ${skewMs} ms of clock skew`, () => {
      // Back-to-back exchanges 1 ms apart: with tens of ms of skew, time alone would pair them wrongly.
      const exchanges = Array.from({ length: 6 }, (_, i) => ({ atUs: i * 3 * MS, clientUs: 2 * MS, serverUs: 1.6 * MS }));
      const a = connection(40001, exchanges, skewMs * MS);
      const b = connection(40002, exchanges.map((e) => ({ ...e, atUs: e.atUs + 500 })), skewMs * MS);
      const got = joins([...a.clients, ...a.servers, ...b.clients, ...b.servers]);
      expectPaired(a, got, 0.95);
      expectPaired(b, got, 0.95);
    });
  }

  test('a server side that joined mid-connection pairs by time once other connections give the offset', () => {
    const skewUs = 30 * MS;
    // Spaced exchanges: after the offset is removed, time tells them apart.
    const exchanges = Array.from({ length: 4 }, (_, i) => ({ atUs: i * 20 * MS, clientUs: 5 * MS, serverUs: 3 * MS }));
    const full = connection(40010, exchanges, skewUs);
    const late = connection(40011, exchanges.map((e) => ({ ...e, atUs: e.atUs + 7 * MS })), skewUs, 2);
    const got = joins([...full.clients, ...full.servers, ...late.clients, ...late.servers]);
    expectPaired(full, got, 0.95);
    expectPaired(late, got, 0.7);
    assert.ok(late.servers.every((s) => got.get(s.spanId)!.confidence < 0.95), 'time-only pairs say so');
  });

  test('no join on one host (the socket join does that), for other tuples, or where the client is shorter than the server', () => {
    const exchanges = [{ atUs: 0, clientUs: 2 * MS, serverUs: 1 * MS }];
    const c = connection(40020, exchanges, 0);
    const sameHost = { ...c.servers[0]!, process: { ...c.servers[0]!.process, hostName: 'host-a' } };
    const otherTuple = { ...c.servers[0]!, spanId: spanIdOf(9999), network: { ...c.servers[0]!.network, remote: { address: '10.0.0.1', port: 40021 } } };
    const longer = { ...c.servers[0]!, spanId: spanIdOf(9998), durationNs: 10_000_000 };
    assert.equal(joins([c.clients[0]!, sameHost]).size, 0);
    assert.equal(joins([c.clients[0]!, otherTuple]).size, 0);
    assert.equal(joins([c.clients[0]!, longer]).size, 0);
  });

  test('a port reused minutes later is not the same connection', () => {
    const exchanges = [{ atUs: 0, clientUs: 2 * MS, serverUs: 1 * MS }];
    const now = connection(40030, exchanges, 0);
    const later = connection(40030, [{ atUs: 10 * 60_000 * MS, clientUs: 2 * MS, serverUs: 1 * MS }], 0);
    const got = joins([now.clients[0]!, later.servers[0]!, later.clients[0]!, now.servers[0]!]);
    assert.equal(got.get(now.servers[0]!.spanId)?.parent, now.clients[0]!.spanId);
    assert.equal(got.get(later.servers[0]!.spanId)?.parent, later.clients[0]!.spanId);
  });

  test('the same spans in any order give the same joins', () => {
    const exchanges = Array.from({ length: 5 }, (_, i) => ({ atUs: i * 2 * MS, clientUs: 1.5 * MS, serverUs: 1 * MS }));
    const a = connection(40040, exchanges, 25 * MS);
    const spans = [...a.clients, ...a.servers];
    const forward = joins(spans);
    const backward = joins([...spans].reverse());
    assert.deepEqual([...forward].sort(), [...backward].sort());
  });
});
