/**
 * The loader's PROC_INFO record against the real kernel and /proc: needs root,
 * BTF and `make -C bpf`. What it reads, in what order it sends it, and what it
 * must not send (the rest of the environment).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import type { CaptureEvent, ProcInfoEvent } from '../../backend-agent/src/model/events.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOADER = process.env.WIRETRACE_TEST_LOADER ?? join(ROOT, 'bpf', 'wiretrace-loader');
const PORT = Number(process.env.WIRETRACE_PROC_TEST_PORT ?? 19252);
const SECRET = 'h10-secret-value-that-must-stay-home';
const LONG_ARG = `--filler=${'x'.repeat(1500)}`;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (CAP_BPF, CAP_PERFMON)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF (/sys/kernel/btf/vmlinux)';
  return undefined;
}

const SERVER_PY = String.raw`
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', int(sys.argv[1])))
srv.listen()
print('ready', flush=True)
while True:
    c, _ = srv.accept()
    c.recv(100)
    c.sendall(b'pong')
    c.close()
`;

// argv[2] is the long argument, so the command line is over the 1 KiB the record keeps.
const CLIENT_PY = String.raw`
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'ping')
s.recv(100)
s.close()
time.sleep(0.2)
`;

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.on('exit', (code) => r(code))));
}

describe('PROC_INFO from the loader', { skip: skipReason() }, () => {
  let loader: ChildProcess;
  let server: ChildProcess;
  const events: CaptureEvent[] = [];
  const raw: Buffer[] = [];

  before(async () => {
    assert.ok(existsSync(LOADER), `${LOADER} is missing: build it first with \`make -C bpf\``);
    server = spawn('python3', ['-c', SERVER_PY, String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
    loader = spawn(LOADER, ['--port', String(PORT), '--stats-interval-ms', '200'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const decoder = new FrameDecoder();
    loader.stdout!.on('data', (chunk: Buffer) => {
      raw.push(chunk);
      events.push(...decoder.push(chunk));
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      loader.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        if (err.includes(': ready: ')) resolve();
      });
      loader.once('exit', (code) => reject(new Error(`loader exited ${code}: ${err}`)));
    });
  });

  after(async () => {
    server?.kill('SIGKILL');
    if (loader && loader.exitCode === null) {
      loader.kill('SIGTERM');
      await exited(loader);
    }
  });

  test('describes a client once, before its first record, with only the variables the agent uses', async () => {
    const client = spawn('python3', ['-c', CLIENT_PY, String(PORT), LONG_ARG], {
      stdio: 'ignore',
      cwd: '/tmp',
      // FILLER first: OTEL_SERVICE_NAME then straddles the loader's 4 KiB read of environ.
      env: { FILLER: 'f'.repeat(4080), OTEL_SERVICE_NAME: 'proc-info-client', PATH: process.env.PATH ?? '/usr/bin:/bin', SERVICE_NAME: 'plain', WT_TOKEN: SECRET },
    });
    const pid = client.pid;
    assert.ok(pid);
    assert.equal(await exited(client), 0);
    // Loader gone = everything it read is written (final drain).
    await new Promise((r) => setTimeout(r, 300));
    loader.kill('SIGTERM');
    assert.equal(await exited(loader), 0);

    const mine = events.filter((e) => 'pid' in e && e.pid === pid && (e.type === 'proc-info' || e.type === 'conn' || e.type === 'data'));
    assert.ok(mine.length >= 2, `records of the client: ${mine.map((e) => e.type).join(',')}`);
    assert.equal(mine[0]?.type, 'proc-info', 'PROC_INFO comes before the first CONN/DATA of the process');
    const infos = mine.filter((e): e is ProcInfoEvent => e.type === 'proc-info');
    assert.equal(infos.length, 1, 'described once');
    const info = infos[0]!;
    assert.equal(info.comm, 'python3');
    assert.equal(info.exe, pythonExecutable());
    assert.equal(info.cwd, '/tmp');
    assert.match(info.startTime, /^\d+$/);
    assert.deepEqual(info.environ, { OTEL_SERVICE_NAME: 'proc-info-client', SERVICE_NAME: 'plain' });
    assert.equal(info.cmdline.length, 1024);
    assert.equal(info.cmdlineTruncated, true);
    // argv[0] is however PATH found python3 (pyenv's wrapper execs the real one by its full path).
    assert.equal(info.cmdline.toString().split('\0')[1], '-c');

    // Privacy: no other variable of the environment crossed the pipe.
    assert.equal(Buffer.concat(raw).indexOf(SECRET), -1, 'the rest of the environment stays in the loader');
    const serverInfo = events.find((e): e is ProcInfoEvent => e.type === 'proc-info' && e.pid === server.pid);
    assert.ok(serverInfo, 'the server, started before the loader, is described at its first record too');
  });
});

/** The interpreter binary python3 runs as (PATH may hold a wrapper: pyenv shims exec the real one). */
function pythonExecutable(): string {
  const r = spawnSync('python3', ['-c', 'import os, sys; print(os.path.realpath(sys.executable))'], { encoding: 'utf8' });
  return r.stdout.trim();
}
