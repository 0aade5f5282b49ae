/**
 * A short-lived client is named from its OTEL_SERVICE_NAME even when the agent
 * reads its events only after it exited: the loader described it (PROC_INFO)
 * while it ran. The agent is stopped (SIGSTOP) while the client runs, so by
 * the time it reads the client's connection /proc has nothing on the client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { ebpfUnavailable, getJson, requireBuilt, run, startAgent, stop, waitFor, type AgentHandle, type RunningProcess } from './helpers.js';
import type { JaegerTrace } from './jaeger-json.js';

const skipReason = ebpfUnavailable();
const PORT_BASE = Number(process.env.WIRETRACE_PROC_IT_PORT_BASE ?? 19250);
const API_PORT = PORT_BASE;
const SERVER_PORT = PORT_BASE + 1;
const TRACE = '3c1f2e4d5a6b7c8d9e0f1a2b3c4d5e6f';
const SERVICE = 'late-read-client';

/*
 * One request with a traceparent, then a short pause before exiting: the
 * loader reads its rings every 50 ms, and the pause keeps the client alive
 * until then (a client gone within that window is not described; see the
 * loader's proc_gone_unread counter).
 */
const CLIENT_PY = String.raw`
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(('GET /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntraceparent: 00-' + sys.argv[2] + '-1111111111111111-01\r\n\r\n').encode())
while s.recv(65536):
    pass
s.close()
time.sleep(0.2)
`;

describe('process identity captured by the loader', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let server: RunningProcess;

  before(async () => {
    requireBuilt();
    server = run('python3', ['-m', 'http.server', String(SERVER_PORT), '--bind', '127.0.0.1']);
    await waitFor('the test server', async () => ((await fetch(`http://127.0.0.1:${SERVER_PORT}/`)).ok ? true : undefined));
    // WIRETRACE_PROC_IT_LOADER: another loader binary, to show this test fails without PROC_INFO.
    agent = await startAgent(process.env.WIRETRACE_PROC_IT_LOADER ? ['--loader', process.env.WIRETRACE_PROC_IT_LOADER] : [], API_PORT);
  });

  after(async () => {
    if (agent) {
      // Never leave it stopped, whatever failed.
      if (agent.proc.child.pid) process.kill(agent.proc.child.pid, 'SIGCONT');
      assert.equal(await stop(agent.proc), 0, agent.proc.stderr());
    }
    if (server) await stop(server);
  });

  test('a client that exited before the agent read its events is named from OTEL_SERVICE_NAME', async () => {
    const agentPid = agent.proc.child.pid;
    assert.ok(agentPid);
    let clientPid = 0;
    process.kill(agentPid, 'SIGSTOP');
    try {
      const out = execFileSync('sh', ['-c', 'echo $$; exec python3 -c "$0" "$1" "$2"', CLIENT_PY, String(SERVER_PORT), TRACE], {
        env: { ...process.env, OTEL_SERVICE_NAME: SERVICE },
      });
      clientPid = Number(out.toString().trim());
      // The loader keeps reading (into the pipe) while the agent is stopped.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      process.kill(agentPid, 'SIGCONT');
    }
    assert.ok(clientPid > 0 && !fs.existsSync(`/proc/${clientPid}`), 'the client is gone before the agent reads its events');

    const services = await waitFor('the client span of the late-read client', async () => {
      const { status, body } = await getJson<{ data: JaegerTrace[] }>(`${agent.url}/api/traces/${TRACE}`);
      const trace = status === 200 ? body.data[0] : undefined;
      if (!trace) return undefined;
      const names = trace.spans.map((s) => trace.processes[s.processID]?.serviceName ?? '?');
      return names.length >= 2 ? names : undefined;
    });
    assert.ok(services.includes(SERVICE), `client named ${SERVICE}; services seen: ${services.join(', ')}`);

    // STATS come once a second: wait for one written after the client ran.
    await waitFor('the loader to count its PROC_INFO records', async () => {
      const { body } = await getJson<{ capture: { kernel: Record<string, number> } }>(`${agent.url}/api/health`);
      return (body.capture.kernel.proc_info_records ?? 0) >= 2 ? true : undefined;
    }, 10_000);
  });
});
