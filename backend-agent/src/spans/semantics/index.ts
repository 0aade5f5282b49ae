/** Picks the semantic conventions for an exchange's protocol. */
import type { ObservedExchange } from '../../model/exchange.js';
import type { Attributes } from '../../model/span.js';
import { dbSemantics } from './db.js';
import { httpSemantics } from './http.js';
import { rpcSemantics } from './rpc.js';
import type { ProtocolSemantics, SemanticsDeps } from './types.js';

export type { ProtocolSemantics, SemanticsDeps } from './types.js';

/** Writes the protocol's attributes into `attributes`, in the protocol's order. */
export function semanticsOf(ex: ObservedExchange, deps: SemanticsDeps, attributes: Attributes): ProtocolSemantics {
  if (ex.db) return dbSemantics(ex, attributes);
  if (ex.rpc) return rpcSemantics(ex, deps, attributes);
  return httpSemantics(ex, deps, attributes);
}
