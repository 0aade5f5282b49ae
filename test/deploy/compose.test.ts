/**
 * Static checks of docker-compose.yml, backend-agent/Dockerfile and the
 * Prometheus config they use: no Docker engine runs here, so what
 * `docker compose up` depends on is checked from the files (and the
 * Prometheus config by the real promtool).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, asArray, asRecord, asString, loadYaml } from '../provisioning/load-yaml.js';

const OUR_PLUGINS = ['wiretrace-agent-datasource', 'wiretrace-servicemap-panel', 'wiretrace-waterfall-panel'];
const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

const compose = asRecord(loadYaml('docker-compose.yml'), 'docker-compose.yml');
const services = asRecord(compose['services'], 'services');
const service = (name: string): Record<string, unknown> => asRecord(services[name], `service ${name}`);
const volumesOf = (s: Record<string, unknown>): Array<{ source: string; target: string }> =>
  (Array.isArray(s['volumes']) ? s['volumes'] : []).map((v) => {
    const [source, target] = asString(v, 'volume').split(':');
    return { source: source!, target: target! };
  });
const environmentOf = (s: Record<string, unknown>): Record<string, unknown> => asRecord(s['environment'] ?? {}, 'environment');

/** .gitignore lines that ignore whole top-level directories (build outputs). */
function ignoredDirs(): Set<string> {
  const lines = fs.readFileSync(path.join(REPO, '.gitignore'), 'utf8').split('\n');
  return new Set(lines.filter((l) => /^[\w.-]+\/$/.test(l.trim())).map((l) => l.trim().slice(0, -1)));
}

