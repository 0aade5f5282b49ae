/**
 * What a protocol contributes to a span: its name, attributes and status.
 * Everything else (ids, timing, process, network) is protocol-neutral and
 * built once in span-builder.ts.
 */
import type { HeaderList, ObservedExchange } from '../../model/exchange.js';
import type { Attributes, SpanStatus } from '../../model/span.js';

/**
 * The attributes are not part of it: a protocol writes them straight into
 * the span's attribute object (after the span builder's first few, so their
 * order is fixed), which saves building and copying a second object per span.
 */
export interface ProtocolSemantics {
  name: string;
  status: SpanStatus;
  statusMessage?: string;
}

/** Redaction the semantics of a protocol may need (URLs, headers, statements). */
export interface SemanticsDeps {
  redactHeaders(headers: HeaderList): HeaderList;
  redactQuery(query: string): string;
  redactPath(path: string): string;
  recordHeaders?: readonly string[];
}

export type SemanticsOf = (ex: ObservedExchange, deps: SemanticsDeps, attributes: Attributes) => ProtocolSemantics;

export const MAX_ATTRIBUTE = 512;
