/**
 * `node --import tsx bench/ingest/store-only.ts [--requests N] [--repeats R] [--batch B] [--prefill C]`
 * The store's share of ingest on its own: spans are made once by the real
 * pipeline from the synthetic stream, then each run converts them to rows
 * (SpanStore.prepareSpan) and stores them in batches (insertPrepared) into a
 * fresh database, then closes it. Prints CPU µs per span for the three steps,
 * so a store change can be measured without the pipeline's noise. The close
 * is shown apart: it runs the last WAL checkpoint, which the ingest bench does
 * not time, and which a longer run pays as it goes.
 *
 * --prefill C first stores C copies of the spans (C x 2 x requests spans)
 * and then measures on top of them. Each copy, and each measured run, gets
 * other trace and span ids (the same span under the same ids would only
 * replace its row). A store of a few hundred thousand spans shows what the
 * identity index costs. With --prefill the runs share one store (no close
 * per run). The copies keep the spans' start times, so the time-ordered
 * indexes take the measured rows among the stored ones, not at their end as
 * in a running agent: that made inserts ~2-3 µs per span dearer than
 * bench/ingest.ts's store-warm stage, which moves the stored copies back in
 * time (scratch comparison at 300,000 spans, 2026-11-26).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import { IngestPipeline } from '../../backend-agent/src/pipeline.js';
import type { Span } from '../../backend-agent/src/model/span.js';
import { openStore } from '../../backend-agent/src/store/index.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import { optionReader } from '../lib/cli.js';
import { buildStream } from './synthetic-stream.js';

const value = optionReader(process.argv.slice(2));
const requests = Number(value('--requests') ?? 10_000);
const repeats = Number(value('--repeats') ?? 5);
const batch = Number(value('--batch') ?? 2000);
const prefill = Number(value('--prefill') ?? 0);

function makeSpans(): Span[] {
  const spans: Span[] = [];
  const sink = (batch: Span[]): void => {
    for (const s of batch) spans.push(s);
  };
  const pipeline = new IngestPipeline({ hostName: 'bench', log: createLogger('error', () => {}), sink });
  const dec = new FrameDecoder();
  pipeline.handle(dec.push(buildStream({ requests, connections: 64 }).bytes));
  pipeline.flushAll();
  return spans;
}

/** Copy `c` of the spans: the same spans under other (hashed) trace and span ids. */
function copyOf(spans: readonly Span[], c: number): Span[] {
  const mix = (text: string): string => {
    let h = Math.imul(c + 1, 0x9e3779b1);
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x5bd1e995) ^ (h >>> 15);
    return (h >>> 0).toString(16).padStart(8, '0');
  };
  return spans.map((s) => ({ ...s, traceId: mix(s.traceId) + s.traceId.slice(8), spanId: mix(`${s.spanId}/`) + s.spanId.slice(8) }));
}

function cpuUs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

const spans = makeSpans();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-store-only-'));
const prepUs: number[] = [];
const insertUs: number[] = [];
const closeUs: number[] = [];
try {
  if (prefill > 0) runOnPrefilled();
  else runOnFresh();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

function runOnPrefilled(): void {
  const store = openStore({ path: path.join(dir, 'prefilled.db'), retention: { maxAgeMs: 24 * 3600_000, maxSizeBytes: 64 * 1024 ** 3 } });
  const insert = (rows: ReturnType<typeof store.prepareSpan>[]): void => {
    for (let at = 0; at < rows.length; at += batch) store.insertPrepared(rows.slice(at, at + batch));
  };
  for (let c = 0; c < prefill; c++) insert(copyOf(spans, c).map((s) => store.prepareSpan(s)));
  for (let run = 0; run < repeats; run++) {
    const copy = copyOf(spans, prefill + run);
    let rows: ReturnType<typeof store.prepareSpan>[] = [];
    prepUs.push(cpuUs(() => void (rows = copy.map((s) => store.prepareSpan(s)))) / spans.length);
    insertUs.push(cpuUs(() => insert(rows)) / spans.length);
  }
  const stored = store.stats().spanCount;
  if (stored !== spans.length * (prefill + repeats)) throw new Error(`stored ${stored} of ${spans.length * (prefill + repeats)}`);
  closeUs.push(cpuUs(() => store.close()) / (spans.length * repeats));
}

function runOnFresh(): void {
  for (let run = -1; run < repeats; run++) {
    const store = openStore({ path: path.join(dir, `s-${run}.db`), retention: { maxAgeMs: 24 * 3600_000, maxSizeBytes: 8 * 1024 ** 3 } });
    let rows: ReturnType<typeof store.prepareSpan>[] = [];
    const p = cpuUs(() => void (rows = spans.map((s) => store.prepareSpan(s))));
    const i = cpuUs(() => {
      for (let at = 0; at < rows.length; at += batch) store.insertPrepared(rows.slice(at, at + batch));
    });
    if (store.stats().spanCount !== spans.length) throw new Error(`stored ${store.stats().spanCount} of ${spans.length}`);
    // Closing checkpoints the WAL: the copy into the database file every written page costs once, sooner or later.
    const c = cpuUs(() => store.close());
    // The first run warms the JIT up and is not counted.
    if (run >= 0) {
      prepUs.push(p / spans.length);
      insertUs.push(i / spans.length);
      closeUs.push(c / spans.length);
    }
  }
}
const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]!.toFixed(2)} [${s[0]!.toFixed(2)}..${s[s.length - 1]!.toFixed(2)}]`;
};
const onto = prefill > 0 ? ` onto ${prefill * spans.length} stored (random ids; close per measured span)` : '';
console.log(`${spans.length} spans${onto}, batch ${batch}, ${repeats} runs: CPU µs per span  prepare ${fmt(prepUs)}  insert ${fmt(insertUs)}  close (checkpoint) ${fmt(closeUs)}`);
