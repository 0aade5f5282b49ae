/**
 * A full disk under the real agent: the store lives on a tiny tmpfs mounted
 * for this test (root only). Ingest stops with `store.writeError` in
 * /api/health while queries keep answering; spans wait in the writer's
 * bounded buffer; when the filesystem grows again, they are written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, freePort, getJson, requireBuilt, run, stop, tempDir, waitFor } from '../integration/helpers.js';
import { buildCallStream } from './support.js';

interface Health {
  status: string;
  pipeline: { spansWritten: number; spansDroppedBackpressure: number };
  store: { spanCount: number; writeError?: string };
}

function tmpfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (CI runs as root)';
  const dir = tempDir('wiretrace-tmpfs-probe-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  if (r.status !== 0) return `cannot mount tmpfs here: ${r.stderr.toString().trim()}`;
  spawnSync('umount', [dir]);
  return undefined;
}

test('a full disk pauses ingest with a clear error, queries keep working, ingest resumes when space returns', { skip: tmpfsUnavailable(), timeout: 120_000 }, async () => {
  requireBuilt();
  const work = tempDir('wiretrace-full-');
  const mnt = path.join(work, 'store');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=768k', 'tmpfs', mnt]);
  const CALLS = 4000;
  const file = path.join(work, 'calls.wtrc'); // outside the small mount
  fs.writeFileSync(file, buildCallStream(CALLS, BigInt(Date.now() - 120_000) * 1_000_000n));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const agent = run('node', [AGENT_BIN, '--replay', file, '--db', path.join(mnt, 'spans.db'), '--listen', `127.0.0.1:${port}`]);
  try {
    await waitFor('replay', async () => {
      if (agent.child.exitCode !== null) throw new Error(agent.stderr());
      return agent.stderr().includes('replay done') ? true : undefined;
    });
    const full = (await getJson<Health>(`${url}/api/health`)).body;
    assert.match(full.store.writeError ?? '', /full|SQLITE_FULL|no space/i, JSON.stringify(full.store));
    assert.equal(full.status, 'degraded');
    assert.ok(full.store.spanCount < CALLS * 2, 'the disk really filled');
    assert.equal(full.pipeline.spansDroppedBackpressure, 0, 'under the buffer bound nothing is dropped');
    const services = await getJson<{ data: string[] }>(`${url}/api/services`);
    assert.equal(services.status, 200, 'queries keep working on a full disk');

    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    const healed = await waitFor('ingest to resume', async () => {
      const h = (await getJson<Health>(`${url}/api/health`)).body;
      return h.store.writeError === undefined ? h : undefined;
    });
    assert.equal(healed.status, 'ok');
    assert.equal(healed.store.spanCount, CALLS * 2, 'every buffered span was written once space returned');
    console.log(`full disk: "${full.store.writeError}" at ${full.store.spanCount} spans; ${healed.store.spanCount} after remount`);
  } finally {
    assert.equal(await stop(agent), 0, agent.stderr());
    spawnSync('umount', [mnt]);
  }
});
