/**
 * Property fuzzing of the trace-context parsers and the redactor: seeded
 * mutations of valid header values plus random strings. Properties: nothing
 * throws; whatever is accepted is well-formed (ids are lowercase hex of the
 * right width and not all zeros), so garbage can never become a bogus trace
 * link; redaction never lets a secret value through for a sensitive name.
 * CI runs 20k inputs per parser; WIRETRACE_FUZZ_ITERATIONS=1000000 for a benchmark.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRedactor,
  extractTraceContext,
  parseB3Multi,
  parseB3Single,
  parseCorrelationId,
  parseTraceparent,
  parseTracestate,
  parseUberTraceId,
  parseXrayTraceId,
} from '../../backend-agent/src/context/index.js';
import type { TraceContext } from '../../backend-agent/src/model/span.js';
import { Rng, fuzzIterations, fuzzSeed, mutateString } from './support.js';

const N = fuzzIterations(20_000);
const SEED = fuzzSeed(0x9e3779b9);

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = {
  traceparent: [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-00`, `01-${TRACE}-${SPAN}-01-extra`],
  tracestate: ['rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'a@b=c', 'vendor=value'],
  b3: [`${TRACE}-${SPAN}-1`, `${TRACE}-${SPAN}-1-${SPAN}`, `${TRACE.slice(16)}-${SPAN}`, '0', 'd'],
  uber: [`${TRACE}:${SPAN}:0:1`, `${TRACE.slice(16)}:${SPAN}:${SPAN}:3`],
  xray: [`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`, 'Root=1-5759e988-bd862e3fe1be46a994272793'],
  correlation: ['f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 'req-123', 'abc'],
};

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

function assertWellFormed(ctx: TraceContext, input: unknown): void {
  assert.match(ctx.traceId, HEX32, `trace id from ${JSON.stringify(input)}`);
  assert.notEqual(ctx.traceId, '0'.repeat(32), `all-zero trace id accepted from ${JSON.stringify(input)}`);
  if (ctx.callerSpanId !== undefined) {
    assert.match(ctx.callerSpanId, HEX16, `span id from ${JSON.stringify(input)}`);
    assert.notEqual(ctx.callerSpanId, '0'.repeat(16));
  }
  if (ctx.callerParentSpanId !== undefined) assert.match(ctx.callerParentSpanId, HEX16);
}

function input(rng: Rng, valid: readonly string[]): string {
  let s = rng.pick(valid);
  const rounds = rng.int(4);
  for (let i = 0; i < rounds; i++) s = mutateString(rng, s);
  return s;
}

test(`trace-context parsers: ${N} mutated inputs each, nothing throws, accepted values are well-formed`, () => {
  const rng = new Rng(SEED);
  let accepted = 0;
  let rejected = 0;
  const tally = (ok: boolean): void => {
    if (ok) accepted++;
    else rejected++;
  };
  for (let i = 0; i < N; i++) {
    const tp = input(rng, VALID.traceparent);
    const r1 = parseTraceparent(tp);
    tally(r1.ok);
    if (r1.ok) {
      assert.match(r1.value.traceId, HEX32, tp);
      assert.notEqual(r1.value.traceId, '0'.repeat(32), tp);
      assert.match(r1.value.parentId, HEX16, tp);
      assert.ok(r1.value.flags >= 0 && r1.value.flags <= 255, tp);
    } else assert.equal(typeof r1.reason, 'string');

    const ts = input(rng, VALID.tracestate);
    const r2 = parseTracestate(ts);
    tally(r2.ok);
    if (r2.ok && r2.value !== undefined) assert.ok(r2.value.length <= ts.length, 'tracestate never grows');

    const b3 = input(rng, VALID.b3);
    tally(parseB3Single(b3).ok);
    const multi = parseB3Multi({ traceId: input(rng, [TRACE, TRACE.slice(16)]), spanId: input(rng, [SPAN]), sampled: input(rng, ['1', '0', 'true']) });
    tally(multi.ok);
    if (multi.ok && multi.value) assertWellFormed(multi.value, 'b3 multi');

    const uber = input(rng, VALID.uber);
    const r4 = parseUberTraceId(uber);
    tally(r4.ok);
    if (r4.ok) assertWellFormed(r4.value, uber);

    const xray = input(rng, VALID.xray);
    const r5 = parseXrayTraceId(xray);
    tally(r5.ok);
    if (r5.ok) assertWellFormed(r5.value, xray);

    const corr = input(rng, VALID.correlation);
    const r6 = parseCorrelationId(corr);
    tally(r6.ok);
    if (r6.ok) assert.ok(!/[\r\n\0]/.test(r6.value), `control characters kept in a correlation id: ${JSON.stringify(corr)}`);

    // Whole header lists, with duplicates and odd casing, through the public entry point.
    const headers: Array<[string, string]> = [
      [rng.pick(['traceparent', 'TRACEPARENT', 'b3', 'x-b3-traceid', 'uber-trace-id', 'x-amzn-trace-id', 'x-request-id']), input(rng, [...VALID.traceparent, ...VALID.b3, ...VALID.uber])],
      [rng.pick(['traceparent', 'tracestate', 'x-b3-spanid', 'x-b3-sampled', 'x-correlation-id']), input(rng, [...VALID.tracestate, SPAN, '1'])],
    ];
    const ex = extractTraceContext(headers);
    for (const c of ex.all) assertWellFormed(c, headers);
    if (ex.context) assert.equal(ex.context, ex.all[0]);
  }
  // Both sides of the contract were exercised, not just one.
  assert.ok(accepted > N / 10, `accepted ${accepted}`);
  assert.ok(rejected > N, `rejected ${rejected}`);
  console.log(`context fuzz: seed ${SEED}, ${N} rounds, ${accepted} accepted, ${rejected} rejected`);
});

test(`redactor: ${N} mutated secrets never survive in a sensitive header, query key or cookie`, () => {
  const rng = new Rng(SEED ^ 0x5bd1e995);
  const redactor = createRedactor();
  const secretNames = ['authorization', 'cookie', 'x-api-key', 'proxy-authorization', 'set-cookie'];
  const queryKeys = ['token', 'access_token', 'api_key', 'password', 'secret'];
  for (let i = 0; i < N; i++) {
    // A recognisable secret that never contains the redaction marker or separators.
    const secret = `S3cr3t${rng.int(1e9).toString(36)}zz`;
    const name = rng.pick(secretNames);
    const value = rng.pick([`Bearer ${secret}`, `Basic ${secret}`, `session=${secret}; theme=dark`, secret]);
    const out = redactor.redactHeaderValue(rng.bool() ? name : name.toUpperCase(), value);
    assert.ok(!out.includes(secret), `${name}: ${JSON.stringify(value)} -> ${JSON.stringify(out)}`);

    const key = rng.pick(queryKeys);
    const noise = mutateString(rng, 'a=1&b=two');
    const query = rng.pick([`${key}=${secret}`, `${noise}&${key}=${secret}`, `?${key}=${secret}&${noise}`, `${encodeURIComponent(key)}=${secret}#x`]);
    const q = redactor.redactQuery(query);
    assert.ok(!q.includes(secret), `${JSON.stringify(query)} -> ${JSON.stringify(q)}`);
    const url = redactor.redactUrl(`/p/${i}?${query.replace(/^\?/, '')}`);
    assert.ok(!url.includes(secret), `${query} -> ${url}`);

    // Arbitrary junk must not throw.
    redactor.redactUrl(mutateString(rng, `http://u:${secret}@h/x?token=${secret}`));
    redactor.redactQuery(mutateString(rng, query));
  }
});
