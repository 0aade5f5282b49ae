/** Static checks of deploy/kubernetes/ (no cluster here): what the agent needs to capture, and how it is scraped. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asArray, asRecord, asString, loadYamlDocuments } from '../provisioning/load-yaml.js';

const docs = loadYamlDocuments('deploy/kubernetes/wiretrace-agent.yaml').map((d) => asRecord(d, 'document'));
const kind = (k: string): Record<string, unknown> => {
  const found = docs.find((d) => d['kind'] === k);
  assert.ok(found, `a ${k}`);
  return found;
};

describe('deploy/kubernetes', () => {
  const ds = kind('DaemonSet');
  const template = asRecord(asRecord(ds['spec'], 'spec')['template'], 'template');
  const podSpec = asRecord(template['spec'], 'pod spec');
  const container = asRecord(asArray(podSpec['containers'], 'containers')[0], 'container');

  test('every document has apiVersion, kind and a name', () => {
    for (const d of docs) {
      asString(d['apiVersion'], 'apiVersion');
      asString(d['kind'], 'kind');
      asString(asRecord(d['metadata'], 'metadata')['name'], 'name');
    }
  });

  test('the DaemonSet runs in the host pid namespace with the capabilities eBPF capture needs', () => {
    assert.equal(podSpec['hostPID'], true);
    const sc = asRecord(container['securityContext'], 'securityContext');
    const caps = new Set(asArray(asRecord(sc['capabilities'] ?? {}, 'capabilities')['add'] ?? [], 'add').map(String));
    if (sc['privileged'] !== true) {
      for (const c of ['BPF', 'PERFMON', 'SYS_RESOURCE', 'SYS_ADMIN']) assert.ok(caps.has(c), `capability ${c}`);
    }
    const mounts = asArray(container['volumeMounts'], 'volumeMounts').map((m) => asString(asRecord(m, 'mount')['mountPath'], 'mountPath'));
    for (const p of ['/sys/kernel/btf', '/sys/fs/bpf']) assert.ok(mounts.includes(p), `mounts ${p}`);
    assert.ok(mounts.includes('/sys/kernel/tracing') || mounts.includes('/sys/kernel/debug'));
    const volumes = asArray(podSpec['volumes'], 'volumes').map((v) => asString(asRecord(v, 'volume')['name'], 'volume name'));
    for (const m of asArray(container['volumeMounts'], 'mounts')) assert.ok(volumes.includes(String(asRecord(m, 'm')['name'])), 'mount has a volume');
  });

  test('pods carry Prometheus scrape annotations for the port the agent listens on', () => {
    const annotations = asRecord(asRecord(template['metadata'], 'metadata')['annotations'], 'annotations');
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    const port = asRecord(asArray(container['ports'], 'ports')[0], 'port');
    assert.equal(annotations['prometheus.io/port'], String(port['containerPort']));
    assert.ok(asArray(container['args'], 'args').join(' ').includes(`--listen 0.0.0.0:${String(port['containerPort'])}`));
  });

  test('the Service selects the agent pods', () => {
    const svc = kind('Service');
    const selector = asRecord(asRecord(svc['spec'], 'spec')['selector'], 'selector');
    const labels = asRecord(asRecord(template['metadata'], 'metadata')['labels'], 'labels');
    for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v, `pod label ${k}`);
    assert.deepEqual(asRecord(asRecord(ds['spec'], 'spec')['selector'], 'ds selector')['matchLabels'], selector);
  });
});
