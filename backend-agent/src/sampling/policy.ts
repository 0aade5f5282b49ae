/**
 * The sampling decision for one trace (all its spans on this host, as
 * reconstruction groups them).
 *
 * - Tail rules first: a trace with an error span, or a span slower than its
 *   service's threshold, is always kept.
 * - Then the rate of the service where the trace starts (its root span on
 *   this host: the head of the trace, as in head sampling), so a service's
 *   rate is the share of the traces it starts that are kept; services it
 *   calls follow that decision, so a trace is never cut in two.
 * - The rate test is consistent probability sampling on the trace id's low 56
 *   bits (as OpenTelemetry's consistent samplers and W3C's random flag use
 *   them): keep when R >= (1 - p) * 2^56. Every agent that sees a
 *   header-propagated trace makes the same rate decision for it, and with a
 *   lower rate the kept traces are a subset of those kept at a higher one.
 */
import type { Span } from '../model/span.js';

export interface ServiceSampling {
  rate: number;
  /** Keep traces where a span of this service takes longer, ns. */
  keepSlowerThanNs?: number;
}

export interface SamplingPolicyConfig {
  /** Default rate, 0..1. */
  rate: number;
  /** Keep traces with any span slower than this, ns (services may set their own). */
  keepSlowerThanNs?: number;
  services?: Record<string, ServiceSampling>;
}

export type KeepReason = 'error' | 'slow' | 'rate';

export interface Decision {
  keep: boolean;
  reason?: KeepReason;
}

const TWO_56 = 2 ** 56;

/** The trace id's randomness R: its low 56 bits, as a number in [0, 2^56). */
export function traceRandomness(traceId: string): number {
  const hex = traceId.padStart(32, '0').slice(-14);
  const r = Number.parseInt(hex, 16);
  return Number.isFinite(r) ? r : 0;
}

/** Keep at probability `rate`, consistently for a trace id. */
export function keepAtRate(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return traceRandomness(traceId) >= (1 - rate) * TWO_56;
}

export class SamplingPolicy {
  constructor(readonly config: SamplingPolicyConfig) {}

  /** True when some trace could be dropped (a rate below 1 somewhere). */
  get samples(): boolean {
    return this.config.rate < 1 || Object.values(this.config.services ?? {}).some((s) => s.rate < 1);
  }

  private serviceOf(name: string): ServiceSampling | undefined {
    return this.config.services?.[name];
  }

  rateOf(service: string): number {
    return this.serviceOf(service)?.rate ?? this.config.rate;
  }

  /** The tail rules alone: an error or a slow span in `spans`. */
  tailReason(spans: readonly Span[]): KeepReason | undefined {
    let slow = false;
    for (const s of spans) {
      if (s.status === 'error') return 'error';
      const threshold = this.serviceOf(s.service)?.keepSlowerThanNs ?? this.config.keepSlowerThanNs;
      if (threshold !== undefined && s.durationNs > threshold) slow = true;
    }
    return slow ? 'slow' : undefined;
  }

  /** `root`: the span the trace starts with on this host (first without a parent). */
  decide(traceId: string, spans: readonly Span[], root: Span): Decision {
    const tail = this.tailReason(spans);
    if (tail) return { keep: true, reason: tail };
    return keepAtRate(traceId, this.rateOf(root.service)) ? { keep: true, reason: 'rate' } : { keep: false };
  }
}