describe('docker-compose.yml', () => {
  test('Grafana, the agent, Prometheus and the demo, every image pinned', () => {
    for (const name of ['grafana', 'agent', 'prometheus', 'demo']) assert.ok(services[name], `service ${name}`);
    for (const [name, s] of Object.entries(services)) {
      const image = asString(asRecord(s, name)['image'], `${name}.image`);
      const tag = /^[\w./-]+:([\w.-]+)$/.exec(image)?.[1];
      assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: image ${image} is pinned to a version`);
    }
    assert.match(asString(service('grafana')['image'], 'grafana image'), /^grafana\/grafana:\d+\.\d+\.\d+$/);
  });

  test('Grafana loads our plugins from dist/, unsigned allowed for them only, and the provisioning', () => {
    const grafana = service('grafana');
    const allowed = String(environmentOf(grafana)['GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS']).split(',');
    assert.deepEqual(allowed.sort(), [...OUR_PLUGINS].sort());
    const mounts = volumesOf(grafana);
    assert.ok(mounts.some((m) => m.source === './dist' && m.target.startsWith('/var/lib/grafana/plugins')), 'plugins from dist/');
    for (const dir of ['datasources', 'dashboards', 'alerting']) {
      assert.ok(mounts.some((m) => m.source === `./provisioning/${dir}` && m.target === `/etc/grafana/provisioning/${dir}`), `provisioning/${dir}`);
    }
    assert.ok('WIRETRACE_ALERT_WEBHOOK_URL' in environmentOf(grafana), 'the contact point URL is set from the environment');
  });

  test('every mounted repository path exists (dist/ is the plugins\' git-ignored build output)', () => {
    const buildOutputs = ignoredDirs();
    for (const [name, s] of Object.entries(services)) {
      for (const { source } of volumesOf(asRecord(s, name))) {
        if (!source.startsWith('./')) continue; // host paths and named volumes
        const rel = source.slice(2);
        if (buildOutputs.has(rel.split('/')[0]!)) continue;
        assert.ok(fs.existsSync(path.join(REPO, rel)), `${name}: ${source} does not exist in the repository`);
      }
    }
    assert.ok(buildOutputs.has('dist'), 'dist/ is a build output');
  });

  test('the agent is privileged, in the host pid namespace, with the kernel filesystems eBPF needs', () => {
    const agent = service('agent');
    assert.equal(agent['privileged'], true);
    assert.equal(agent['pid'], 'host');
    const targets = volumesOf(agent).map((v) => v.target);
    for (const t of ['/sys/kernel/btf', '/sys/fs/bpf']) assert.ok(targets.includes(t), `mounts ${t}`);
    assert.ok(targets.includes('/sys/kernel/tracing') || targets.includes('/sys/kernel/debug'), 'mounts tracefs or debugfs');
    const build = asRecord(agent['build'], 'agent.build');
    assert.ok(fs.existsSync(path.join(REPO, asString(build['context'], 'context'), asString(build['dockerfile'], 'dockerfile'))));
    assert.ok(asArray(agent['command'], 'command').join(' ').includes('--listen 0.0.0.0:9797'), 'reachable from the other containers');
  });

  test('ports are published on the host\'s loopback only', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of asRecord(s, name)['ports'] ? asArray(asRecord(s, name)['ports'], 'ports') : []) {
        assert.match(String(p), /^127\.0\.0\.1:/, `${name}: ${String(p)}`);
      }
    }
  });

  test('data sources and Prometheus point at the compose service names', () => {
    const ds = asArray(asRecord(loadYaml('provisioning/datasources/wiretrace.yaml'), 'ds')['datasources'], 'datasources').map((x) => asRecord(x, 'ds'));
    assert.equal(asRecord(ds.find((d) => d['uid'] === 'wiretrace')?.['jsonData'], 'jsonData')['agentUrl00'], 'http://agent:9797');
    assert.equal(ds.find((d) => d['uid'] === 'prometheus')?.['url'], 'http://prometheus:9090');
    const prom = asRecord(loadYaml('provisioning/prometheus/prometheus.yml'), 'prometheus.yml');
    const targets = asArray(prom['scrape_configs'], 'scrape_configs').flatMap((c) =>
      asArray(asRecord(c, 'scrape').static_configs, 'static_configs').flatMap((sc) => asArray(asRecord(sc, 'sc')['targets'], 'targets')),
    );
    assert.deepEqual(targets, ['agent:9797']);
    assert.ok(volumesOf(service('prometheus')).some((v) => v.source === './provisioning/prometheus/prometheus.yml'));
  });

  test('promtool accepts the Prometheus config', { skip: promtool ? false : 'promtool is not installed (scripts/setup.sh installs it)' }, () => {
    const result = spawnSync(promtool, ['check', 'config', path.join(REPO, 'provisioning/prometheus/prometheus.yml')], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});

describe('backend-agent/Dockerfile', () => {
  const text = fs.readFileSync(path.join(REPO, 'backend-agent/Dockerfile'), 'utf8');
  const dockerignore = fs.readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());

  test('Debian 12 based, pinned, builds the eBPF loader and the agent', () => {
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    assert.ok(froms.length >= 1);
    for (const f of froms) assert.match(f, /^[\w./-]+:\d+(\.\d+)+-bookworm(-slim)?$/, `${f}: pinned and Debian 12 (bookworm)`);
    assert.match(text, /make -C bpf/);
    assert.match(text, /tsc -p backend-agent\/tsconfig\.json/);
    assert.match(text, /ENTRYPOINT \["node", "backend-agent\/bin\/wiretrace-agent\.js"\]/);
  });

  test('everything it copies from the context exists and is not dockerignored', () => {
    for (const m of text.matchAll(/^COPY\s+(?!--from)(.+)$/gm)) {
      const parts = m[1]!.trim().split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        assert.ok(fs.existsSync(path.join(REPO, src)), `COPY ${src} exists`);
        assert.ok(!dockerignore.includes(src) && !dockerignore.includes(src.split('/')[0]!), `COPY ${src} is not in .dockerignore`);
      }
    }
    assert.ok(dockerignore.includes('**/node_modules'), 'host node_modules stay out of the image');
  });
});
