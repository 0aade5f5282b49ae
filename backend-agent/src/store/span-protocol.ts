/**
 * The application protocol of a span, for the service graph: what the map
 * labels an edge with. Read from the semantic-convention attributes the
 * span builder set (spans/semantics/), most specific first.
 */
import type { Attributes } from '../model/span.js';

export function spanProtocol(attributes: Attributes): string | undefined {
  const rpc = attributes['rpc.system'];
  if (typeof rpc === 'string' && rpc !== '') return rpc;
  const db = attributes['db.system.name'];
  if (typeof db === 'string' && db !== '') return db;
  const name = attributes['network.protocol.name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const version = attributes['network.protocol.version'];
  return typeof version === 'string' && version !== '' ? `${name}/${version}` : name;
}
