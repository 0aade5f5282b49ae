/**
 * Garbage between well-formed calls through the real agent (replay path):
 * the agent counts it in /api/health and /metrics, stores every well-formed
 * call around it, and keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, freePort, getJson, requireBuilt, run, stop, tempDir, waitFor } from '../integration/helpers.js';
import { StreamBuilder } from '../backend-agent/fixtures/capture-stream.js';
import type { SocketTuple } from '../../backend-agent/src/model/events.js';
import { Rng, callTraceId } from './support.js';

const CLIENT = { pid: 5201, comm: 'garbclient' };
const SERVER = { pid: 5202, comm: 'garbserver' };

interface Health {
  pipeline: { parseErrors: Record<string, number>; exchanges: number; framingErrors: number };
  store: { spanCount: number };
}

test('parse errors from a replayed stream with garbage are visible in /api/health and /metrics', { timeout: 60_000 }, async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-garbage-');
  const file = path.join(dir, 'garbage.wtrc');
  const rng = new Rng(77);
  const CALLS = 200;
  // One keep-alive connection seen from both sides; after every 4th exchange the client
  // writes bytes that are not HTTP (mid-stream, where the parser is in sync: parse errors).
  const cs: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: 40100 }, remote: { address: '127.0.0.1', port: 8081 } };
  const ss: SocketTuple = { family: 'ipv4', local: cs.remote, remote: cs.local };
  const b = new StreamBuilder(BigInt(Date.now() - 60_000) * 1_000_000n).open(1n, CLIENT, 'client', cs).open(2n, SERVER, 'server', ss);
  const garbageCalls = new Set<number>();
  for (let i = 0; i < CALLS; i++) {
    if (i > 0 && i % 4 === 0) {
      garbageCalls.add(i);
      const junk = Array.from({ length: 20 + rng.int(200) }, () => String.fromCharCode(1 + rng.int(126))).join('').replaceAll('\n', ' ') + '\r\n';
      b.data(1n, CLIENT, 'client', cs, 'egress', junk).data(2n, SERVER, 'server', ss, 'ingress', junk);
    }
    const req = `GET /g/${i} HTTP/1.1\r\nHost: garbserver\r\ntraceparent: 00-${callTraceId(i)}-${(i + 1).toString(16).padStart(16, '0')}-01\r\n\r\n`;
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    b.data(1n, CLIENT, 'client', cs, 'egress', req).data(2n, SERVER, 'server', ss, 'ingress', req);
    b.data(2n, SERVER, 'server', ss, 'egress', res).data(1n, CLIENT, 'client', cs, 'ingress', res).advance(1_000_000n);
  }
  b.close(1n, CLIENT, cs).close(2n, SERVER, ss);
  const stream = b.bytes();
  fs.writeFileSync(file, stream);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const agent = run('node', [AGENT_BIN, '--replay', file, '--db', path.join(dir, 'spans.db'), '--listen', `127.0.0.1:${port}`]);
  try {
    await waitFor('replay', async () => {
      if (agent.child.exitCode !== null) throw new Error(agent.stderr());
      return agent.stderr().includes('replay done') ? true : undefined;
    });
    const h = (await getJson<Health>(`${url}/api/health`)).body;
    const http1Errors = h.pipeline.parseErrors.http1 ?? 0;
    assert.ok(http1Errors >= garbageCalls.size, `health counts parse errors: ${JSON.stringify(h.pipeline.parseErrors)}`);
    assert.equal(h.pipeline.framingErrors, 0);
    // Every call, garbage-prefixed or not, is stored from both sides.
    assert.equal(h.store.spanCount, CALLS * 2);
    for (const i of [0, 4, 100, 196, 199]) {
      const t = await getJson<{ data: Array<{ spans: unknown[] }> }>(`${url}/api/traces/${callTraceId(i)}`);
      assert.equal(t.status, 200, `call ${i}`);
      assert.equal(t.body.data[0]?.spans.length, 2, `call ${i} (garbage before it: ${garbageCalls.has(i)})`);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const m = /^wiretrace_parse_errors_total\{protocol="http1"\} (\d+)/m.exec(metrics);
    assert.ok(m, `no wiretrace_parse_errors_total{protocol="http1"} in /metrics`);
    assert.equal(Number(m[1]), http1Errors, '/metrics and /api/health agree');
    console.log(`garbage replay: ${garbageCalls.size} garbage chunks, ${http1Errors} http1 parse errors counted, ${h.store.spanCount} spans`);
  } finally {
    assert.equal(await stop(agent), 0, agent.stderr());
  }
});
