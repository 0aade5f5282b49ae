/**
 * Database and cache commands as OpenTelemetry database spans
 * (https://opentelemetry.io/docs/specs/semconv/database/database-spans/).
 * The query text is already sanitised by the protocol parser (literals
 * replaced), so no value a user stored reaches our store.
 */
import type { DbCall, ObservedExchange } from '../../model/exchange.js';
import type { Attributes } from '../../model/span.js';
import { MAX_ATTRIBUTE, type ProtocolSemantics } from './types.js';

export function dbSemantics(ex: ObservedExchange, attributes: Attributes): ProtocolSemantics {
  const db = ex.db as DbCall;
  attributes['db.system.name'] = db.system;
  attributes['db.operation.name'] = db.operation;
  attributes['network.protocol.name'] = db.system;
  if (db.queryText) attributes['db.query.text'] = db.queryText.slice(0, MAX_ATTRIBUTE * 4);
  if (db.namespace) attributes['db.namespace'] = db.namespace;
  if (db.collection) attributes['db.collection.name'] = db.collection;
  if (db.errorCode) attributes['db.response.status_code'] = db.errorCode;
  if (db.rows !== undefined) attributes['db.response.returned_rows'] = db.rows;
  // OpenTelemetry's span name for databases: "{operation} {target}", target
  // being the collection or, failing that, the namespace.
  const target = db.collection ?? db.namespace;
  const name = target ? `${db.operation} ${target}` : db.operation;
  if (!ex.response) return { name, status: 'error', statusMessage: ex.incompleteReason ?? 'no response' };
  if (db.errorCode) {
    const message = db.errorMessage ? `${db.errorCode}: ${db.errorMessage}`.slice(0, MAX_ATTRIBUTE) : db.errorCode;
    return { name, status: 'error', statusMessage: message };
  }
  return { name, status: 'unset' };
}
