/**
 * Privilege separation: the loader runs as root on its own and writes into a
 * named pipe; the agent runs as `nobody` and reads it. Real loader, real
 * traffic, real unprivileged agent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, LOADER_BIN, ebpfUnavailable, freePort, getJson, requireBuilt, run, stop, tempDir, waitFor, type RunningProcess } from './helpers.js';

const NOBODY = 65534;
const skipReason = ebpfUnavailable();

interface CapturedSpan {
  kind: string;
  attributes: Record<string, unknown>;
  process: { pid: number; executableName: string };
}

interface Health {
  status: string;
  capture: { state: string; loaderRestarts: number; kernel: Record<string, number> };
  pipeline: { exchanges: number };
}

/** Starts the loader as root, writing into the pipe (the shell's redirection opens it). */
function startLoader(fifo: string, excludePort: number): ChildProcess {
  return spawn('sh', ['-c', `exec "$0" --exclude-port ${excludePort} > "$1"`, LOADER_BIN, fifo], { stdio: ['pipe', 'ignore', 'pipe'] });
}

describe('agent without privilege reading a separately started loader', { skip: skipReason }, () => {
  let dir: string;
  let fifo: string;
  let url: string;
  let apiPort: number;
  let agent: RunningProcess;
  let loader: ChildProcess | undefined;
  let server: RunningProcess;
  let serverPort: number;

  before(async () => {
    requireBuilt();
    dir = tempDir('wiretrace-pipe-');
    fs.chmodSync(dir, 0o777);
    fifo = path.join(dir, 'capture.fifo');
    execFileSync('mkfifo', ['-m', '0644', fifo]);
    apiPort = await freePort();
    url = `http://127.0.0.1:${apiPort}`;
    agent = run('setpriv', [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      '--inh-caps=-all',
      'node',
      AGENT_BIN,
      '--capture-pipe',
      fifo,
      '--db',
      path.join(dir, 'spans.db'),
      '--listen',
      `127.0.0.1:${apiPort}`,
    ]);
    await waitFor('the unprivileged agent to listen', async () => (await getJson<Health>(`${url}/api/health`)).body);
    serverPort = await freePort();
    server = run('python3', ['-m', 'http.server', String(serverPort), '--bind', '127.0.0.1']);
    await waitFor('the test server', async () => ((await fetch(`http://127.0.0.1:${serverPort}/`)).ok ? true : undefined));
  });

  after(async () => {
    if (loader && loader.exitCode === null) loader.kill('SIGTERM');
    if (server) await stop(server);
    if (agent) assert.equal(await stop(agent), 0, agent.stderr());
  });

  test('the agent runs as nobody and waits for a loader', async () => {
    const status = fs.readFileSync(`/proc/${agent.child.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'));
    assert.match(status, /^CapEff:\s+0+$/m, 'no capabilities at all');
    const { body } = await getJson<Health>(`${url}/api/health`);
    assert.equal(body.capture.state, 'starting');
    assert.equal(body.status, 'degraded');
  });

  test('traffic captured by the root loader becomes spans in the unprivileged agent', async () => {
    loader = startLoader(fifo, apiPort);
    await waitFor('capture running', async () => ((await getJson<Health>(`${url}/api/health`)).body.capture.state === 'running' ? true : undefined));
    // curl is a child of this test (not of the loader), so its traffic is captured.
    execFileSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${serverPort}/a`, `http://127.0.0.1:${serverPort}/b`]);
    // The loader captures the whole host: on a busy machine thousands of other
    // spans a second arrive, so the query asks for this server's port only
    // (newest spans overall would hide curl's behind them).
    const query = new URLSearchParams({
      limit: '100',
      start: String((Date.now() - 600_000) * 1000),
      tags: JSON.stringify({ 'server.port': String(serverPort) }),
    });
    const spans = await waitFor('spans from the piped capture', async () => {
      const { body } = await getJson<{ spans: CapturedSpan[] }>(`${url}/api/v1/spans?${query}`);
      return body.spans.length >= 4 ? body.spans : undefined;
    });
    assert.deepEqual(spans.map((s) => `${s.kind}:${String(s.attributes['url.path'])}`).sort(), ['client:/a', 'client:/b', 'server:/a', 'server:/b']);
    for (const s of spans) assert.equal(s.attributes['server.port'], serverPort);
    // Each side is attributed to its own process: the server's pid, curl's executable.
    for (const s of spans.filter((s) => s.kind === 'server')) assert.equal(s.process.pid, server.child.pid);
    for (const s of spans.filter((s) => s.kind === 'client')) assert.equal(s.process.executableName, 'curl');
  });

  test('when the loader goes, the agent waits; the next loader is picked up', async () => {
    assert.ok(loader);
    loader.kill('SIGTERM');
    await new Promise((r) => loader?.once('exit', r));
    await waitFor('the agent to notice', async () => ((await getJson<Health>(`${url}/api/health`)).body.capture.state === 'restarting' ? true : undefined));
    loader = startLoader(fifo, apiPort);
    const health = await waitFor('capture running again', async () => {
      const { body } = await getJson<Health>(`${url}/api/health`);
      return body.capture.state === 'running' ? body : undefined;
    });
    assert.equal(health.capture.loaderRestarts, 1);
  });
});

test('--capture-pipe on something that is not a named pipe is one clear line', async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-pipe-');
  const notFifo = path.join(dir, 'plain-file');
  fs.writeFileSync(notFifo, '');
  const p = run('node', [AGENT_BIN, '--capture-pipe', notFifo, '--db', path.join(dir, 's.db'), '--listen', `127.0.0.1:${await freePort()}`]);
  assert.equal(await p.exited, 2);
  assert.match(p.stderr().trim(), /wiretrace-agent: error: capture pipe .*plain-file is not a named pipe \(create it with mkfifo\)$/);
});
