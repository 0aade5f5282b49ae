/** Picks the semantic conventions for an exchange's protocol. */
import type { ObservedExchange } from '../../model/exchange.js';
import { dbSemantics } from './db.js';
import { httpSemantics } from './http.js';
import { rpcSemantics } from './rpc.js';
import type { ProtocolSemantics, SemanticsDeps } from './types.js';

export type { ProtocolSemantics, SemanticsDeps } from './types.js';

export function semanticsOf(ex: ObservedExchange, deps: SemanticsDeps): ProtocolSemantics {
  if (ex.db) return dbSemantics(ex);
  if (ex.rpc) return rpcSemantics(ex, deps);
  return httpSemantics(ex, deps);
}
