/**
 * What a protocol contributes to a span: its name, attributes and status.
 * Everything else (ids, timing, process, network) is protocol-neutral and
 * built once in span-builder.ts.
 */
import type { HeaderList, ObservedExchange } from '../../model/exchange.js';
import type { Attributes, SpanStatus } from '../../model/span.js';

export interface ProtocolSemantics {
  name: string;
  status: SpanStatus;
  statusMessage?: string;
  attributes: Attributes;
}

/** Redaction the semantics of a protocol may need (URLs, headers, statements). */
export interface SemanticsDeps {
  redactHeaders(headers: HeaderList): HeaderList;
  redactQuery(query: string): string;
  redactPath(path: string): string;
  recordHeaders?: readonly string[];
}

export type SemanticsOf = (ex: ObservedExchange, deps: SemanticsDeps) => ProtocolSemantics;

export const MAX_ATTRIBUTE = 512;
