import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor, REDACTED } from '../../../backend-agent/src/context/redact.js';

/** mulberry32: a tiny seeded PRNG, so property runs are reproducible. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Secrets drawn from characters that cannot occur in `[REDACTED]` or in the names used below. */
function secret(random: () => number, length = 12 + Math.floor(random() * 30)): string {
  const alphabet = 'QWZXJKV0123456789qwzxjkv~!$*()+,;:/.';
  let out = '';
  for (let i = 0; i < length; i++) out += pick(random, [...alphabet]);
  return `S${out}`;
}

const DEFAULT_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
];
const FRAGMENT_HEADERS = ['x-goog-iap-jwt-token', 'x-client-secret', 'x-db-password', 'x-myapikey', 'x-my-api-key', 'x-api_key', 'x-session-id'];
const SAFE_HEADERS = ['host', 'accept', 'content-type', 'user-agent', 'x-request-id', 'traceparent', 'x-forwarded-for'];
const DEFAULT_QUERY_KEYS = [
  'token', 'access_token', 'id_token', 'refresh_token', 'api_key', 'apikey', 'key', 'secret', 'client_secret',
  'password', 'passwd', 'pwd', 'auth', 'signature', 'sig', 'session', 'sessionid', 'code',
];
// Keys with no secret-looking word in them (a key containing `token`, `session`... is redacted by design).
const SAFE_QUERY_KEYS = ['page', 'limit', 'q', 'sort', 'filter', 'id', 'state', 'redirect_uri', 'keyword', 'quota_left'];

describe('redactHeaders', () => {
  const redactor = createRedactor();

  it('redacts every default header and keeps the name', () => {
    for (const name of DEFAULT_HEADERS) {
      const out = redactor.redactHeaders([[name, 'hunter2value']]);
      assert.equal(out[0]![0], name);
      assert.ok(!out[0]![1].includes('hunter2value'), name);
      assert.ok(out[0]![1].endsWith(REDACTED), name);
    }
  });

  it('redacts headers whose name contains token, secret, password, apikey, api-key, api_key or session', () => {
    for (const name of FRAGMENT_HEADERS) assert.deepEqual(redactor.redactHeaders([[name, 'v']]), [[name, REDACTED]], name);
  });

  it('keeps the scheme word of authorization headers', () => {
    const cases: Array<[string, string]> = [
      ['Bearer eyJhbGciOi.payload.sig', `Bearer ${REDACTED}`],
      ['Basic dXNlcjpwYXNz', `Basic ${REDACTED}`],
      ['AWS4-HMAC-SHA256 Credential=AKIA/2024, SignedHeaders=host, Signature=abc', `AWS4-HMAC-SHA256 ${REDACTED}`],
      ['Digest username="u", response="r"', `Digest ${REDACTED}`],
      ['rawapikeywithoutscheme', REDACTED],
      ['Bearer ', REDACTED],
      [' Bearer x', REDACTED],
      ['1bad scheme', REDACTED],
      [`${'x'.repeat(40)} secret`, REDACTED],
      ['', REDACTED],
    ];
    for (const [value, expected] of cases) {
      assert.deepEqual(redactor.redactHeaders([['authorization', value]]), [['authorization', expected]], value);
      assert.equal(redactor.redactHeaderValue('proxy-authorization', value), expected, value);
    }
    assert.equal(redactor.redactHeaderValue('cookie', 'Bearer x'), REDACTED, 'only authorization headers keep a scheme');
  });

  it('leaves other headers alone and returns the same array when nothing is sensitive', () => {
    const headers = SAFE_HEADERS.map((name) => [name, 'value'] as const);
    assert.equal(redactor.redactHeaders(headers), headers);
  });

  it('keeps order and repeated headers', () => {
    const out = redactor.redactHeaders([['host', 'a'], ['cookie', 'x=1'], ['accept', 'b'], ['cookie', 'y=2']]);
    assert.deepEqual(out, [['host', 'a'], ['cookie', REDACTED], ['accept', 'b'], ['cookie', REDACTED]]);
  });

  it('matches names case-insensitively even if a caller forgot to lowercase', () => {
    assert.deepEqual(redactor.redactHeaders([['Authorization', 'Bearer t']]), [['Authorization', `Bearer ${REDACTED}`]]);
    assert.deepEqual(redactor.redactHeaders([['X-Session-Token', 't']]), [['X-Session-Token', REDACTED]]);
  });

  it('takes extra header names, and an allow list that overrides defaults but not extras', () => {
    const custom = createRedactor({ extraHeaders: ['X-Tenant-Signature'], allowHeaders: ['x-csrf-token', 'x-session-id', 'x-tenant-signature'] });
    assert.equal(custom.redactHeaderValue('x-tenant-signature', 'sig'), REDACTED);
    assert.equal(custom.redactHeaderValue('x-csrf-token', 'c'), 'c');
    assert.equal(custom.redactHeaderValue('x-session-id', 's'), 's');
    assert.equal(custom.redactHeaderValue('authorization', 'Bearer t'), `Bearer ${REDACTED}`);
    assert.equal(custom.redactHeaderValue('x-other-token', 't'), REDACTED);
  });

  it('property: no secret survives in any sensitive header, safe values all do', () => {
    const random = prng(20240611);
    const sensitive = [...DEFAULT_HEADERS, ...FRAGMENT_HEADERS];
    for (let round = 0; round < 500; round++) {
      const headers: Array<[string, string]> = [];
      const secrets: string[] = [];
      const safe: string[] = [];
      const count = 1 + Math.floor(random() * 12);
      for (let i = 0; i < count; i++) {
        if (random() < 0.5) {
          const name = pick(random, sensitive);
          const value = secret(random);
          secrets.push(value);
          const scheme = name.endsWith('authorization') && random() < 0.7 ? `${pick(random, ['Bearer', 'Basic', 'Token'])} ` : '';
          headers.push([name, scheme + value]);
        } else {
          const value = `safe-${round}-${i}`;
          safe.push(value);
          headers.push([pick(random, SAFE_HEADERS), value]);
        }
      }
      const output = JSON.stringify(redactor.redactHeaders(headers));
      for (const s of secrets) assert.ok(!output.includes(s), `round ${round}: ${s} leaked in ${output}`);
      for (const s of safe) assert.ok(output.includes(s), `round ${round}: ${s} lost`);
    }
  });
});

