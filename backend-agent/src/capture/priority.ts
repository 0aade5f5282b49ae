/**
 * Lowers the scheduling priority of the agent (every thread it has) so that,
 * on a CPU-bound host, the traced services win the contest for CPU. The
 * loader is forked later from the main thread and inherits the niceness.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from '../util/log.js';

/** Linux applies setpriority(PRIO_PROCESS, tid) to one thread: threads already running need their own call. */
export function applyNice(nice: number, log: Logger): void {
  if (nice === 0) return;
  let tids: number[];
  try {
    tids = fs.readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [0];
  }
  for (const tid of tids) {
    try {
      os.setPriority(tid === process.pid ? 0 : tid, nice);
    } catch (err) {
      log.warn('cannot lower scheduling priority', { tid, nice, error: err instanceof Error ? err.message : String(err) });
    }
  }
  log.info('scheduling priority lowered', { nice, threads: tids.length });
}
