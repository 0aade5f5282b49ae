/**
 * Trace by ID against real agents: the frame must be what Grafana's trace
 * view reads (TraceSpanRow, milliseconds), built from the agents' spans, and
 * a trace whose two sides were captured on different nodes is joined.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataFrame, TraceKeyValuePair, TraceSpanRow } from '@grafana/data';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { runQuery } from '../../../src/datasource/query/run-query.js';
import { DataFrameView, FieldType } from '../fixtures/grafana-data.js';
import { CALLER_SPAN, T } from '../fixtures/scenario.js';
import { native, startWorld, type World } from '../fixtures/world.js';

/** Every field of the trace frame, its type, in order: the TraceSpanRow contract. */
const TRACE_FIELDS: Array<[string, string]> = [
  ['traceID', FieldType.string],
  ['spanID', FieldType.string],
  ['parentSpanID', FieldType.string],
  ['operationName', FieldType.string],
  ['serviceName', FieldType.string],
  ['serviceTags', FieldType.other],
  ['startTime', FieldType.number],
  ['duration', FieldType.number],
  ['tags', FieldType.other],
  ['kind', FieldType.string],
  ['statusCode', FieldType.number],
  ['statusMessage', FieldType.string],
  ['warnings', FieldType.other],
];

function rows(frame: DataFrame): TraceSpanRow[] {
  return new DataFrameView<TraceSpanRow>(frame).toArray().map((r) => ({ ...r }));
}

function tag(pairs: TraceKeyValuePair[] | undefined, key: string): unknown {
  return pairs?.find((p) => p.key === key)?.value;
}

describe('Trace by ID query (real agents, replayed capture)', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(() => world?.stop());

  test('frame shape: TraceSpanRow fields and types, preferredVisualisationType trace, ms units', async () => {
    const { frames, errors } = await runQuery({ refId: 'A', queryType: 'trace', traceId: T.t1 }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(errors, []);
    assert.equal(frames.length, 1);
    const frame = frames[0]!;
    assert.equal(frame.refId, 'A');
    assert.equal(frame.meta?.preferredVisualisationType, 'trace');
    assert.deepEqual(frame.fields.map((f) => [f.name, f.type]), TRACE_FIELDS);
    assert.equal(frame.fields.find((f) => f.name === 'duration')!.config.unit, 'ms');
    assert.equal(frame.length, 2);
  });

  test('every row equals the agent span it came from, µs/ns converted to ms', async () => {
    const { frames } = await runQuery({ refId: 'A', queryType: 'trace', traceId: T.t1 }, world.ctx([world.nodeA, world.nodeB]));
    const { spans } = await native<{ spans: Span[] }>(world.agentA, `/api/v1/traces/${T.t1}`);
    const view = rows(frames[0]!);
    assert.equal(view.length, spans.length);
    for (const s of spans) {
      const r = view.find((v) => v.spanID === s.spanId)!;
      assert.ok(r, `span ${s.spanId} in the frame`);
      assert.equal(r.traceID, T.t1);
      assert.equal(r.parentSpanID, s.parentSpanId ?? '');
      assert.equal(r.operationName, s.name);
      assert.equal(r.serviceName, s.service);
      assert.equal(r.startTime, s.startTimeUs / 1000);
      assert.equal(r.duration, s.durationNs / 1e6);
      assert.equal(r.kind, s.kind);
      assert.equal(r.statusCode, { unset: 0, ok: 1, error: 2 }[s.status]);
      assert.equal(tag(r.serviceTags, 'service.name'), s.service, 'for trace-to-logs/metrics label filters');
      assert.equal(tag(r.serviceTags, 'process.pid'), s.process.pid);
      assert.equal(tag(r.serviceTags, 'host.name'), s.process.hostName);
      assert.equal(tag(r.tags, 'http.response.status_code'), s.attributes['http.response.status_code']);
      assert.equal(tag(r.tags, 'wiretrace.duration_ns'), s.durationNs);
      assert.equal(tag(r.tags, 'peer.service'), s.peerService);
      for (const p of [...r.tags!, ...r.serviceTags]) assert.ok(typeof p.key === 'string' && p.value !== undefined, 'key/value pairs');
    }
    // Known values from the capture: the client span starts at base + 0 ms and lasts 3 ms.
    const client = view.find((v) => v.kind === 'client')!;
    assert.equal(client.spanID, CALLER_SPAN.t1, 'client span takes the id its traceparent announced');
    assert.equal(client.parentSpanID, '', 'root');
    assert.equal(client.startTime, world.baseMs);
    assert.equal(client.duration, 3);
    const server = view.find((v) => v.kind === 'server')!;
    assert.equal(server.parentSpanID, CALLER_SPAN.t1, 'server span is the child of the client span');
    assert.equal(tag(server.tags, 'wiretrace.link.method'), 'header');
    assert.deepEqual(server.warnings, []);
  });

  test('an error span has statusCode 2 and the error tag', async () => {
    const { frames } = await runQuery({ refId: 'A', queryType: 'trace', traceId: T.t2 }, world.ctx([world.nodeA, world.nodeB]));
    const view = rows(frames[0]!);
    assert.deepEqual(view.map((r) => [r.kind, r.statusCode, tag(r.tags, 'error'), tag(r.tags, 'http.response.status_code')]), [
      ['client', 2, true, 500],
      ['server', 2, true, 500],
    ]);
    assert.equal(view[0]!.duration, 31);
  });

  test('a call captured on two nodes is joined: client span from node-a, server span from node-b', async () => {
    const { frames, errors } = await runQuery({ refId: 'A', queryType: 'trace', traceId: T.t3 }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(errors, []);
    const view = rows(frames[0]!);
    assert.deepEqual(view.map((r) => [r.serviceName, r.kind, r.spanID === CALLER_SPAN.t3 ? 'caller' : r.parentSpanID]), [
      ['frontend', 'client', 'caller'],
      ['payments', 'server', CALLER_SPAN.t3],
    ]);
    assert.deepEqual(view[1]!.warnings, [], 'the parent is in the merged trace');
    // Seen from node-b alone, the same server span's parent is missing and says so.
    const alone = rows((await runQuery({ refId: 'A', queryType: 'trace', traceId: T.t3 }, world.ctx([world.nodeB]))).frames[0]!);
    assert.equal(alone.length, 1);
    assert.match(alone[0]!.warnings![0]!, new RegExp(`parent span ${CALLER_SPAN.t3} was not captured`));
  });

  test('unknown and malformed ids give a clear error and no frame', async () => {
    const missing = await runQuery({ refId: 'A', queryType: 'trace', traceId: 'abc' }, world.ctx([world.nodeA, world.nodeB]));
    assert.deepEqual(missing.frames, []);
    assert.deepEqual(missing.errors.map((e) => e.message), ['trace 00000000000000000000000000000abc not found on any agent']);
    const bad = await runQuery({ refId: 'A', queryType: 'trace', traceId: 'not-hex' }, world.ctx([world.nodeA]));
    assert.match(bad.errors[0]!.message, /'not-hex' is not a trace id/);
    const empty = await runQuery({ refId: 'A', queryType: 'trace', traceId: ' ' }, world.ctx([world.nodeA]));
    assert.deepEqual([empty.frames, empty.errors], [[], []], 'an empty editor is not an error');
  });
});
