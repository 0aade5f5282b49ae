/**
 * `node --import tsx bench/overhead.ts [--quick] [--seconds N] [--rounds N] [--only node,python,nginx] [--port-base P]
 *   [--agent-nice N] [--fixed-rate-pct P] [--ref-loader PATH] [--json FILE]`
 * Saturating wrk load on each service without a tracer, with the eBPF probes
 * alone, with the wiretrace agent capturing (also at --nice N; 0 leaves that
 * out), and with the OpenTelemetry SDK; then paced load at P% of the
 * no-capture maximum (0 leaves that out). --ref-loader adds the probes of
 * another loader build, for a before/after of kernel-side changes in one run.
 * Prints the ratio and breakdown tables.
 */
import fs from 'node:fs';
import { stopAll } from './lib/child.js';
import { pidsByComm } from './lib/proc.js';
import { runOverhead, SERVICE_NAMES } from './overhead/run-overhead.js';
import { agentVsOtel, breakdownTable, fixedRates, overheadRows, overheadTable } from './overhead/overhead-table.js';
import { optionReader } from './lib/cli.js';

const args = process.argv.slice(2);
const value = optionReader(args);
const quick = args.includes('--quick');

process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));

const others = pidsByComm('wiretrace-loade'); // comm is cut at 15 characters
const opts = {
  seconds: Number(value('--seconds') ?? (quick ? 3 : 8)),
  rounds: Number(value('--rounds') ?? (quick ? 1 : 3)),
  connections: Number(value('--connections') ?? 32),
  services: (value('--only') ?? SERVICE_NAMES.join(',')).split(','),
  portBase: Number(value('--port-base') ?? 19500),
  agentNice: Number(value('--agent-nice') ?? 10),
  ...(value('--ref-loader') ? { refLoader: value('--ref-loader') } : {}),
  fixedRatePct: Number(value('--fixed-rate-pct') ?? (quick ? 0 : 50)),
  fixedRateConnections: 64,
  log: (l: string) => console.log(l),
};

console.log(`\nOverhead: wrk -t1 -c${opts.connections} -d${opts.seconds}s, ${opts.rounds} round(s) per configuration, loopback`);
if (others.length) console.log(`  note: ${others.length} other wiretrace loader(s) already attached on this host (pids ${others.join(', ')}); their probes run in every configuration`);
try {
  const records = await runOverhead(opts);
  const rows = overheadRows(records);
  console.log('');
  console.log(overheadTable(rows));
  for (const line of agentVsOtel(rows)) console.log(line);
  for (const service of opts.services) {
    for (const rate of [undefined, ...fixedRates(records, service)]) {
      const t = breakdownTable(records, service, rate);
      if (t) console.log(`\n${t}`);
    }
  }
  const json = value('--json');
  if (json) fs.writeFileSync(json, `${JSON.stringify({ options: { ...opts, log: undefined }, otherLoaders: others.length, rows, records }, null, 2)}\n`);
  console.log(`OVERHEAD_JSON ${JSON.stringify(rows)}`);
} finally {
  await stopAll();
}
