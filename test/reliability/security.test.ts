/**
 * Security properties through the real agent process (replay path, so no
 * kernel is needed): no secret from headers, query parameters or cookies
 * reaches any database file (WAL and shm included); with a token every route
 * but /api/health needs it; every string parameter of every route survives
 * injection strings without a 500 or damage to the store; bad parameters get
 * clear 400s; the API binds to loopback unless told otherwise.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, REPO, freePort, getJson, requireBuilt, run, stop, tempDir, waitFor, type RunningProcess } from '../integration/helpers.js';
import { parseConfig } from '../../backend-agent/src/config.js';
import { buildCallStream, callTraceId } from './support.js';

const TOKEN = 'reliability-token-7f3a9c';
const SECRETS = {
  bearer: 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWp3dA.Zm9vYmFy',
  cookie: 'sessid-91b2c3d4e5f60718',
  apiKey: 'ak_live_5566778899aabbcc',
  queryToken: 'qtok-0a1b2c3d4e5f',
  password: 'hunter2-Pa55w0rd',
  basic: Buffer.from('alice:wonderland-pw').toString('base64'),
};
const CALLS = 40;

let agent: RunningProcess;
let url = '';
let dbPath = '';

before(async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-security-');
  dbPath = path.join(dir, 'spans.db');
  const file = path.join(dir, 'secrets.wtrc');
  const headers =
    `Authorization: Bearer ${SECRETS.bearer}\r\n` +
    `Cookie: theme=dark; session=${SECRETS.cookie}\r\n` +
    `X-Api-Key: ${SECRETS.apiKey}\r\n` +
    `Proxy-Authorization: Basic ${SECRETS.basic}\r\n` +
    `X-Marker: visible-marker-2718\r\n`;
  // The secrets also ride in the URL: the request target is stored as http.target/url.
  const stream = buildCallStream(CALLS, BigInt(Date.now() - 60_000) * 1_000_000n, {
    headers,
    query: `?token=${SECRETS.queryToken}&password=${SECRETS.password}&page=3`,
  });
  fs.writeFileSync(file, stream);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // x-marker is recorded as a positive control: recorded text does reach the files.
  agent = await replayAgent(file, dbPath, port, ['--record-header', 'x-marker']);
  replayFile = file;
});

let replayFile = '';

async function replayAgent(file: string, db: string, port: number, extra: string[]): Promise<RunningProcess> {
  const p = run('node', [AGENT_BIN, '--replay', file, '--db', db, '--listen', `127.0.0.1:${port}`, '--token', TOKEN, ...extra]);
  await waitFor('replay to finish', async () => {
    if (p.child.exitCode !== null) throw new Error(p.stderr());
    return p.stderr().includes('replay done') ? true : undefined;
  });
  return p;
}

function filesOf(db: string): Buffer {
  return Buffer.concat(['', '-wal', '-shm', '-journal'].map((s) => db + s).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

after(async () => {
  if (agent) await stop(agent);
});

const auth = { authorization: `Bearer ${TOKEN}` };

function dbFileBytes(): Buffer {
  return filesOf(dbPath);
}

test('no secret from headers, query parameters or cookies reaches the database files (WAL included)', async () => {
  const h = await getJson<{ store: { spanCount: number } }>(`${url}/api/health`);
  assert.equal(h.body.store.spanCount, CALLS * 2, 'every call stored, both sides');
  const check = (when: string): void => {
    const bytes = dbFileBytes();
    // Positive control: stored text is findable this way at all.
    assert.ok(bytes.includes('visible-marker-2718'), `${when}: the recorded non-secret header is in the files`);
    assert.ok(bytes.includes('page=3'), `${when}: the non-secret query parameter is in the files`);
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(!bytes.includes(secret), `${when}: secret ${name} found in the database files`);
      assert.ok(!bytes.includes(Buffer.from(secret, 'utf16le')), `${when}: secret ${name} (UTF-16) found`);
    }
  };
  check('running (WAL not checkpointed)');
  // And through the API, which is what a user with the token sees.
  const trace = await fetch(`${url}/api/traces/${callTraceId(3)}`, { headers: auth });
  const text = await trace.text();
  assert.equal(trace.status, 200);
  assert.match(text, /visible-marker-2718/);
  for (const secret of Object.values(SECRETS)) assert.ok(!text.includes(secret));
  assert.match(text, /\[REDACTED\]/, 'redaction is visible, not silent removal');
  assert.equal(await stop(agent), 0, agent.stderr());
  check('after shutdown (WAL checkpointed)');
  // Restart on the same store for the API tests below.
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  agent = run('node', [AGENT_BIN, '--capture', 'off', '--db', dbPath, '--listen', `127.0.0.1:${port}`, '--token', TOKEN]);
  await waitFor('restart', async () => ((await getJson(`${url}/api/health`)).status === 200 ? true : undefined));
});

// Recording a credential header for evaluation must not bypass redaction (it once did:
// span-builder read recorded values from the raw headers).
test('a sensitive header named in --record-header is still redacted', async () => {
  const dir = tempDir('wiretrace-security-rec-');
  const db = path.join(dir, 'spans.db');
  const p = await replayAgent(replayFile, db, await freePort(), ['--record-header', 'authorization', '--record-header', 'cookie', '--record-header', 'x-api-key']);
  try {
    const bytes = filesOf(db);
    assert.ok(bytes.includes('Bearer [REDACTED]'), 'the recorded authorization header is stored, redacted');
    for (const [name, secret] of Object.entries(SECRETS)) assert.ok(!bytes.includes(secret), `secret ${name} stored via --record-header`);
  } finally {
    await stop(p);
  }
});

/** Every route template declared under backend-agent/src/api, read from the source so a new route cannot be missed. */
function declaredRoutes(): string[] {
  const files = ['server.ts', 'jaeger/routes.ts', 'native/routes.ts'].map((f) => fs.readFileSync(path.join(REPO, 'backend-agent/src/api', f), 'utf8'));
  const found = new Set<string>();
  for (const src of files) {
    for (const m of src.matchAll(/(?:route\(|template:\s*)'(\/[^']*)'/g)) if (m[1]) found.add(m[1]);
  }
  return [...found].sort();
}

function concrete(template: string): string {
  return template.replace('{traceID}', callTraceId(1)).replace('{traceId}', callTraceId(1)).replace('{service}', 'fuzzserver');
}

test('with a token, every route but /api/health needs it', async () => {
  const routes = declaredRoutes();
  assert.ok(routes.length >= 14, `found ${routes.length} routes: ${routes.join(' ')}`);
  assert.ok(routes.includes('/api/health') && routes.includes('/metrics'));
  for (const template of routes) {
    const target = `${url}${concrete(template)}${template.includes('traces') && !template.includes('{') ? '?service=fuzzserver' : ''}`;
    const none = await fetch(target);
    await none.text();
    const wrong = await fetch(target, { headers: { authorization: `Bearer ${TOKEN}x` } });
    await wrong.text();
    const right = await fetch(target, { headers: auth });
    await right.text();
    if (template === '/api/health') {
      assert.equal(none.status, 200, 'health is public');
      continue;
    }
    assert.equal(none.status, 401, `${template} without a token`);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal(wrong.status, 401, `${template} with a wrong token`);
    assert.ok(right.status === 200 || right.status === 400, `${template} with the token: ${right.status}`);
  }
  // Unknown paths do not leak route existence to the unauthenticated.
  const unknown = await fetch(`${url}/api/nope`);
  await unknown.text();
  assert.ok(unknown.status === 401 || unknown.status === 404);
});

const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE spans; --",
  '" OR 1=1 --',
  "fuzzserver' UNION SELECT name, sql FROM sqlite_master --",
  '%27%20OR%201%3D1',
  '\u0000',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '*',
  '%',
  '_',
  '{"$gt":""}',
  'a'.repeat(10_000),
];
const PARAMS = ['service', 'operation', 'tags', 'tag', 'spanKind', 'kind', 'status', 'traceID', 'traceId', 'start', 'end', 'lookback', 'minDuration', 'maxDuration', 'limit', 'endTs', 'step'];

