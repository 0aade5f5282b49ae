/**
 * `wiretrace-agent --replay`: a recorded loader stream goes through the real
 * CLI, decoder, pipeline and store, and comes out of the Jaeger API. No
 * kernel needed, so this also runs where eBPF is unavailable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, freePort, getJson, requireBuilt, run, stop, tempDir, waitFor } from './helpers.js';
import { StreamBuilder } from '../backend-agent/fixtures/capture-stream.js';
import type { SocketTuple } from '../../backend-agent/src/model/events.js';

const client = { pid: 4001, comm: 'checkout' };
const server = { pid: 4002, comm: 'ledger' };
const cs: SocketTuple = { family: 'ipv6', local: { address: '::1', port: 41000 }, remote: { address: '::1', port: 9000 } };
const ss: SocketTuple = { family: 'ipv6', local: cs.remote, remote: cs.local };
const TRACE = '0af7651916cd43dd8448eb211c80319c';

test('a replayed capture is served by the Jaeger API with both sides of the call', async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-replay-');
  const file = path.join(dir, 'capture.wtrc');
  const nowOffset = BigInt(Date.now() - 60_000) * 1_000_000n; // a minute ago, inside default search windows
  const b = new StreamBuilder(nowOffset).open(1n, client, 'client', cs).open(2n, server, 'server', ss);
  for (let i = 0; i < 5; i++) {
    const req = `POST /ledger/entries HTTP/1.1\r\nHost: ledger\r\nContent-Length: 2\r\nb3: ${TRACE.slice(16)}-${(0xa0 + i).toString(16).padStart(16, '0')}-1\r\n\r\n{}`;
    const res = `HTTP/1.1 ${i === 4 ? 500 : 201} X\r\nContent-Length: 0\r\n\r\n`;
    b.data(1n, client, 'client', cs, 'egress', req).data(2n, server, 'server', ss, 'ingress', req);
    b.data(2n, server, 'server', ss, 'egress', res).data(1n, client, 'client', cs, 'ingress', res).advance(5_000_000n);
  }
  fs.writeFileSync(file, b.bytes());

  const port = await freePort();
  const agent = run('node', [AGENT_BIN, '--replay', file, '--db', path.join(dir, 'spans.db'), '--listen', `127.0.0.1:${port}`]);
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor('replay to finish', async () => (agent.stderr().includes('replay done') ? true : undefined));
    const services = await getJson<{ data: string[] }>(`${url}/api/services`);
    assert.deepEqual(services.body.data.sort(), ['checkout', 'ledger']);
    // b3 with a 16-hex trace id is left-padded to 32.
    const padded = `0000000000000000${TRACE.slice(16)}`;
    const trace = await getJson<{ data: Array<{ spans: Array<{ tags: Array<{ key: string; value: unknown }>; references: unknown[] }> }> }>(`${url}/api/traces/${padded}`);
    assert.equal(trace.status, 200);
    const spans = trace.body.data[0]?.spans ?? [];
    assert.equal(spans.length, 10, 'five calls, each seen from both sides');
    const kinds = spans.map((s) => s.tags.find((t) => t.key === 'span.kind')?.value);
    assert.equal(kinds.filter((k) => k === 'server').length, 5);
    const errors = spans.filter((s) => s.tags.some((t) => t.key === 'error' && t.value === true));
    assert.equal(errors.length, 2, 'the 500 is an error on both sides');
    const deps = await getJson<{ data: Array<{ parent: string; child: string; callCount: number }> }>(
      `${url}/api/dependencies?endTs=${Date.now()}&lookback=3600000`,
    );
    assert.deepEqual(deps.body.data, [{ parent: 'checkout', child: 'ledger', callCount: 5 }]);
  } finally {
    assert.equal(await stop(agent), 0, agent.stderr());
  }
});

test('replaying a file that is not a loader stream fails with one line', async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-replay-');
  const file = path.join(dir, 'bogus.wtrc');
  fs.writeFileSync(file, 'GET / HTTP/1.1\r\n\r\n');
  const agent = run('node', [AGENT_BIN, '--replay', file, '--db', path.join(dir, 'spans.db'), '--listen', `127.0.0.1:${await freePort()}`]);
  assert.equal(await agent.exited, 2);
  assert.match(agent.stderr().trim().split('\n').pop() ?? '', /^wiretrace-agent: error: cannot replay .*bogus\.wtrc: not a wiretrace loader stream/);
});
