import type { Attributes } from '../model/span.js';

/**
 * Attribute keys of recorded header values (`http.request.header.<name>`),
 * kept: a key built by concatenation on every span has to be looked up in
 * V8's string table before it can name a property. Bounded (recorded names
 * are request-controlled for correlation ids); past the bound keys are built
 * afresh, as before.
 */
const headerAttributeKeys = new Map<string, string>();
const MAX_HEADER_ATTRIBUTE_KEYS = 256;

export function headerAttributeKey(name: string): string {
  let key = headerAttributeKeys.get(name);
  if (key === undefined) {
    key = `http.request.header.${name}`;
    if (headerAttributeKeys.size < MAX_HEADER_ATTRIBUTE_KEYS) headerAttributeKeys.set(name, key);
  }
  return key;
}

/**
 * attributes[`http.request.header.${name}`] = value, as a named store for
 * the headers spans record on every request (correlation ids,
 * Authorization). A store under a computed key into an object that already
 * has a dozen out-of-object properties (a span's attributes have twenty)
 * makes V8 turn the object into a slow dictionary; a named store extends
 * its shape like every other attribute.
 */
export function setHeaderAttribute(attributes: Attributes, name: string, value: string): void {
  switch (name) {
    case 'x-request-id':
      attributes['http.request.header.x-request-id'] = value;
      return;
    case 'x-correlation-id':
      attributes['http.request.header.x-correlation-id'] = value;
      return;
    case 'request-id':
      attributes['http.request.header.request-id'] = value;
      return;
    case 'authorization':
      attributes['http.request.header.authorization'] = value;
      return;
    default:
      attributes[headerAttributeKey(name)] = value;
  }
}