test('injection strings in every string parameter of every route: no 500, no wildcard match, store intact', async () => {
  const routes = declaredRoutes().filter((r) => r !== '/metrics');
  let requests = 0;
  for (const template of routes) {
    for (const param of PARAMS) {
      for (const inj of INJECTIONS) {
        const q = new URLSearchParams({ service: 'fuzzserver' });
        q.set(param, inj);
        const res = await fetch(`${url}${concrete(template)}?${q}`, { headers: auth });
        const body = await res.text();
        requests++;
        assert.ok(res.status === 200 || res.status === 400 || res.status === 404, `${template} ${param}=${JSON.stringify(inj.slice(0, 40))}: ${res.status} ${body.slice(0, 200)}`);
        assert.doesNotThrow(() => JSON.parse(body), `${template}: the answer is JSON`);
        if (res.status === 200 && (param === 'service' || param === 'operation') && /traces|spans/.test(template) && !template.includes('{')) {
          // A quote or wildcard must be a literal value, not SQL or LIKE: nothing matches it.
          const parsed = JSON.parse(body) as { data?: unknown[] };
          assert.equal(parsed.data?.length ?? 0, 0, `${template} ${param}=${JSON.stringify(inj.slice(0, 40))} matched spans`);
        }
      }
    }
  }
  // Path parameters too.
  for (const inj of INJECTIONS.slice(0, 6)) {
    for (const p of [`/api/traces/${encodeURIComponent(inj)}`, `/api/v1/traces/${encodeURIComponent(inj)}`, `/api/services/${encodeURIComponent(inj)}/operations`]) {
      const res = await fetch(`${url}${p}`, { headers: auth });
      await res.text();
      requests++;
      assert.ok(res.status === 200 || res.status === 400 || res.status === 404, `${p}: ${res.status}`);
    }
  }
  const h = await getJson<{ store: { spanCount: number } }>(`${url}/api/health`);
  assert.equal(h.body.store.spanCount, CALLS * 2, 'the store is intact');
  const ok = await fetch(`${url}/api/traces/${callTraceId(1)}`, { headers: auth });
  assert.equal(ok.status, 200);
  await ok.text();
  console.log(`injection: ${requests} requests over ${routes.length} routes`);
});

