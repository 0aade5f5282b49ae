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
  /**
   * Index of the span with this id, if it is in the trace (first in canonical
   * order when repeated). With `traceId`, only a span of that trace: two
   * traces may hold the same span id, and a header names a parent in its own trace.
   */
  indexOfSpanId(spanId: string, traceId?: string): number | undefined;
}

export interface LinkProposal {
  /** Index of the child in `WorkingSet.spans`. */
  child: number;
  parentSpanId: string;
  /**
   * Index of the parent in `WorkingSet.spans` when the layer chose a span (not
   * only an id): the link then goes to exactly that span, even when another
   * trace in the window holds a span with the same id.
   */
  parentIndex?: number;
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
