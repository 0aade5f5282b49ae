/**
 * Redaction configured from the command line and environment
 * (--redact-header, --redact-query-key, --redact-pattern, --redact-defaults):
 * parsing and validation (a bad pattern is one clear line and exit code 2),
 * what each option does to the redactor, and through the real agent that a
 * configured secret reaches none of the database files (WAL included) in any
 * place a request carries it: a custom header (recorded, or stored as a
 * correlation id), a query parameter, a path segment and a query value.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, getJson, requireBuilt, run, stop, tempDir, waitFor } from '../integration/helpers.js';
import { ConfigError, helpText, parseConfig, type AgentConfig } from '../../backend-agent/src/config.js';
import { compileRedactPattern, createRedactor, redactExchangeHeaders, RedactPatternError, REDACTED, MAX_PATTERN_INPUT } from '../../backend-agent/src/context/redact.js';
import type { ObservedExchange } from '../../backend-agent/src/model/exchange.js';
import { buildCallStream, callTraceId, reservedPort } from './support.js';

function configOf(argv: string[], env: Record<string, string> = {}): AgentConfig {
  const parsed = parseConfig(argv, env);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') throw new Error('unreachable');
  return parsed.config;
}

describe('configuration', () => {
  test('defaults: built-in rules on, nothing added', () => {
    assert.deepEqual(configOf([]).redaction, { extraHeaders: [], extraQueryKeys: [], patterns: [], defaults: true });
  });

  test('flags are repeatable, names lowercased and deduplicated', () => {
    const c = configOf(['--redact-header', 'X-Sig', '--redact-header', 'x-sig', '--redact-header=X-Tenant-Key', '--redact-query-key', 'OTP', '--redact-pattern', '^reset-[a-z0-9]{8,}$', '--redact-pattern', '(?i)^tok_']);
    assert.deepEqual(c.redaction, { extraHeaders: ['x-sig', 'x-tenant-key'], extraQueryKeys: ['otp'], patterns: ['^reset-[a-z0-9]{8,}$', '(?i)^tok_'], defaults: true });
  });

  test('environment twins: names comma-separated, patterns one per line (they contain commas)', () => {
    const c = configOf([], {
      WIRETRACE_REDACT_HEADERS: 'x-sig, x-other',
      WIRETRACE_REDACT_QUERY_KEYS: 'otp,pin',
      WIRETRACE_REDACT_PATTERNS: '^[a-f0-9]{32,64}$\n^reset-',
      WIRETRACE_REDACT_DEFAULTS: 'off',
    });
    assert.deepEqual(c.redaction, { extraHeaders: ['x-sig', 'x-other'], extraQueryKeys: ['otp', 'pin'], patterns: ['^[a-f0-9]{32,64}$', '^reset-'], defaults: false });
    // A flag wins over its variable.
    assert.deepEqual(configOf(['--redact-header', 'x-flag'], { WIRETRACE_REDACT_HEADERS: 'x-env' }).redaction.extraHeaders, ['x-flag']);
  });

  test('bad values are refused with a message naming the flag and the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--redact-pattern', '(unclosed'], /--redact-pattern "\(unclosed": not a valid regular expression/],
      [['--redact-pattern', '[z-a]'], /not a valid regular expression/],
      [['--redact-pattern', '(a+)+$'], /repeated group may not itself contain a quantifier/],
      [['--redact-pattern', '^(x|xy)*$'], /repeated group/],
      [['--redact-pattern', '(a)\\1'], /backreferences/],
      [['--redact-pattern', '.*'], /matches the empty string/],
      [['--redact-pattern', ''], /needs a value|empty pattern/],
      [['--redact-header', 'bad name'], /--redact-header: "bad name" is not a header name/],
      [['--redact-query-key', 'a=b'], /--redact-query-key: "a=b" is not a query parameter name/],
      [['--redact-defaults', 'maybe'], /--redact-defaults must be on or off/],
    ];
    for (const [argv, want] of cases) {
      assert.throws(() => parseConfig(argv, {}), (err: unknown) => err instanceof ConfigError && want.test(err.message), argv.join(' '));
    }
  });

  test('--help lists every redaction flag with its environment twin', () => {
    const help = helpText();
    for (const [flag, env] of [
      ['--redact-header NAME', 'WIRETRACE_REDACT_HEADERS'],
      ['--redact-query-key NAME', 'WIRETRACE_REDACT_QUERY_KEYS'],
      ['--redact-pattern REGEX', 'WIRETRACE_REDACT_PATTERNS'],
      ['--redact-defaults on|off', 'WIRETRACE_REDACT_DEFAULTS'],
    ]) {
      assert.ok(help.includes(flag) && help.includes(env), flag);
    }
  });
});

describe('patterns', () => {
  test('safe everyday patterns compile; (?i) makes them case-insensitive', () => {
    for (const p of ['^reset-[a-z0-9]{8,}$', '^(?:tok|key)_[A-Za-z0-9]+$', '^[0-9a-f]{40}$', '(?<kind>sk|pk)_live_', '^(ab)+$', '^(?=.*\\d)[A-Za-z0-9]{20,}$', 'secret']) {
      assert.ok(compileRedactPattern(p) instanceof RegExp, p);
    }
    assert.ok(compileRedactPattern('(?i)^TOK_').test('tok_abc'));
    assert.ok(!compileRedactPattern('^TOK_').test('tok_abc'));
  });

  test('exponential-backtracking forms are refused', () => {
    for (const p of ['(a+)+', '(a*)*b', '(a|aa)+', '((ab)*)+', '(?:a{2,})*', '(\\w+\\s?)+$', '(.*a){3,}']) {
      assert.throws(() => compileRedactPattern(p), RedactPatternError, p);
    }
    // Escapes and classes are not structure.
    assert.ok(compileRedactPattern('\\(a+\\)+'));
    assert.ok(compileRedactPattern('[(a+)]+x'));
  });

  test('a pattern sees at most MAX_PATTERN_INPUT characters of a segment', () => {
    const r = createRedactor({ patterns: ['^x+$'] });
    const long = 'x'.repeat(MAX_PATTERN_INPUT * 4);
    // Still recognised (the prefix matches), and the cost is bounded by the prefix.
    assert.equal(r.redactPath(`/a/${long}`), `/a/${REDACTED}`);
  });
});

describe('the redactor', () => {
  test('patterns redact whole path segments and query values, bare query parameters too', () => {
    const r = createRedactor({ patterns: ['^reset-[a-z0-9]{8,}$', '^inv_[0-9]{6}$'] });
    assert.equal(r.redactPath('/account/reset-abcd1234ef/confirm'), `/account/${REDACTED}/confirm`);
    assert.equal(r.redactPath('/orders/7'), '/orders/7');
    assert.equal(r.redactQuery('q=inv_123456&page=2'), `q=${REDACTED}&page=2`);
    assert.equal(r.redactQuery('?reset-abcd1234ef&page=2'), `?${REDACTED}&page=2`);
    assert.equal(r.redactUrl('/x?q=inv_123456#q=inv_654321'), `/x?q=${REDACTED}#q=${REDACTED}`);
  });

  test('extra names add to the built-in lists', () => {
    const r = createRedactor({ extraHeaders: ['X-Sig'], extraQueryKeys: ['OTP'] });
    assert.equal(r.redactHeaderValue('x-sig', 'abc'), REDACTED);
    assert.equal(r.redactHeaderValue('x-api-key', 'abc'), REDACTED, 'built-in still on');
    assert.equal(r.redactQuery('otp=1234&token=t&page=1'), `otp=${REDACTED}&token=${REDACTED}&page=1`);
    assert.equal(r.redactPath('/magic/9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c'), `/magic/${REDACTED}`, 'built-in path heuristics still on');
  });

  test('defaults off: only the configured names and patterns, plus the credential headers that are always redacted', () => {
    const r = createRedactor({ defaults: false, extraHeaders: ['x-sig'], extraQueryKeys: ['otp'], patterns: ['^inv_'] });
    assert.equal(r.redactHeaderValue('x-api-key', 'k'), 'k');
    assert.equal(r.redactHeaderValue('x-session-token', 's'), 's');
    assert.equal(r.redactHeaderValue('x-sig', 's'), REDACTED);
    assert.equal(r.redactHeaderValue('authorization', 'Bearer t'), `Bearer ${REDACTED}`);
    assert.equal(r.redactHeaderValue('cookie', 'a=b'), REDACTED);
    assert.equal(r.redactHeaderValue('set-cookie', 'a=b'), REDACTED);
    assert.equal(r.redactQuery('token=t&otp=1&q=inv_9'), `token=t&otp=${REDACTED}&q=${REDACTED}`);
    assert.equal(r.redactPath('/magic/9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c'), '/magic/9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c');
    assert.equal(r.redactUrl('http://u:pw@h/x'), `http://u:${REDACTED}@h/x`, 'userinfo always');
    // Command lines of traced processes keep the built-in rules.
    assert.deepEqual(r.redactArgs(['--db-password=pw']), [`--db-password=${REDACTED}`]);
  });

  test('at the boundary every header of an exchange is redacted, and a clean exchange is returned as is', () => {
    const r = createRedactor({ extraHeaders: ['x-request-id'] });
    const ex = {
      request: { headers: [['host', 'h'], ['x-request-id', 'rid-secret'], ['cookie', 'c=1']] },
      response: { headers: [['set-cookie', 's=1'], ['content-type', 'text/plain']] },
    } as unknown as ObservedExchange;
    const out = redactExchangeHeaders(ex, r);
    assert.deepEqual(out.request.headers, [['host', 'h'], ['x-request-id', REDACTED], ['cookie', REDACTED]]);
    assert.deepEqual(out.response?.headers, [['set-cookie', REDACTED], ['content-type', 'text/plain']]);
    assert.deepEqual(ex.request.headers[1], ['x-request-id', 'rid-secret'], 'the input is not mutated');
    const clean = { request: { headers: [['host', 'h']] } } as unknown as ObservedExchange;
    assert.equal(redactExchangeHeaders(clean, r), clean);
  });
});

// Through the real agent: configured secrets never reach the database files.
const SECRETS = {
  customHeader: 'sig-7d1e0c9b8a',
  requestId: 'rid-44f0e2d1c0',
  otp: '918273',
  pathToken: 'reset-q8w7e6r5',
  queryValue: 'inv_556677',
};
const CALLS = 30;

function filesOf(db: string): Buffer {
  return Buffer.concat(['', '-wal', '-shm', '-journal'].map((s) => db + s).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

function assertNoSecrets(bytes: Buffer, when: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    assert.ok(!bytes.includes(secret), `${when}: configured secret ${name} found in the database files`);
    assert.ok(!bytes.includes(Buffer.from(secret, 'utf16le')), `${when}: configured secret ${name} (UTF-16) found`);
  }
}

test('configured secrets reach no database file (WAL included), through flags and through the environment', async () => {
  requireBuilt();
  const dir = tempDir('wiretrace-redact-config-');
  const file = path.join(dir, 'calls.wtrc');
  const headers = `X-Tenant-Sig: ${SECRETS.customHeader}\r\nX-Request-Id: ${SECRETS.requestId}\r\nX-Marker: visible-marker-3141\r\n`;
  // buildCallStream puts /items/<i> in the path; the query carries the rest.
  fs.writeFileSync(
    file,
    buildCallStream(CALLS, BigInt(Date.now() - 60_000) * 1_000_000n, { headers, query: `/${SECRETS.pathToken}?otp=${SECRETS.otp}&q=${SECRETS.queryValue}&page=3` }),
  );
  const flags = ['--redact-header', 'x-tenant-sig', '--redact-header', 'x-request-id', '--redact-query-key', 'otp', '--redact-pattern', '^reset-[a-z0-9]{8}$', '--redact-pattern', '^inv_[0-9]{6}$'];
  const env = {
    WIRETRACE_REDACT_HEADERS: 'x-tenant-sig,x-request-id',
    WIRETRACE_REDACT_QUERY_KEYS: 'otp',
    WIRETRACE_REDACT_PATTERNS: '^reset-[a-z0-9]{8}$\n^inv_[0-9]{6}$',
  };
  for (const [how, extraArgs, extraEnv] of [
    ['flags', flags, {}],
    ['environment', [], env],
  ] as const) {
    const db = path.join(dir, `${how}.db`);
    const port = await reservedPort();
    // x-tenant-sig and x-marker are recorded as attributes; x-request-id is stored as a correlation id by default.
    const agent = run('node', [AGENT_BIN, '--replay', file, '--db', db, '--listen', `127.0.0.1:${port}`, '--record-header', 'x-tenant-sig', '--record-header', 'x-marker', ...extraArgs], extraEnv);
    try {
      await waitFor(`${how}: replay`, async () => {
        if (agent.child.exitCode !== null) throw new Error(agent.stderr());
        return agent.stderr().includes('replay done') ? true : undefined;
      });
      const health = await getJson<{ store: { spanCount: number } }>(`http://127.0.0.1:${port}/api/health`);
      assert.equal(health.body.store.spanCount, CALLS * 2, `${how}: every call stored, both sides`);
      const bytes = filesOf(db);
      // Positive controls: stored text is findable in these bytes at all.
      assert.ok(bytes.includes('visible-marker-3141'), `${how}: the recorded non-secret header is in the files`);
      assert.ok(bytes.includes('page=3'), `${how}: the non-secret query parameter is in the files`);
      assert.ok(bytes.includes('/items/3/'), `${how}: the non-secret path is in the files`);
      assertNoSecrets(bytes, `${how}, running`);
      const trace = await fetch(`http://127.0.0.1:${port}/api/traces/${callTraceId(3)}`);
      const text = await trace.text();
      assert.equal(trace.status, 200);
      for (const secret of Object.values(SECRETS)) assert.ok(!text.includes(secret), `${how}: ${secret} served by the API`);
      assert.match(text, /"http\.request\.header\.x-tenant-sig","type":"string","value":"\[REDACTED\]"/, `${how}: the recorded custom header is there, redacted`);
    } finally {
      assert.equal(await stop(agent), 0, agent.stderr());
    }
    assertNoSecrets(filesOf(db), `${how}, after shutdown`);
  }
  // Control: without the configuration every one of these values is stored, so
  // the checks above would have seen them (the built-in rules know none of them).
  const db = path.join(dir, 'unconfigured.db');
  const port = await reservedPort();
  const agent = run('node', [AGENT_BIN, '--replay', file, '--db', db, '--listen', `127.0.0.1:${port}`, '--record-header', 'x-tenant-sig']);
  await waitFor('unconfigured replay', async () => {
    if (agent.child.exitCode !== null) throw new Error(agent.stderr());
    return agent.stderr().includes('replay done') ? true : undefined;
  });
  assert.equal(await stop(agent), 0, agent.stderr());
  const bytes = filesOf(db);
  for (const [name, secret] of Object.entries(SECRETS)) assert.ok(bytes.includes(secret), `control: ${name} is stored when not configured`);
});

test('a bad --redact-pattern stops the agent with one line and exit code 2', async () => {
  requireBuilt();
  const p = run('node', [AGENT_BIN, '--capture', 'off', '--listen', `127.0.0.1:${await reservedPort()}`, '--redact-pattern', '(a+)+$']);
  const code = await p.exited;
  assert.equal(code, 2);
  const lines = p.stderr().trim().split('\n');
  assert.equal(lines.length, 1, p.stderr());
  assert.match(lines[0] ?? '', /^wiretrace-agent: error: --redact-pattern "\(a\+\)\+\$": a repeated group/);
  const env = run('node', [AGENT_BIN, '--capture', 'off', '--listen', `127.0.0.1:${await reservedPort()}`], { WIRETRACE_REDACT_PATTERNS: '[unclosed' });
  assert.equal(await env.exited, 2);
  assert.match(env.stderr(), /--redact-pattern "\[unclosed": not a valid regular expression/);
});
