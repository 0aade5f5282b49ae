/**
 * The services under load: the Node.js stdlib service (plain or with the
 * OpenTelemetry SDK), a Python http.server service and Debian's nginx.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertPortFree, BENCH, startChild, waitForHttp, type Child } from './child.js';

export interface Target {
  name: string;
  url: string;
  port: number;
  /** Pids whose CPU belongs to the service (nginx: master and worker). */
  pids: () => number[];
  stop: () => Promise<void>;
}

const PATH = '/api/items/42';

async function fromChild(name: string, port: number, child: Child, extra: Child[] = []): Promise<Target> {
  const url = `http://127.0.0.1:${port}${PATH}`;
  await waitForHttp(url, child);
  return {
    name,
    url,
    port,
    pids: () => [child.pid],
    stop: async () => {
      await child.stop();
      for (const c of extra) await c.stop();
    },
  };
}

export async function startNode(port: number): Promise<Target> {
  await assertPortFree(port);
  return fromChild('node', port, startChild('node', [path.join(BENCH, 'services', 'node-http.cjs'), String(port)]));
}

export interface OtelTarget extends Target {
  sinkStats: () => Promise<{ requests: number; spans: number; bytes: number }>;
  sinkPid: number;
}

export async function startNodeOtel(port: number, sinkPort: number): Promise<OtelTarget> {
  await assertPortFree(port);
  await assertPortFree(sinkPort);
  const sink = startChild('node', [path.join(BENCH, 'services', 'otlp-sink.mjs'), String(sinkPort)]);
  await waitForHttp(`http://127.0.0.1:${sinkPort}/stats`, sink);
  const svc = startChild('node', ['--require', path.join(BENCH, 'services', 'otel-setup.cjs'), path.join(BENCH, 'services', 'node-http.cjs'), String(port)], {
    cwd: BENCH,
    env: { ...process.env, BENCH_OTLP_URL: `http://127.0.0.1:${sinkPort}/v1/traces`, OTEL_SERVICE_NAME: 'bench-node-otel' },
  });
  // Reported as the same service as the plain one: only the tracer differs.
  const t = await fromChild('node', port, svc, [sink]);
  return {
    ...t,
    sinkPid: sink.pid,
    sinkStats: async () => (await (await fetch(`http://127.0.0.1:${sinkPort}/stats`)).json()) as { requests: number; spans: number; bytes: number },
  };
}

export async function startPython(port: number): Promise<Target> {
  await assertPortFree(port);
  return fromChild('python', port, startChild('python3', [path.join(BENCH, 'services', 'py_http.py'), String(port)]));
}

export async function startNginx(port: number): Promise<Target> {
  await assertPortFree(port);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-nginx-'));
  const conf = path.join(dir, 'nginx.conf');
  // One worker, like the single-threaded Node service; a static response.
  fs.writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:${port};
    location / {
      default_type application/json;
      return 200 '{"id":42,"sku":"ABC-1234","inStock":true,"quantity":17,"warehouse":"eu-west"}';
    }
  }
}
`,
  );
  const child = startChild('nginx', ['-p', dir, '-c', conf, '-e', `${dir}/error.log`]);
  const t = await fromChild('nginx', port, child);
  return {
    ...t,
    pids: () => nginxPids(child.pid),
    stop: async () => {
      await t.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function nginxPids(master: number): number[] {
  const out = [master];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === master) out.push(Number(name));
    } catch {
      // raced with exit
    }
  }
  return out;
}
