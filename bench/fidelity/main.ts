/**
 * `npm run bench:fidelity`: every scenario (headers on/off x concurrency 1, 8,
 * 32), one table of parent-link precision and recall per hop kind and the
 * share of traces reconstructed whole. Needs root (eBPF capture) and a built
 * agent and loader (`npm run build`).
 *   node --import tsx bench/fidelity/main.ts [--concurrency 1,8,32] [--headers on,off] [--count 400]
 */
import { parseArgs } from 'node:util';
import { HOP_KINDS, type FidelityResult } from './evaluate.js';
import { runScenario, type ScenarioResult } from './scenario.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '1,8,32' },
    headers: { type: 'string', default: 'on,off' },
    count: { type: 'string', default: '400' },
    'port-base': { type: 'string', default: '18400' },
  },
});

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function cells(f: FidelityResult): string {
  const hops = HOP_KINDS.map((k) => {
    const h = f.hops.find((x) => x.kind === k)!;
    return `${pct(h.precision)} / ${pct(h.recall)} (n=${h.expected})`;
  });
  return `${hops.join(' | ')} | ${pct(f.wholeShare)} (${f.wholeTraces}/${f.rootsCaptured})`;
}

function row(r: ScenarioResult): string {
  const head = `| ${r.options.headers ? 'on' : 'off'} | ${r.options.concurrency} (${r.meanInFlight.toFixed(1)}) | ${r.requests}`;
  return `${head} | all signals | ${cells(r)} | ${r.queryMs.toFixed(0)} |\n${head} | no URL tokens | ${cells(r.withoutUrlTokens)} | |`;
}

const results: ScenarioResult[] = [];
let portBase = Number(values['port-base']);
for (const headers of values.headers.split(',')) {
  for (const c of values.concurrency.split(',').map(Number)) {
    const r = await runScenario(
      { headers: headers === 'on', concurrency: c, count: Number(values.count), portBase },
      (m) => process.stderr.write(`${m}\n`),
    );
    portBase += 20; // a fresh set of ports (a demo uses base..base+11): no TIME_WAIT leftovers from the last scenario
    results.push(r);
    process.stderr.write(`${row(r)}\n`);
  }
}
process.stdout.write(
  [
    `| headers | concurrency (mean in flight) | requests | evidence | ${HOP_KINDS.map((k) => `${k} P / R`).join(' | ')} | whole traces | search ms |`,
    `|---|---|---|---|${HOP_KINDS.map(() => '---').join('|')}|---|---|`,
    ...results.map(row),
  ].join('\n') + '\n',
);
