/**
 * `node --import tsx bench/overhead.ts [--quick] [--seconds N] [--rounds N] [--only node,python,nginx] [--port-base P] [--json FILE]`
 * Saturating wrk load on each service without a tracer, with the wiretrace
 * agent capturing, and with the OpenTelemetry SDK; prints the ratio table.
 */
import fs from 'node:fs';
import { stopAll } from './lib/child.js';
import { pidsByComm } from './lib/proc.js';
import { runOverhead, SERVICE_NAMES } from './overhead/run-overhead.js';
import { agentVsOtel, overheadRows, overheadTable } from './overhead/overhead-table.js';

const args = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');

process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));

const others = pidsByComm('wiretrace-loade'); // comm is cut at 15 characters
const opts = {
  seconds: Number(value('--seconds') ?? (quick ? 3 : 8)),
  rounds: Number(value('--rounds') ?? (quick ? 1 : 3)),
  connections: Number(value('--connections') ?? 32),
  services: (value('--only') ?? SERVICE_NAMES.join(',')).split(','),
  portBase: Number(value('--port-base') ?? 19500),
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
  const json = value('--json');
  if (json) fs.writeFileSync(json, `${JSON.stringify({ options: { ...opts, log: undefined }, otherLoaders: others.length, rows, records }, null, 2)}\n`);
  console.log(`OVERHEAD_JSON ${JSON.stringify(rows)}`);
} finally {
  await stopAll();
}
