#!/usr/bin/env node
// Entry point for `npx wiretrace-agent`. The TypeScript build must exist
// (`npm run build`); say so plainly instead of a module-not-found trace.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('wiretrace-agent: error: agent not built (run "npm run build" in the wiretrace checkout)\n');
  process.exit(2);
}
const { main } = await import(cli.href);
await main(process.argv.slice(2));
