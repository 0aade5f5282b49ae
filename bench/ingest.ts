/**
 * `node --import tsx bench/ingest.ts [--quick|--tiny] [--json FILE] [--stage a,b] [--requests N] [--repeats R] [--warm-spans S]`
 * Prints the in-process ingest table; --json also writes the raw result.
 * Stages: decode, pipeline, store-fresh, store-warm (all by default); `store`
 * still names store-fresh, what it measured before the warm stage existed.
 * The store-warm rate is the one the per-core ingest target is checked against.
 */
import fs from 'node:fs';
import { runIngest, STAGES, type Stage, type StageResult } from './ingest/run-ingest.js';
import { fmtNum, fmtSummary, markdownTable } from './lib/stats.js';
import { optionReader } from './lib/cli.js';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const value = optionReader(args);

const mode = flag('--tiny') ? 'tiny' : flag('--quick') ? 'quick' : 'full';
// warmSpans: a running agent's store holds ~700,000 spans at the default 1 GiB cap; filling it costs ~30 µs per span.
const sizes = {
  tiny: { requests: 300, repeats: 1, warmSpans: 3_000 },
  quick: { requests: 10_000, repeats: 2, warmSpans: 150_000 },
  full: { requests: 40_000, repeats: 5, warmSpans: 300_000 },
}[mode];
const stages = value('--stage')
  ?.split(',')
  .map((s) => (s === 'store' ? 'store-fresh' : s))
  .filter((s): s is Stage => (STAGES as string[]).includes(s));
const repeats = Number(value('--repeats') ?? sizes.repeats);
const result = runIngest({
  requests: Number(value('--requests') ?? sizes.requests),
  connections: 64,
  repeats,
  warmSpans: Number(value('--warm-spans') ?? sizes.warmSpans),
  ...(stages?.length ? { stages } : {}),
});

const json = value('--json');
if (json) fs.writeFileSync(json, `${JSON.stringify({ mode, ...result }, null, 2)}\n`);

const checkpoint = (s: StageResult): string =>
  s.checkpointCpuUsPerExchange ? `${fmtSummary(s.checkpointCpuUsPerExchange, 2)} (${s.checkpointTimed ? 'in the rate' : 'not in the rate'})` : '-';
console.log(
  `\nIngest, in process (${fmtNum(result.requests)} requests = ${fmtNum(result.expectedExchanges)} exchanges over ${result.connections} keep-alive connections, ${fmtNum(result.events)} loader events, ${fmtNum(result.streamBytes / 1e6, 1)} MB, random W3C ids; median [min..max] of ${repeats})`,
);
console.log(
  markdownTable(
    ['stage', 'exchanges/s (wall)', 'exchanges/CPU-s (per core)', 'events/s (wall)', 'spans stored before a run', 'last WAL checkpoint, CPU µs/exchange', 'lost'],
    // Decoding makes no exchanges, so it cannot lose any.
    result.stages.map((s) => [
      s.stage,
      fmtSummary(s.exchangesPerSec),
      fmtSummary(s.exchangesPerCpuSec),
      fmtSummary(s.eventsPerSec),
      s.storeSpansBefore ? fmtSummary(s.storeSpansBefore) : '-',
      checkpoint(s),
      s.stage === 'decode' ? '-' : String(s.lost),
    ]),
  ),
);
for (const s of result.stages) console.log(`  ${s.stage}: ${s.description}`);
if (result.warmPrefill) {
  console.log(`  (storing the warm store's first ${fmtNum(result.warmSpans)} spans took ${fmtNum(result.warmPrefill.wallSec, 1)} s, ${fmtNum(result.warmPrefill.cpuSec, 1)} CPU-s; not timed)`);
}
// A machine-readable last line for scripts and the smoke test.
console.log(`INGEST_JSON ${JSON.stringify({ mode, ...result })}`);
