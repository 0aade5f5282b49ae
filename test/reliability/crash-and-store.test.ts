/**
 * Store faults through the real agent process: SIGKILL in the middle of a
 * large replay loses nothing that was committed and the store reopens; a
 * corrupt store file stops start-up with one clear line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AGENT_BIN, freePort, getJson, requireBuilt, run, stop, tempDir, waitFor } from '../integration/helpers.js';
import { buildCallStream, callTraceId } from './support.js';

interface Health {
  status: string;
  pipeline: { spansWritten: number };
  store: { spanCount: number; writeError?: string };
}
interface TraceBody {
  data: Array<{ spans: unknown[] }>;
}

async function spansOf(url: string, traceId: string): Promise<number> {
  const r = await getJson<TraceBody>(`${url}/api/traces/${traceId}`);
  return r.status === 200 ? (r.body.data[0]?.spans.length ?? 0) : 0;
}

test('SIGKILL mid-ingest loses no committed span and the agent restarts on the same store', { timeout: 180_000 }, async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-crash-');
  const file = path.join(dir, 'big.wtrc');
  const dbPath = path.join(dir, 'spans.db');
  const CALLS = 60_000; // 120k spans: long enough to be killed in the middle
  fs.writeFileSync(file, buildCallStream(CALLS, BigInt(Date.now() - 120_000) * 1_000_000n));

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const agent = run('node', [AGENT_BIN, '--replay', file, '--db', dbPath, '--listen', `127.0.0.1:${port}`]);
  let committed: number;
  let probe: number;
  try {
    committed = await waitFor(
      'some spans committed',
      async () => {
        if (agent.child.exitCode !== null) throw new Error(`agent exited early: ${agent.stderr()}`);
        const h = (await getJson<Health>(`${url}/api/health`)).body;
        return h.store.spanCount >= 4000 ? h.store.spanCount : undefined;
      },
      120_000,
    );
    // The newest call known to be fully stored at kill time (calls are stored in order, two spans each).
    probe = Math.floor(committed / 2) - 200;
    assert.equal(await spansOf(url, callTraceId(probe)), 2, `call ${probe} is stored before the kill`);
    assert.equal(await spansOf(url, callTraceId(0)), 2);
    committed = (await getJson<Health>(`${url}/api/health`)).body.store.spanCount;
  } finally {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  assert.ok(!agent.stderr().includes('replay done'), 'killed mid-ingest, not after it');
  assert.ok(committed < CALLS * 2, 'killed before the end');

  // The store survives: SQLite recovers the WAL, integrity holds, nothing committed is missing.
  const db = new Database(dbPath, { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    db.close();
  }

  const port2 = await freePort();
  const url2 = `http://127.0.0.1:${port2}`;
  const again = run('node', [AGENT_BIN, '--capture', 'off', '--db', dbPath, '--listen', `127.0.0.1:${port2}`]);
  try {
    const h = await waitFor('the restarted agent', async () => {
      if (again.child.exitCode !== null) throw new Error(`restart failed: ${again.stderr()}`);
      return (await getJson<Health>(`${url2}/api/health`)).body;
    });
    assert.equal(h.status, 'ok');
    assert.ok(h.store.spanCount >= committed, `restart sees ${h.store.spanCount} spans, ${committed} were committed`);
    assert.equal(await spansOf(url2, callTraceId(0)), 2);
    assert.equal(await spansOf(url2, callTraceId(probe)), 2, 'the last span seen before the kill is still there');
    // Every trace up to the probe is whole: no torn batch in the middle.
    const direct = new Database(dbPath, { readonly: true });
    try {
      const rows = direct.prepare('SELECT COUNT(*) AS n FROM spans').get() as { n: number };
      assert.ok(rows.n >= committed, `spans table holds ${rows.n} >= ${committed}`);
      assert.equal(rows.n, h.store.spanCount, 'the span counter agrees with the table after recovery');
    } finally {
      direct.close();
    }
    console.log(`sigkill: ${committed} spans committed at kill, ${h.store.spanCount} after restart`);
  } finally {
    assert.equal(await stop(again), 0, again.stderr());
  }
});

test('a corrupt store file stops start-up with one clear line', { timeout: 60_000 }, async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-corrupt-');
  const dbPath = path.join(dir, 'spans.db');
  // A real store first, then its header and first pages overwritten.
  const port = await freePort();
  const first = run('node', [AGENT_BIN, '--capture', 'off', '--db', dbPath, '--listen', `127.0.0.1:${port}`]);
  await waitFor('first start', async () => ((await getJson<Health>(`http://127.0.0.1:${port}/api/health`)).status === 200 ? true : undefined));
  assert.equal(await stop(first), 0, first.stderr());
  const fd = fs.openSync(dbPath, 'r+');
  fs.writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 0);
  fs.closeSync(fd);

  const second = run('node', [AGENT_BIN, '--capture', 'off', '--db', dbPath, '--listen', `127.0.0.1:${await freePort()}`]);
  const code = await second.exited;
  assert.equal(code, 2, second.stderr());
  const lines = second.stderr().trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  assert.match(last, /^wiretrace-agent: error: .*spans\.db/);
  assert.match(last, /corrupt|not a database|malformed/i);
  assert.ok(!/\n\s+at /.test(second.stderr()), 'no stack trace');
});
