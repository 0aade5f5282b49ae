import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleTrace, socketJoinLinks, headerLinks } from '../../../backend-agent/src/reconstruct/index.js';
import { byId, call, side } from './link-fixtures.js';
import { spanIdOf } from '../fixtures/spans.js';

describe('socket join', () => {
  test('the server span of an exchange becomes the child of the client span with the reversed 4-tuple, keeping network time', () => {
    const out = assembleTrace(call(1, { pid: 10 }, { pid: 20 }, 0, 1000, 8080, 40001), [socketJoinLinks]);
    const server = byId(out, 2, 'server');
    assert.equal(server.parentSpanId, spanIdOf(1));
    assert.equal(server.parentLink?.method, 'socket-join');
    assert.ok(server.parentLink!.confidence > 0.9);
    assert.equal(server.parentLink?.networkTimeNs, 100_000, 'client 1000 µs - server 900 µs');
  });

  test('ports reused later are told apart by time; exchanges on one kept-alive connection pair in order', () => {
    const spans = [
      ...call(1, { pid: 10 }, { pid: 20 }, 0, 1000, 8080, 40001),
      ...call(3, { pid: 10 }, { pid: 20 }, 2000, 1000, 8080, 40001),
      ...call(5, { pid: 10 }, { pid: 20 }, 9000, 1000, 8080, 40001),
    ];
    const out = assembleTrace(spans, [socketJoinLinks]);
    assert.equal(byId(out, 2).parentSpanId, spanIdOf(1));
    assert.equal(byId(out, 4).parentSpanId, spanIdOf(3));
    assert.equal(byId(out, 6).parentSpanId, spanIdOf(5));
  });

  test('no join without the reversed tuple, across hosts, or without overlap', () => {
    const [c, s] = call(1, { pid: 10 }, { pid: 20 }, 0, 1000, 8080, 40001) as [ReturnType<typeof side>, ReturnType<typeof side>];
    const otherPort = { ...s, network: { ...s.network, remote: { address: '127.0.0.1', port: 40002 } } };
    const otherHost = { ...s, process: { ...s.process, hostName: 'host-b' } };
    const later = { ...s, startTimeUs: s.startTimeUs + 5000 };
    for (const server of [otherPort, otherHost, later]) {
      assert.equal(assembleTrace([c, server], [socketJoinLinks]).find((x) => x.kind === 'server')!.parentSpanId, undefined);
    }
  });

  test('a dual-stack server seeing ::ffff:127.0.0.1 still joins', () => {
    const [c, s] = call(1, { pid: 10 }, { pid: 20 }, 0, 1000, 8080, 40001) as [ReturnType<typeof side>, ReturnType<typeof side>];
    const mapped = { ...s, network: { ...s.network, local: { address: '::ffff:127.0.0.1', port: 8080 }, remote: { address: '::ffff:127.0.0.1', port: 40001 } } };
    assert.equal(assembleTrace([c, mapped], [socketJoinLinks]).find((x) => x.kind === 'server')!.parentSpanId, spanIdOf(1));
  });

  test('a header link is kept: socket join only fills gaps', () => {
    const [c, s] = call(1, { pid: 10 }, { pid: 20 }, 0, 1000, 8080, 40001) as [ReturnType<typeof side>, ReturnType<typeof side>];
    const headered = { ...s, parentSpanId: spanIdOf(99) };
    const out = assembleTrace([c, headered], [headerLinks, socketJoinLinks]);
    assert.equal(out.find((x) => x.kind === 'server')!.parentSpanId, spanIdOf(99));
  });
});
