/**
 * `node --import tsx bench/ingest.ts [--quick|--tiny] [--json FILE]`
 * Prints the in-process ingest table; --json also writes the raw result.
 */
import fs from 'node:fs';
import { runIngest, STAGES, type Stage } from './ingest/run-ingest.js';
import { fmtNum, fmtSummary, markdownTable } from './lib/stats.js';
import { optionReader } from './lib/cli.js';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const value = optionReader(args);

const mode = flag('--tiny') ? 'tiny' : flag('--quick') ? 'quick' : 'full';
const sizes = { tiny: { requests: 300, repeats: 1 }, quick: { requests: 10_000, repeats: 2 }, full: { requests: 40_000, repeats: 5 } }[mode];
const stages = value('--stage')?.split(',').filter((s): s is Stage => (STAGES as string[]).includes(s));
const result = runIngest({
  requests: Number(value('--requests') ?? sizes.requests),
  connections: 64,
  repeats: Number(value('--repeats') ?? sizes.repeats),
  ...(stages?.length ? { stages } : {}),
});

const json = value('--json');
if (json) fs.writeFileSync(json, `${JSON.stringify({ mode, ...result }, null, 2)}\n`);

console.log(
  `\nIngest, in process (${fmtNum(result.requests)} requests = ${fmtNum(result.expectedExchanges)} exchanges over ${result.connections} keep-alive connections, ${fmtNum(result.events)} loader events, ${fmtNum(result.streamBytes / 1e6, 1)} MB; median [min..max] of ${sizes.repeats})`,
);
console.log(
  markdownTable(
    ['stage', 'exchanges/s (wall)', 'exchanges/CPU-s (per core)', 'events/s (wall)', 'lost'],
    // Decoding makes no exchanges, so it cannot lose any.
    result.stages.map((s) => [s.stage, fmtSummary(s.exchangesPerSec), fmtSummary(s.exchangesPerCpuSec), fmtSummary(s.eventsPerSec), s.stage === 'decode' ? '-' : String(s.lost)]),
  ),
);
// A machine-readable last line for scripts and the smoke test.
console.log(`INGEST_JSON ${JSON.stringify({ mode, ...result })}`);
