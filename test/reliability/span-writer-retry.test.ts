/**
 * The span writer on a store that refuses writes: the hot path (one flush per
 * replayed chunk) must not retry the whole buffer on every call, which made a
 * replay onto a full disk quadratic; it still retries soon, and resumes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanWriter, type SpanSink } from '../../backend-agent/src/spans/span-writer.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import { makeSpan } from '../backend-agent/fixtures/spans.js';
import type { Span } from '../../backend-agent/src/model/span.js';

class CountingSink implements SpanSink {
  broken = true;
  attempts = 0;
  stored = 0;
  insertSpans(spans: Span[]): void {
    this.attempts++;
    if (this.broken) throw new Error('database or disk is full (SQLITE_FULL)');
    this.stored += spans.length;
  }
}

test('flushThrottled retries a failing store at most every 500 ms, then resumes', async () => {
  const sink = new CountingSink();
  const w = new SpanWriter(sink, createLogger('error', () => undefined));
  w.add([makeSpan()]);
  w.flush();
  assert.equal(sink.attempts, 1);
  assert.match(w.writeError ?? '', /SQLITE_FULL/);
  const started = Date.now();
  for (let i = 0; i < 2000; i++) {
    w.add([makeSpan()]);
    w.flushThrottled();
  }
  const elapsed = Date.now() - started;
  assert.ok(sink.attempts <= 1 + Math.ceil(elapsed / 500), `${sink.attempts} attempts in ${elapsed} ms`);
  assert.equal(w.pendingCount, 2001, 'nothing lost while waiting');
  sink.broken = false;
  await new Promise((r) => setTimeout(r, 550));
  w.flushThrottled();
  assert.equal(w.writeError, undefined);
  assert.equal(sink.stored, 2001);
  // flush() itself is not throttled (tick and shutdown must always try).
  sink.broken = true;
  w.add([makeSpan()]);
  w.flush();
  const before = sink.attempts;
  w.flush();
  assert.equal(sink.attempts, before + 1, 'flush() always attempts');
});
