/**
 * A store that turns read-only under a running, capturing agent. Root ignores
 * file permissions, so the store directory and files are made immutable with
 * `chattr +i` (ext4/xfs/btrfs/tmpfs>=6.0 honour it for root, including writes
 * through descriptors opened before the flag was set). Ingest must stop with
 * a clear `store.writeError` in /api/health while queries keep answering,
 * then resume, losing nothing buffered, when the flag is removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ebpfUnavailable, getJson, requireBuilt, startAgent, stop, waitFor } from '../integration/helpers.js';
import { getMany, startEchoServer } from './support.js';

interface Health {
  status: string;
  pipeline: { exchanges: number; spansWritten: number };
  store: { spanCount: number; writeError?: string };
}

/** Why chattr +i cannot be used here, or undefined. Probed on a scratch file next to where the store will live. */
function immutableUnavailable(): string | undefined {
  const ebpf = ebpfUnavailable();
  if (ebpf) return ebpf;
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'wiretrace-chattr-'));
  const f = path.join(dir, 'probe');
  fs.writeFileSync(f, 'x');
  const r = spawnSync('chattr', ['+i', f]);
  if (r.error || r.status !== 0) return `chattr +i not supported here: ${r.error?.message ?? r.stderr.toString().trim()}`;
  let blocked = false;
  try {
    fs.appendFileSync(f, 'y');
  } catch {
    blocked = true;
  }
  spawnSync('chattr', ['-i', f]);
  fs.rmSync(dir, { recursive: true, force: true });
  return blocked ? undefined : 'this filesystem ignores the immutable flag';
}

function storeFiles(dbPath: string): string[] {
  return [path.dirname(dbPath), ...['', '-wal', '-shm'].map((s) => dbPath + s).filter((f) => fs.existsSync(f))];
}

test('a read-only store pauses ingest with a clear error, queries keep working, ingest resumes', { skip: immutableUnavailable(), timeout: 120_000 }, async () => {
  requireBuilt();
  const echo = await startEchoServer();
  const agent = await startAgent(['--port', String(echo.port)]);
  let locked: string[] = [];
  try {
    await getMany(echo.port, '/writable', 3);
    const before = await waitFor('spans before the fault', async () => {
      const h = (await getJson<Health>(`${agent.url}/api/health`)).body;
      return h.store.spanCount >= 6 ? h : undefined;
    });

    locked = storeFiles(agent.dbPath);
    execFileSync('chattr', ['+i', ...locked]);

    await getMany(echo.port, '/while-readonly', 5);
    const broken = await waitFor('a write error in health', async () => {
      const h = (await getJson<Health>(`${agent.url}/api/health`)).body;
      return h.store.writeError ? h : undefined;
    });
    assert.equal(broken.status, 'degraded');
    assert.match(broken.store.writeError ?? '', /read-?only|permission|not permitted|readonly|EPERM|I\/O|disk/i);
    assert.equal(broken.store.spanCount, before.store.spanCount, 'nothing new was written');

    // Queries still answer from what is stored.
    const services = await getJson<{ data: string[] }>(`${agent.url}/api/services`);
    assert.equal(services.status, 200);
    assert.ok(services.body.data.length > 0);
    const metrics = await fetch(`${agent.url}/metrics`);
    assert.equal(metrics.status, 200);
    await metrics.text();

    execFileSync('chattr', ['-i', ...locked]);
    locked = [];
    const healed = await waitFor('ingest to resume', async () => {
      const h = (await getJson<Health>(`${agent.url}/api/health`)).body;
      return h.store.writeError === undefined && h.store.spanCount >= before.store.spanCount + 10 ? h : undefined;
    });
    assert.equal(healed.status, 'ok');
    console.log(`read-only: error "${broken.store.writeError}", spans ${before.store.spanCount} -> ${healed.store.spanCount}`);
  } finally {
    if (locked.length) execFileSync('chattr', ['-i', ...locked]);
    await echo.close();
    assert.equal(await stop(agent.proc), 0, agent.proc.stderr());
  }
});
