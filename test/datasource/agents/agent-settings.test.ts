/** The agent list <-> plugin.json proxy routes contract. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { agentRefs, MAX_AGENTS, routePath, routeUrlKey, validateAgents, withAgents } from '../../../src/datasource/agents/agent-settings.js';
import { REPO } from '../../integration/helpers.js';

interface Route {
  path: string;
  url: string;
  headers: Array<{ name: string; content: string }>;
}

test('plugin.json declares one proxy route per agent slot, URL from jsonData, token from secureJsonData', () => {
  const plugin = JSON.parse(fs.readFileSync(path.join(REPO, 'src/datasource/plugin.json'), 'utf8')) as { id: string; type: string; routes: Route[] };
  assert.equal(plugin.id, 'wiretrace-agent-datasource');
  assert.equal(plugin.type, 'datasource');
  assert.equal(plugin.routes.length, MAX_AGENTS);
  plugin.routes.forEach((r, i) => {
    assert.equal(r.path, routePath(i));
    assert.equal(r.url, `{{ .JsonData.${routeUrlKey(i)} }}`);
    assert.deepEqual(r.headers, [{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.token }}' }]);
  });
  // Grafana matches a request to a route by path prefix: no route path may be a prefix of another.
  for (const a of plugin.routes) for (const b of plugin.routes) if (a !== b) assert.ok(!b.path.startsWith(a.path), `${a.path} / ${b.path}`);
});

test('withAgents mirrors the list into the route keys and clears unused slots', () => {
  const first = withAgents({}, [{ url: ' http://a:9797/ ' }, { url: 'http://b:9797', name: 'b' }]);
  assert.equal(first.agentUrl00, 'http://a:9797');
  assert.equal(first.agentUrl01, 'http://b:9797');
  const second = withAgents(first, [{ url: 'http://b:9797', name: 'b' }]);
  assert.equal(second.agentUrl00, 'http://b:9797');
  assert.equal(second.agentUrl01, undefined);
  assert.deepEqual(second.agents, [{ url: 'http://b:9797', name: 'b' }]);
});

test('agentRefs keeps each agent\'s slot index, names unnamed agents by URL, skips empty rows', () => {
  assert.deepEqual(agentRefs({ agents: [{ url: 'http://a:1' }, { url: '  ' }, { url: 'http://c:3', name: ' node-c ' }] }), [
    { index: 0, name: 'http://a:1', url: 'http://a:1' },
    { index: 2, name: 'node-c', url: 'http://c:3' },
  ]);
  assert.deepEqual(agentRefs({}), []);
});

test('validateAgents explains each unusable entry', () => {
  assert.deepEqual(validateAgents([{ url: 'http://a:9797' }, { url: 'https://b' }]), []);
  assert.deepEqual(validateAgents([]), ['add at least one agent URL']);
  assert.deepEqual(validateAgents([{ url: 'a:9797', name: 'x' }, { url: 'nope' }]), [
    'x: URL must start with http:// or https://',
    "agent 2: 'nope' is not a URL (expected e.g. http://10.0.0.5:9797)",
  ]);
});
