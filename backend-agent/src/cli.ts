/**
 * `wiretrace-agent`: parses configuration, checks prerequisites, runs the
 * agent until SIGINT/SIGTERM. Every failure a user can cause (bad flag,
 * missing privilege, missing BTF, unusable store) ends in one line on stderr
 * and a non-zero exit, never a stack trace.
 */
import { ConfigError, helpText, parseConfig } from './config.js';
import { startAgent, AgentStartError } from './agent.js';
import { createLogger } from './util/log.js';
import { applyNice } from './capture/priority.js';
import { HeapGrowth } from './heap-growth.js';
import { AGENT_VERSION } from './version.js';

function fail(message: string, code = 2): never {
  process.stderr.write(`wiretrace-agent: error: ${message}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`wiretrace-agent ${AGENT_VERSION}\n`);
    return;
  }
  const log = createLogger(parsed.config.logLevel);
  // Before anything is ingested, so every full GC sizes the heap by it.
  log.debug('heap growth', { ...new HeapGrowth(parsed.config.heapGrowthPercent).start() });
  // Before the agent starts its workers and the loader: they inherit it.
  applyNice(parsed.config.nice, log);
  let agent;
  try {
    agent = await startAgent(parsed.config, log);
  } catch (err) {
    if (err instanceof AgentStartError) fail(err.message);
    fail(err instanceof Error ? err.message : String(err), 1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    agent
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
