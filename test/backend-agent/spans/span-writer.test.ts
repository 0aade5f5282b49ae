import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanWriter, type SpanSink } from '../../../backend-agent/src/spans/span-writer.js';
import { createLogger } from '../../../backend-agent/src/util/log.js';
import { makeSpan } from '../fixtures/spans.js';
import type { Span } from '../../../backend-agent/src/model/span.js';

/** A sink that fails while `broken` is set, like a full disk would. */
class FlakySink implements SpanSink {
  broken = false;
  batches: Span[][] = [];
  insertSpans(spans: Span[]): void {
    if (this.broken) throw new Error('database or disk is full');
    this.batches.push([...spans]);
  }
}

const lines: string[] = [];
const log = createLogger('info', (l) => lines.push(l));

test('spans are written in batches; nothing is written twice', () => {
  const sink = new FlakySink();
  const w = new SpanWriter(sink, log);
  w.add(Array.from({ length: 2500 }, () => makeSpan()));
  assert.deepEqual(sink.batches.map((b) => b.length), [2500], 'a big add flushes at once');
  w.add([makeSpan(), makeSpan()]);
  assert.equal(sink.batches.length, 1, 'small adds wait for the tick');
  w.flush();
  assert.deepEqual(sink.batches.map((b) => b.length), [2500, 2]);
  assert.equal(w.written, 2502);
  w.flush();
  assert.equal(sink.batches.length, 2, 'an empty flush writes nothing');
});

test('a failing store pauses ingest with a clear error, keeps spans, and resumes', () => {
  const sink = new FlakySink();
  const w = new SpanWriter(sink, log);
  sink.broken = true;
  w.add([makeSpan(), makeSpan(), makeSpan()]);
  w.flush();
  assert.equal(w.writeError, 'database or disk is full');
  assert.equal(w.pendingCount, 3, 'spans wait for the store');
  assert.ok(lines.some((l) => l.includes('ingest paused')));
  sink.broken = false;
  w.flush();
  assert.equal(w.writeError, undefined);
  assert.equal(w.written, 3);
  assert.equal(w.pendingCount, 0);
});

test('the pending buffer is bounded; what falls out is counted, oldest first', () => {
  const sink = new FlakySink();
  const w = new SpanWriter(sink, log);
  sink.broken = true;
  w.flush();
  w.add([makeSpan({ name: 'first' })]);
  w.flush();
  for (let i = 0; i < 60; i++) w.add(Array.from({ length: 1000 }, () => makeSpan()));
  assert.equal(w.pendingCount, 50_000);
  assert.equal(w.dropped, 10_001);
  sink.broken = false;
  w.flush();
  assert.equal(w.written, 50_000);
  assert.ok(!sink.batches[0]?.some((s) => s.name === 'first'), 'the oldest span was the one dropped');
});
