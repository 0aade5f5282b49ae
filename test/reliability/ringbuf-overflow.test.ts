/**
 * Ring-buffer overflow under a burst, on the real loader: a 1 MiB data ring
 * and a reader that stops reading (as a stalled agent would) make the kernel
 * drop DATA records. The drops must be counted in STATS (never silent), and
 * once the burst is over and the reader is back, capture works again and no
 * new drops appear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import type { CaptureEvent } from '../../backend-agent/src/model/events.js';
import { LOADER_BIN, ebpfUnavailable, freePort, requireBuilt, waitFor } from '../integration/helpers.js';

// Runs in a child process: the loader never traces its parent (this test), so traffic must come from elsewhere.
const TRAFFIC = `
const http = require('node:http');
const [port, n, size, path] = process.argv.slice(1).map((v, i) => (i < 3 ? Number(v) : v));
const body = Buffer.alloc(size, 0x61);
const srv = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
srv.listen(port, '127.0.0.1', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const one = () => new Promise((resolve, reject) => {
    const r = http.request({ port, host: '127.0.0.1', path, method: 'POST', agent, headers: { 'content-length': size } }, (res) => { res.resume(); res.on('end', resolve); });
    r.on('error', reject);
    r.end(body);
  });
  const all = [];
  for (let i = 0; i < n; i++) all.push(one());
  await Promise.all(all);
  agent.destroy();
  srv.close();
});
`;

function traffic(port: number, n: number, size: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', TRAFFIC, String(port), String(n), String(size), path], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`traffic exited ${code}`))));
  });
}

test('a burst that overflows the data ring is counted and capture recovers', { skip: ebpfUnavailable(), timeout: 120_000 }, async () => {
  requireBuilt();
  const port = await freePort();
  const loader = spawn(LOADER_BIN, ['--data-ringbuf-mb', '1', '--max-payload', '16384', '--port', String(port), '--stats-interval-ms', '100'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  loader.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const decoder = new FrameDecoder();
  const events: CaptureEvent[] = [];
  const onData = (chunk: Buffer): void => {
    for (const e of decoder.push(chunk)) events.push(e);
  };
  const dropsNow = (): number => {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (e?.type === 'stats') return e.counters.drop_ringbuf_data ?? 0;
    }
    return 0;
  };
  try {
    await waitFor('loader ready', async () => {
      if (loader.exitCode !== null) throw new Error(`loader exited ${loader.exitCode}: ${stderr}`);
      return stderr.includes('ready:') ? true : undefined;
    });
    loader.stdout.on('data', onData);
    await waitFor('first STATS', async () => (events.some((e) => e.type === 'stats') ? true : undefined));
    assert.equal(dropsNow(), 0, 'no drops before the burst');

    // Stall the reader: the pipe and the loader's 4 MiB buffer fill, then the 1 MiB ring.
    loader.stdout.pause();
    loader.stdout.off('data', onData);
    await traffic(port, 400, 256 * 1024, '/burst'); // ~100 MiB each way
    loader.stdout.on('data', onData);
    loader.stdout.resume();

    const drops = await waitFor('drops in STATS', async () => (dropsNow() > 0 ? dropsNow() : undefined), 30_000);
    // Drops are visible as gaps too: the stream positions of one direction jump.
    await new Promise((r) => setTimeout(r, 500));
    const settled = dropsNow();

    const before = events.length;
    await traffic(port, 5, 100, '/after-burst');
    await waitFor(
      'post-burst requests captured',
      async () => {
        const text = events
          .slice(before)
          .filter((e) => e.type === 'data')
          .map((e) => (e.type === 'data' ? e.payload.toString('latin1') : ''))
          .join('');
        return (text.match(/POST \/after-burst HTTP\/1\.1/g)?.length ?? 0) >= 5 ? true : undefined;
      },
      20_000,
    );
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(dropsNow(), settled, 'no new drops once the burst is over');
    console.log(`ringbuf overflow: ${drops} DATA records dropped during the burst (${settled} total), capture recovered`);
  } finally {
    if (loader.exitCode === null && loader.signalCode === null) {
      const exited = new Promise((r) => loader.once('exit', r));
      loader.stdin.end();
      loader.kill('SIGTERM');
      await exited;
    }
  }
});
