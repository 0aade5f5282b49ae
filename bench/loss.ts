/**
 * `node --import tsx bench/loss.ts [--quick] [--seconds N] [--rates 1000,4000,max] [--port-base P] [--json FILE]`
 * Paced load at increasing rates with the agent capturing: where loss begins.
 */
import fs from 'node:fs';
import { stopAll } from './lib/child.js';
import { fmtNum, markdownTable } from './lib/stats.js';
import { lossOnset, runLoss } from './loss/run-loss.js';
import { optionReader } from './lib/cli.js';

const args = process.argv.slice(2);
const value = optionReader(args);
const quick = args.includes('--quick');
const rates = (value('--rates') ?? (quick ? '1000,4000,max' : '2000,4000,6000,8000,12000,max'))
  .split(',')
  .map((r) => (r === 'max' ? undefined : Number(r)));
const seconds = Number(value('--seconds') ?? (quick ? 3 : 6));

process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));
console.log(`\nLive loss: Node.js service with the agent capturing, wrk paced over 64 connections (max = unpaced, 32 connections), ${seconds}s per step`);
try {
  const steps = await runLoss({ rates, seconds, portBase: Number(value('--port-base') ?? 19540), log: (l) => console.log(l) });
  console.log('');
  console.log(
    markdownTable(
      ['offered req/s', 'achieved req/s', 'exchanges captured', 'captured', 'kernel drops', 'stream gaps', 'agent CPU', 'loader CPU', 'exchanges per agent CPU-s'],
      steps.map((s) => [
        s.offeredRps === undefined ? 'max' : fmtNum(s.offeredRps),
        fmtNum(s.achievedRps),
        fmtNum(s.exchanges),
        `${s.capturedPct.toFixed(1)}%`,
        fmtNum(s.kernelDrops),
        fmtNum(s.streamGaps),
        s.agentCores.toFixed(2),
        s.loaderCores.toFixed(2),
        // The live per-core ingest rate: what one agent core turned into spans.
        fmtNum(s.exchanges / s.seconds / (s.agentCores + s.loaderCores)),
      ]),
    ),
  );
  const onset = lossOnset(steps);
  console.log(
    `Loss begins: ${onset.firstLoss ? `at ${fmtNum(onset.firstLoss.achievedRps)} req/s (${fmtNum(2 * onset.firstLoss.achievedRps)} exchanges/s)` : 'not reached'}; last clean step: ${onset.lastClean ? `${fmtNum(onset.lastClean.achievedRps)} req/s (${fmtNum(2 * onset.lastClean.achievedRps)} exchanges/s)` : 'none'}`,
  );
  const json = value('--json');
  if (json) fs.writeFileSync(json, `${JSON.stringify({ seconds, steps, onset }, null, 2)}\n`);
  console.log(`LOSS_JSON ${JSON.stringify({ steps, onset })}`);
} finally {
  await stopAll();
}
