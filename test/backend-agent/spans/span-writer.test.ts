import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanWriter, type PreparingSpanSink, type SpanSink } from '../../../backend-agent/src/spans/span-writer.js';
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

/** A sink that converts spans itself (as the SQLite store does): rows are names here. */
class PreparingSink implements PreparingSpanSink<string> {
  prepared = 0;
  batches: string[][] = [];
  insertSpans(): void {
    throw new Error('a preparing sink gets prepared rows only');
  }
  prepareSpan(span: Span): string {
    this.prepared++;
    if (span.name === 'unencodable') throw new Error('cannot encode');
    return span.name;
  }
  insertPrepared(rows: string[]): void {
    this.batches.push([...rows]);
  }
}

test('a preparing sink gets each span converted on arrival and the rows in batches', () => {
  const sink = new PreparingSink();
  const w = new SpanWriter(sink, log);
  w.add([makeSpan({ name: 'a' }), makeSpan({ name: 'b' })]);
  assert.equal(sink.prepared, 2, 'converted when added, not at the flush');
  assert.equal(sink.batches.length, 0);
  w.flush();
  assert.deepEqual(sink.batches, [['a', 'b']]);
  assert.equal(w.written, 2);
});

test('a span the sink cannot convert is dropped and counted; the others are written', () => {
  const sink = new PreparingSink();
  const w = new SpanWriter(sink, log);
  w.add([makeSpan({ name: 'a' }), makeSpan({ name: 'unencodable' }), makeSpan({ name: 'c' })]);
  w.flush();
  assert.deepEqual(sink.batches, [['a', 'c']]);
  assert.equal(w.dropped, 1);
  assert.ok(lines.some((l) => l.includes('cannot encode')));
});