describe('redactQuery and redactUrl', () => {
  const redactor = createRedactor();

  it('redacts every default key and keeps other parameters in order', () => {
    for (const key of DEFAULT_QUERY_KEYS) {
      assert.equal(redactor.redactQuery(`a=1&${key}=s3cr3t&b=2`), `a=1&${key}=${REDACTED}&b=2`, key);
    }
  });

  it('keeps a leading ? and handles parameters without values', () => {
    assert.equal(redactor.redactQuery('?token=abc&flag&empty=&x=1'), `?token=${REDACTED}&flag&empty=&x=1`);
    assert.equal(redactor.redactQuery('token'), 'token');
    assert.equal(redactor.redactQuery('token='), 'token=');
    assert.equal(redactor.redactQuery(''), '');
    assert.equal(redactor.redactQuery('&&token=a&&'), `&&token=${REDACTED}&&`);
  });

  it('matches keys case-insensitively and after percent-decoding', () => {
    assert.equal(redactor.redactQuery('Access_Token=a'), `Access_Token=${REDACTED}`);
    assert.equal(redactor.redactQuery('%74oken=a'), `%74oken=${REDACTED}`);
    assert.equal(redactor.redactQuery('API%5FKEY=a'), `API%5FKEY=${REDACTED}`);
    // Undecodable escapes stay as they are; the name still contains `token`.
    assert.equal(redactor.redactQuery('%zztoken=a&%=b'), `%zztoken=${REDACTED}&%=b`);
  });

  it('catches bracketed form keys and pre-signed URL signatures', () => {
    assert.equal(redactor.redactQuery('user[name]=bob&user[password]=pw'), `user[name]=bob&user[password]=${REDACTED}`);
    assert.equal(redactor.redactQuery('X-Amz-Signature=abc&X-Amz-Expires=60'), `X-Amz-Signature=${REDACTED}&X-Amz-Expires=60`);
  });

  it('redacts the whole value even when it contains =', () => {
    assert.equal(redactor.redactQuery('token=a=b=c&x=1'), `token=${REDACTED}&x=1`);
  });

  it('returns the same string when nothing is sensitive', () => {
    const query = 'page=2&limit=10&keyword=token';
    assert.equal(redactor.redactQuery(query), query);
  });

  it('takes extra keys and an allow list that overrides defaults', () => {
    const custom = createRedactor({ extraQueryKeys: ['otp'], allowQueryKeys: ['code', 'KEY'] });
    assert.equal(custom.redactQuery('otp=1&code=2&key=3&token=4'), `otp=${REDACTED}&code=2&key=3&token=${REDACTED}`);
  });

  it('redacts URLs: query, query-shaped fragment, userinfo; path untouched', () => {
    assert.equal(redactor.redactUrl('/api/items?page=1&token=abc'), `/api/items?page=1&token=${REDACTED}`);
    assert.equal(redactor.redactUrl('/cb#access_token=abc&state=xyz'), `/cb#access_token=${REDACTED}&state=xyz`);
    assert.equal(redactor.redactUrl('/p?a=1?token=x#frag'), '/p?a=1?token=x#frag');
    assert.equal(redactor.redactUrl('/p?token=x?y#sig=z'), `/p?token=${REDACTED}#sig=${REDACTED}`);
    assert.equal(redactor.redactUrl('https://user:pa55@example.com:8443/x?key=k'), `https://user:${REDACTED}@example.com:8443/x?key=${REDACTED}`);
    assert.equal(redactor.redactUrl('https://ghp_tok3n@github.com/org/repo'), `https://${REDACTED}@github.com/org/repo`);
    assert.equal(redactor.redactUrl('http://example.com/a@b'), 'http://example.com/a@b');
    assert.equal(redactor.redactUrl('http://user:@host/'), 'http://user:@host/');
    const plain = '/api/orders/42?expand=items';
    assert.equal(redactor.redactUrl(plain), plain);
  });

  it('property: no secret value survives, safe parameters survive in order', () => {
    const random = prng(7);
    const sensitiveKeys = [...DEFAULT_QUERY_KEYS, 'Token', 'ACCESS_TOKEN', '%74oken', 'user[password]', 'X-Amz-Signature'];
    for (let round = 0; round < 1000; round++) {
      const params: string[] = [];
      const secrets: string[] = [];
      const safe: string[] = [];
      const count = 1 + Math.floor(random() * 10);
      for (let i = 0; i < count; i++) {
        if (random() < 0.5) {
          const value = secret(random).replace(/[&#?]/g, 'Q');
          secrets.push(value);
          params.push(`${pick(random, sensitiveKeys)}=${value}`);
        } else {
          const param = `${pick(random, SAFE_QUERY_KEYS)}=safe${round}x${i}`;
          safe.push(param);
          params.push(param);
        }
      }
      const query = params.join('&');
      const asUrl = random() < 0.5;
      const output = asUrl ? redactor.redactUrl(`/path?${query}`) : redactor.redactQuery(query);
      for (const s of secrets) assert.ok(!output.includes(s), `round ${round}: ${s} leaked in ${output}`);
      let from = 0;
      for (const p of safe) {
        const at = output.indexOf(p, from);
        assert.ok(at >= from, `round ${round}: ${p} lost or reordered in ${output}`);
        from = at + p.length;
      }
    }
  });

  it('runs in linear time on hostile queries', () => {
    const start = process.hrtime.bigint();
    redactor.redactQuery('a&'.repeat(200_000) + 'token=x');
    redactor.redactQuery('%'.repeat(200_000) + '=x');
    redactor.redactUrl(`http://${'@'.repeat(100_000)}/`);
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(elapsedMs < 1000, `took ${elapsedMs} ms`);
  });
});

describe('redactArgs', () => {
  const redactor = createRedactor();

  it('redacts --name=value, --name value, NAME=value and URL userinfo', () => {
    const args = ['node', 'server.js', '--db-password=pw1', '--api-key', 'k2', '--port', '8080', 'AWS_SECRET_ACCESS_KEY=s3',
      '--database-url=postgres://u:pw4@db/x', 'redis://:pw5@cache:6379', '--session-token', '--verbose'];
    const out = redactor.redactArgs(args);
    assert.deepEqual(out, ['node', 'server.js', `--db-password=${REDACTED}`, '--api-key', REDACTED, '--port', '8080',
      `AWS_SECRET_ACCESS_KEY=${REDACTED}`, `--database-url=postgres://u:${REDACTED}@db/x`, `redis://:${REDACTED}@cache:6379`,
      '--session-token', '--verbose']);
  });

  it('returns the same array when nothing is sensitive', () => {
    const args = ['java', '-Xmx1g', '-jar', '/srv/orders.jar', '--port', '8080'];
    assert.equal(redactor.redactArgs(args), args);
  });
});

it('query keys that merely contain a secret-looking word are redacted too (any case, - and _ ignored)', () => {
  const r = createRedactor();
  for (const key of ['private_token', 'accessToken', 'access-token', 'sessionToken', 'jwt', 'client_assertion', 'X-Upload-Signature']) {
    assert.equal(r.redactQuery(`${key}=S3CR3T&page=2`), `${key}=[REDACTED]&page=2`, key);
  }
  assert.equal(r.redactQuery('page=2&sort=name&item=7'), 'page=2&sort=name&item=7', 'ordinary keys untouched');
  assert.equal(createRedactor({ allowQueryKeys: ['page_token'] }).redactQuery('page_token=abc'), 'page_token=abc', 'the allow list is the escape hatch');
});

describe('redactPath', () => {
  const r = createRedactor();
  it('redacts credential-looking path segments and keeps ids', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    assert.equal(r.redactPath(`/magic/${jwt}`), `/magic/${REDACTED}`);
    assert.equal(r.redactPath('/reset/9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a'), `/reset/${REDACTED}`);
    assert.equal(r.redactPath('/keys/sk_live_51HxyzABCDEF12345/usage'), `/keys/${REDACTED}/usage`);
    assert.equal(r.redactPath('/orders/123456789012345678'), '/orders/123456789012345678', 'numeric ids are not secrets');
    assert.equal(r.redactPath('/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/cart'), '/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/cart');
    assert.equal(r.redactPath('/api/v1/checkout-confirmation-page'), '/api/v1/checkout-confirmation-page', 'long words without digits stay');
    const plain = '/items/7';
    assert.equal(r.redactPath(plain), plain);
  });
});

it('path redaction walks segments as splitting the path did', () => {
  // The split-based walk redactPath used before: every segment judged, changed ones replaced.
  const JWT = /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const OPAQUE = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_~.+=-]{24,}$/;
  const PREFIXED = /^(sk|pk|rk)_(live|test)_|^gh[pousr]_|^xox[abprs]-|^AKIA[0-9A-Z]{16}$/;
  const secret = (s: string): boolean => s.length >= 16 && !UUID.test(s) && (JWT.test(s) || PREFIXED.test(s) || OPAQUE.test(s));
  const pattern = /^tok-/;
  const reference = (path: string, withPattern: boolean): string => {
    if (!withPattern && path.length < 17) return path;
    const segments = path.split('/');
    let changed = false;
    segments.forEach((s, i) => {
      if (secret(s) || (withPattern && s.length > 0 && pattern.test(s))) {
        segments[i] = REDACTED;
        changed = true;
      }
    });
    return changed ? segments.join('/') : path;
  };
  const plain = createRedactor();
  const patterned = createRedactor({ patterns: ['^tok-'] });
  const pieces = ['/', '/', 'a', 'tok-1', 'sk_live_abcdefgh', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', 'abcdef0123456789abcdef0123', '3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'AKIAABCDEFGHIJKLMNOP', 'x'.repeat(20), '42'];
  let seed = 3;
  const next = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let n = 0; n < 3000; n++) {
    let path = '';
    const k = Math.floor(next() * 8);
    for (let i = 0; i < k; i++) path += pieces[Math.floor(next() * pieces.length)];
    assert.equal(plain.redactPath(path), reference(path, false), path);
    assert.equal(patterned.redactPath(path), reference(path, true), path);
  }
});

it('query key decisions are remembered without changing them', () => {
  const r = createRedactor({ extraQueryKeys: ['Custom'], allowQueryKeys: ['code'] });
  for (let round = 0; round < 3; round++) {
    assert.equal(r.redactQuery('page=2&token=a&custom=b&code=c&user%5Bpassword%5D=d'), `page=2&token=${REDACTED}&custom=${REDACTED}&code=c&user%5Bpassword%5D=${REDACTED}`);
    assert.equal(r.isSensitiveQueryKey('accessToken'), true);
    assert.equal(r.isSensitiveQueryKey('page'), false);
  }
});
