/**
 * The demo's single source of truth (demo/topology.mjs): ports that never
 * collide, and predictions that follow the business rules for every hop,
 * including the gRPC, TLS and datastore ones. The integration tests compare
 * the agent against these predictions, so a mistake here would hide there.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DATASTORES, EDGES, SERVICES, edgesFor, isFailure, itemOutcome, ports, predictEdges, shippingCode,
} from '../../demo/topology.mjs';

const NGINX_OFFSET = 5; // run.mjs --proxy

describe('demo topology', () => {
  test('every server has its own port, none on the proxy\'s', () => {
    const offsets = [...SERVICES, ...DATASTORES].map((s) => s.portOffset);
    assert.equal(new Set(offsets).size, offsets.length);
    assert.ok(!offsets.includes(NGINX_OFFSET));
    assert.deepEqual(Object.keys(ports(1000)).sort(), [...SERVICES, ...DATASTORES].map((s) => s.name).sort());
  });

  test('every edge joins known processes; datastore edges only with the databases', () => {
    const names = new Set(['loadgen', ...SERVICES.map((s) => s.name), ...DATASTORES.map((d) => d.name)]);
    for (const e of EDGES) assert.ok(names.has(e.client) && names.has(e.server), `${e.client}->${e.server}`);
    assert.equal(edgesFor({ databases: true }).length, EDGES.length);
    assert.deepEqual(
      EDGES.filter((e) => !edgesFor({ databases: false }).includes(e)).map((e) => `${e.client}->${e.server}`),
      ['orders->postgres', 'inventory->redis-server'],
    );
  });

  test('failures: HTTP 5xx, gRPC server-fault codes, no response', () => {
    const grpc = EDGES.find((e) => e.protocol === 'grpc')!;
    const http = EDGES.find((e) => e.server === 'payments')!;
    assert.ok(isFailure(grpc, '14') && !isFailure(grpc, '3') && !isFailure(grpc, '0') && isFailure(grpc, 'error'));
    assert.ok(isFailure(http, '500') && !isFailure(http, '402') && isFailure(http, 'error'));
    assert.equal(shippingCode(42), 14);
    assert.equal(shippingCode(142), 14);
    assert.equal(shippingCode(41), 0);
  });

  test('one checkout per outcome: every hop predicted once, with its status', () => {
    const requests = [1, 3, 5, 7, 9, 42].map((item) => ({ path: `/checkout?item=${item}`, status: itemOutcome(item).frontend }));
    requests.push({ path: '/browse?page=1', status: 200 });
    const { edges, unanswered } = predictEdges(requests, { databases: true });
    assert.equal(unanswered, 0);
    const by = (k: string): Record<string, number> => edges[k]?.byStatus ?? {};
    // Item 9 stops at catalog; the five others reach shipping, orders and inventory (and Redis).
    assert.deepEqual(by('frontend->shipping'), { 0: 4, 14: 1 });
    assert.deepEqual(by('frontend->orders'), { 200: 2, 409: 1, 402: 1, 502: 1 });
    assert.deepEqual(by('inventory->redis-server'), { ok: 5 });
    // Out of stock (3) asks neither rates nor payments, but is recorded in PostgreSQL.
    assert.deepEqual(by('orders->rates'), { 200: 4 });
    assert.deepEqual(by('orders->payments'), { 200: 2, 402: 1, 500: 1 });
    assert.deepEqual(by('orders->postgres'), { ok: 5 });
    assert.deepEqual(by('frontend->catalog'), { 200: 6, 404: 1 });
    const without = predictEdges(requests, { databases: false }).edges;
    assert.equal(without['orders->postgres'], undefined);
    assert.equal(without['inventory->redis-server'], undefined);
  });
});
