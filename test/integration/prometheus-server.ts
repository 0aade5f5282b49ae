/**
 * Runs Debian's real Prometheus for a test: a generated config scraping the
 * given targets every second, storage in a temp dir, loopback only.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, getJson, run, stop, tempDir, waitFor, type RunningProcess } from './helpers.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export function commandPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export const PROMETHEUS_BIN = commandPath('prometheus');
export const PROMTOOL_BIN = commandPath('promtool');

/** Why these tests cannot run, or undefined. */
export function prometheusUnavailable(): string | undefined {
  return PROMETHEUS_BIN && PROMTOOL_BIN ? undefined : "Debian's prometheus package is not installed (scripts/setup.sh installs it)";
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly proc: RunningProcess,
  ) {}

  static async start(targets: readonly string[], job = 'wiretrace-agent'): Promise<PrometheusServer> {
    if (!PROMETHEUS_BIN) throw new Error('prometheus is not installed');
    const port = await freePort();
    const dir = tempDir('wiretrace-prometheus-');
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        `  - job_name: ${job}`,
        '    static_configs:',
        `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
        '',
      ].join('\n'),
    );
    const proc = run(PROMETHEUS_BIN, [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const url = `http://127.0.0.1:${port}`;
    await waitFor('Prometheus to be ready', async () => {
      if (proc.child.exitCode !== null) throw new Error(`prometheus exited: ${proc.stderr().slice(-2000)}`);
      return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
    });
    return new PrometheusServer(url, proc);
  }

  /** An instant query through the HTTP API; the result must be a vector. */
  async query(expr: string): Promise<PromSample[]> {
    const { status, body } = await getJson<{ status: string; error?: string; data: { resultType: string; result: PromSample[] } }>(
      `${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`,
    );
    if (status !== 200) throw new Error(`query failed (${status}): ${expr}: ${JSON.stringify(body)}`);
    if (body.data.resultType !== 'vector') throw new Error(`not a vector: ${expr}`);
    return body.data.result;
  }

  /** Results keyed `client->server`, for series whose client and server are both in `names`. */
  async byEdge(expr: string, names: ReadonlySet<string>): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const r of await this.query(expr)) {
      const { client, server } = r.metric;
      if (!client || !server || !names.has(client) || !names.has(server)) continue;
      const key = `${client}->${server}`;
      out.set(key, [...(out.get(key) ?? []), Number(r.value[1])]);
    }
    return out;
  }

  async stop(): Promise<void> {
    await stop(this.proc);
  }
}
