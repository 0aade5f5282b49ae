/**
 * The loader dying under a capturing agent: the real agent, the real loader,
 * killed with SIGKILL (no chance to say goodbye). The agent must notice,
 * restart it with back-off, report it in /api/health, and capture again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ebpfUnavailable, getJson, requireBuilt, startAgent, stop, waitFor } from '../integration/helpers.js';
import { getMany, startEchoServer } from './support.js';

interface Health {
  status: string;
  capture: { state: string; loaderPid?: number; loaderRestarts: number; error?: string };
  pipeline: { exchanges: number };
}
interface Services {
  data: string[];
}
interface Traces {
  data: Array<{ spans: Array<{ operationName: string }> }>;
}

const skip = ebpfUnavailable();

/** Every stored trace of every service, as JSON text: enough to look for a path. */
async function storedText(url: string): Promise<string> {
  const services = await getJson<Services>(`${url}/api/services`);
  let text = '';
  for (const service of services.body.data ?? []) {
    const t = await getJson<Traces>(`${url}/api/traces?service=${encodeURIComponent(service)}&lookback=1h&limit=1000`);
    text += JSON.stringify(t.body.data);
  }
  return text;
}

test('a SIGKILLed loader is restarted with back-off and capture resumes', { skip, timeout: 120_000 }, async () => {
  requireBuilt();
  const echo = await startEchoServer();
  const agent = await startAgent(['--port', String(echo.port)]);
  try {
    const first = await getJson<Health>(`${agent.url}/api/health`);
    const pid1 = first.body.capture.loaderPid;
    assert.ok(pid1, 'health names the loader pid');
    assert.equal(first.body.capture.loaderRestarts, 0);

    // Baseline: traffic is captured before the fault.
    await getMany(echo.port, '/before-kill', 3);
    await waitFor('pre-kill spans', async () => ((await storedText(agent.url)).includes('/before-kill') ? true : undefined));

    const killedAt = Date.now();
    process.kill(pid1, 'SIGKILL');

    // The death is visible (state leaves running, or the restart counter moves) ...
    const restarted = await waitFor(
      'a restarted loader',
      async () => {
        const h = (await getJson<Health>(`${agent.url}/api/health`)).body;
        return h.capture.loaderRestarts >= 1 && h.capture.state === 'running' && h.capture.loaderPid !== pid1 ? h : undefined;
      },
      60_000,
    );
    const downMs = Date.now() - killedAt;
    assert.equal(restarted.capture.loaderRestarts, 1, 'one death, one restart');
    assert.equal(restarted.status, 'ok');
    assert.equal(restarted.capture.error, undefined, 'the error clears once running again');
    // The minimum back-off is 500 ms: an immediate respawn loop would be faster.
    assert.ok(downMs >= 500, `restart waited for the back-off (${downMs} ms)`);
    const pid1Gone = (() => {
      try {
        process.kill(pid1, 0);
        return false;
      } catch {
        return true;
      }
    })();
    assert.ok(pid1Gone, 'the killed loader is reaped, not left as a zombie');

    // ... and traffic after the restart is captured by the new loader.
    const before = restarted.pipeline.exchanges;
    await getMany(echo.port, '/after-restart', 5);
    const after = await waitFor(
      'post-restart exchanges',
      async () => {
        const h = (await getJson<Health>(`${agent.url}/api/health`)).body;
        return h.pipeline.exchanges >= before + 5 ? h.pipeline.exchanges : undefined;
      },
      30_000,
    );
    assert.ok(after >= before + 5);
    await waitFor('post-restart spans in the store', async () => ((await storedText(agent.url)).includes('/after-restart') ? true : undefined));
    console.log(`loader restart: down ${downMs} ms, exchanges ${before} -> ${after}`);
  } finally {
    await echo.close();
    assert.equal(await stop(agent.proc), 0, agent.proc.stderr());
  }
});

test('a SIGKILLed agent takes its loader with it (no orphan keeps probes attached)', { skip, timeout: 60_000 }, async () => {
  requireBuilt();
  const agent = await startAgent();
  const h = await getJson<Health>(`${agent.url}/api/health`);
  const loaderPid = h.body.capture.loaderPid;
  assert.ok(loaderPid);
  agent.proc.child.kill('SIGKILL');
  await agent.proc.exited;
  // The loader sees EOF on the stdin pipe the agent held and exits after detaching (~1.5 s).
  const alive = (): boolean => {
    try {
      process.kill(loaderPid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const started = Date.now();
  await waitFor('the orphaned loader to exit', async () => (alive() ? undefined : true), 20_000);
  console.log(`orphaned loader exited ${Date.now() - started} ms after the agent was killed`);
});

test('a loader that keeps dying right after attaching is restarted with a growing back-off', { skip, timeout: 120_000 }, async () => {
  requireBuilt();
  const agent = await startAgent();
  try {
    let pid = (await getJson<Health>(`${agent.url}/api/health`)).body.capture.loaderPid;
    for (let k = 1; k <= 3; k++) {
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      const prev = pid;
      const h = await waitFor(
        `restart ${k}`,
        async () => {
          const b = (await getJson<Health>(`${agent.url}/api/health`)).body;
          return b.capture.state === 'running' && b.capture.loaderPid !== prev && b.capture.loaderRestarts === k ? b : undefined;
        },
        60_000,
      );
      pid = h.capture.loaderPid;
    }
    // The agent logs the back-off it applied before each restart (JSON lines on stderr).
    const backoffs = agent.proc
      .stderr()
      .split('\n')
      .filter((l) => l.includes('loader died; restarting'))
      .map((l) => (JSON.parse(l) as { backoffMs: number }).backoffMs);
    assert.deepEqual(backoffs, [500, 1000, 2000], 'the back-off doubles while the loader keeps dying soon after attaching');
  } finally {
    assert.equal(await stop(agent.proc), 0, agent.proc.stderr());
  }
});
