/**
 * How far V8 lets the old generation grow past what was live at the last full
 * GC before it collects again (V8's --heap-growing-percent).
 *
 * Why the agent steers it: during an ingest burst most of what the agent
 * promotes to the old generation is soon garbage (~1.8 KB per span with
 * 10,000 keep-alive connections, from many places: spans in the self-time
 * windows, per-connection objects replaced at each exchange, rows waiting
 * for their batch). On a
 * large host V8 lets the old generation grow to up to 4x its live size before
 * collecting, and keeps those pages committed afterwards: with 20,000 sockets
 * (~46 MiB live) the agent's RSS peaked near 300 MiB and stayed at ~235 MiB.
 * Capped at +40% it stays under 200 MB, for 3-4x the full GCs (at +50% one
 * peak in 16 runs went just over, with free fragments in the old
 * generation's pages: docs/BENCHMARKS.md, "Memory, session 4").
 *
 * The cap costs CPU only where it bites, so it applies only above a floor:
 * the old generation may always grow to FLOOR_BYTES; beyond that, to live
 * size + `percent`. A small agent (a few hundred connections, ~10 MiB live)
 * keeps V8's own sizing and pays nothing.
 *
 * V8 reads the flag when a full GC ends, to size the heap for the next one
 * (so v8.setFlagsFromString at run time is as good as a node option), and
 * multiplies the live size *then* by it. Steering by the live size of the
 * last full GC is one cycle late: a growth chosen for a small heap (V8's 4x)
 * then applied to a heap that grew in the meantime let RSS peak at 250 MiB.
 * So the growth is recomputed after every GC, young ones included, from the
 * old generation's current size: that is at least what will be live at the
 * next full GC, so live * (1 + growth) stays within max(floor, live * (1 +
 * percent)).
 */
import v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';

export const DEFAULT_HEAP_GROWTH_PERCENT = 40;
/** The old generation may always grow this far: below it V8 sizes the heap as it likes. */
export const FLOOR_BYTES = 64 * 2 ** 20;
/** V8's own largest growth (factor 4 on a host with over 2 GiB of heap limit): asking for more is asking for its default. */
const V8_MAX_PERCENT = 300;

const NODE_FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

export type HeapGrowthOutcome =
  /** The agent steers V8's growth: live size + this percentage, never below FLOOR_BYTES. */
  | { steered: number }
  /** Left alone: node was started with the V8 flag (that choice wins), or 0 was asked for (V8's own sizing). */
  | { kept: 'node-flag' | 'v8-default' };

/**
 * The V8 growth percentage that lets an old generation of `liveBytes` grow to
 * max(floorBytes, liveBytes * (1 + percent / 100)); 0 (V8's own sizing) when
 * that is at least as far as V8 would go anyway.
 */
export function growthFor(liveBytes: number, percent: number, floorBytes = FLOOR_BYTES): number {
  if (liveBytes <= 0) return 0;
  const target = Math.max(floorBytes, liveBytes * (1 + percent / 100));
  // Rounded down to 5 points: V8 is told again only when the heap changed noticeably.
  const p = Math.floor((target / liveBytes - 1) * 20) * 5;
  return p >= V8_MAX_PERCENT ? 0 : Math.max(p, percent);
}

export interface HeapGrowthHost {
  /** node's own options (process.execArgv). */
  execArgv: readonly string[];
  setFlags(flags: string): void;
  /** Old-generation bytes in use, garbage not yet collected included. */
  oldBytes(): number;
  /** Calls `fn` after garbage collections (every one, or a batch of them) until the returned function is called. */
  afterGc(fn: () => void): () => void;
}

/** Steers V8's heap growth by the old generation's size after every GC (see above). */
export class HeapGrowth {
  private current = 0;
  private stop: (() => void) | undefined;

  constructor(
    private readonly percent: number,
    private readonly host: HeapGrowthHost = PROCESS_HOST,
  ) {}

  start(): HeapGrowthOutcome {
    if (this.host.execArgv.some((a) => NODE_FLAG.test(a))) return { kept: 'node-flag' };
    if (this.percent === 0) return { kept: 'v8-default' };
    this.update();
    this.stop = this.host.afterGc(() => this.update());
    return { steered: this.percent };
  }

  /** The growth now asked of V8 (0: its own sizing). */
  get growthPercent(): number {
    return this.current;
  }

  update(): void {
    const next = growthFor(this.host.oldBytes(), this.percent);
    if (next === this.current) return;
    this.host.setFlags(`--heap-growing-percent=${next}`);
    this.current = next;
  }

  close(): void {
    this.stop?.();
    this.stop = undefined;
  }
}

const OLD_SPACES = new Set(['old_space', 'large_object_space']);

const PROCESS_HOST: HeapGrowthHost = {
  execArgv: process.execArgv,
  setFlags: (flags) => v8.setFlagsFromString(flags),
  oldBytes: () => v8.getHeapSpaceStatistics().reduce((sum, s) => sum + (OLD_SPACES.has(s.space_name) ? s.space_used_size : 0), 0),
  afterGc: (fn) => {
    const observer = new PerformanceObserver(() => fn());
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  },
};