test('bad parameters get clear 400s naming the parameter', async () => {
  const cases: Array<[string, RegExp]> = [
    ['/api/traces?service=fuzzserver&limit=-1', /limit/],
    ['/api/traces?service=fuzzserver&limit=abc', /limit/],
    ['/api/traces?service=fuzzserver&start=20&end=10', /start/],
    ['/api/traces?service=fuzzserver&minDuration=banana', /minDuration/],
    ['/api/traces?service=fuzzserver&lookback=-5h', /lookback/],
    ['/api/traces', /service/],
    ['/api/traces/not-hex', /trace/i],
    ['/api/v1/spans?kind=sideways', /kind/],
    ['/api/v1/spans?traceId=zz', /traceId/],
    ['/api/v1/spans?limit=99999999999', /limit/],
    ['/api/v1/edges/timeseries?step=1ns', /step/],
    ['/api/dependencies?lookback=x', /lookback/],
  ];
  for (const [p, want] of cases) {
    const res = await fetch(`${url}${p}`, { headers: auth });
    const text = await res.text();
    assert.equal(res.status, 400, `${p}: ${res.status} ${text}`);
    assert.match(text, want, `${p}: ${text}`);
  }
});

test('the API binds to 127.0.0.1 unless told otherwise', () => {
  const parsed = parseConfig([], {});
  assert.equal(parsed.kind, 'run');
  if (parsed.kind === 'run') {
    assert.equal(parsed.config.listenHost, '127.0.0.1');
    assert.equal(parsed.config.token, undefined);
  }
});
