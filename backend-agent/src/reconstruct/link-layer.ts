/**
 * Trace assembly is a sequence of link layers. Each layer looks at the
 * working set (the trace's spans in canonical order plus the parents assigned
 * so far) and proposes parent links for spans that have none; the assembler
 * applies them (first layer to link a span wins) and runs the next layer on
 * the result. Layers are pure and never mutate spans, so a new inference
 * (socket joins, correlation ids, timing) is one more
 * function appended to the list.
 */
import type { LinkMethod, Span } from '../model/span.js';

export interface WorkingSet {
  /** The trace's spans in canonical order; an index into this array is a span's handle. */
  readonly spans: readonly Span[];
  /** The parent span id assigned so far (from the stored span or an earlier layer). */
  parentOf(index: number): string | undefined;
  /** Index of the span with this id, if it is in the trace (first in canonical order when repeated). */
  indexOfSpanId(spanId: string): number | undefined;
}

export interface LinkProposal {
  /** Index of the child in `WorkingSet.spans`. */
  child: number;
  parentSpanId: string;
  method: LinkMethod;
  /** 0..1: 1 only for links read from headers. */
  confidence: number;
  /** Other candidate parents that were not chosen. */
  alternatives?: number;
  /** Socket joins only: client duration minus server duration, ns. */
  networkTimeNs?: number;
}

export interface LinkLayer {
  /** For debugging and tests. */
  readonly name: string;
  propose(ws: WorkingSet): LinkProposal[];
}
