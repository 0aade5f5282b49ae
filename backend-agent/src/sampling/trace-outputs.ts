/**
 * Where spans go after the pipeline: the store, and the OTLP exporter.
 *
 * - Neither sampling nor export: straight to the store (no window, no delay).
 * - Export only: to the store at once (queries see spans as before); to the
 *   exporter through the decision window, so exported spans carry the
 *   inferred parents of their whole trace.
 * - Sampling: through the window to both, kept traces only; the store then
 *   sees spans one window late.
 */
import type { Span } from '../model/span.js';
import type { SamplingHealth } from '../model/health.js';
import type { LinkLayer } from '../reconstruct/index.js';
import type { KeepReason, SamplingPolicy } from './policy.js';
import { TraceWindow, type TracePart } from './trace-window.js';

export interface SpanExporter {
  add(spans: readonly Span[]): void;
}

export interface TraceOutputsOptions {
  write(spans: Span[]): void;
  policy?: SamplingPolicy;
  exporter?: SpanExporter;
  windowMs: number;
  maxWaitMs?: number;
  maxBuffered?: number;
  layers?: readonly LinkLayer[];
  now?: () => number;
}

type Reason = KeepReason | 'continued' | 'revived';

export class TraceOutputs {
  private readonly window: TraceWindow | undefined;
  private readonly policy: SamplingPolicy | undefined;
  private readonly counters = { tracesKept: 0, tracesDropped: 0, spansKept: 0, spansDropped: 0 };
  private readonly keptByReason: Record<Reason, number> = { error: 0, slow: 0, rate: 0, continued: 0, revived: 0 };

  constructor(private readonly o: TraceOutputsOptions) {
    this.policy = o.policy?.samples ? o.policy : undefined;
    if (this.policy || o.exporter) {
      this.window = new TraceWindow((part) => this.onPart(part), {
        windowMs: o.windowMs,
        ...(o.maxWaitMs !== undefined ? { maxWaitMs: o.maxWaitMs } : {}),
        ...(o.maxBuffered !== undefined ? { maxBuffered: o.maxBuffered } : {}),
        ...(o.layers ? { layers: o.layers } : {}),
        ...(o.now ? { now: o.now } : {}),
      });
    }
  }

  add(spans: Span[]): void {
    if (spans.length === 0) return;
    if (!this.window) {
      this.o.write(spans);
      return;
    }
    if (!this.policy) this.o.write(spans);
    this.window.add(spans);
  }

  /** Decides the traces that are ready (call periodically). */
  tick(): void {
    this.window?.pass();
  }

  /** Decides everything buffered (shutdown, end of a replay). */
  flushAll(): void {
    this.window?.pass(true);
  }

  get bufferedCount(): number {
    return this.window?.bufferedCount ?? 0;
  }

  private decide(part: TracePart): { keep: boolean; reason?: Reason } {
    const policy = this.policy;
    if (!policy) return { keep: true };
    if (part.inherited) {
      if (part.earlierKeep) return { keep: true, reason: 'continued' };
      // A dropped trace grew an error or a slow span after its decision:
      // errors are always kept, even when the rest of the trace is gone.
      const tail = policy.tailReason(part.assembled);
      return tail ? { keep: true, reason: tail } : { keep: false };
    }
    return policy.decide(part.traceId, part.assembled, part.root);
  }

  private onPart(part: TracePart): boolean {
    const { keep, reason } = this.decide(part);
    if (this.policy) {
      if (!part.inherited) {
        if (keep) this.counters.tracesKept++;
        else this.counters.tracesDropped++;
      }
      if (keep) {
        this.counters.spansKept += part.raw.length;
        if (reason) this.keptByReason[reason]++;
      } else this.counters.spansDropped += part.raw.length;
    }
    const revived = keep ? part.revivable.raw.length : 0;
    if (this.policy && revived > 0) {
      // Counted as dropped when decided, kept now.
      this.counters.spansKept += revived;
      this.counters.spansDropped -= revived;
      this.keptByReason.revived += revived;
    }
    if (keep) {
      if (this.policy) this.o.write(revived ? [...part.revivable.raw, ...part.raw] : part.raw);
      this.o.exporter?.add(revived ? [...part.revivable.assembled, ...part.assembled] : part.assembled);
    }
    return keep;
  }

  /** Sampling health; undefined when spans go straight to the store. */
  health(): SamplingHealth | undefined {
    if (!this.window) return undefined;
    return {
      enabled: this.policy !== undefined,
      ...this.counters,
      keptByReason: { ...this.keptByReason },
      bufferedSpans: this.window.bufferedCount,
      forcedDecisions: this.window.forcedDecisions,
    };
  }
}
