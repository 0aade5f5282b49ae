/**
 * Splitting a request target into path and query (RFC 9112 section 3.2).
 * Proxied requests use absolute-form ("http://host/p?q"); CONNECT uses
 * authority-form ("host:443"); OPTIONS may use "*".
 */

export function splitTarget(target: string): { path: string; query: string } {
  let pathStart = 0;
  if (!target.startsWith('/')) {
    const scheme = target.indexOf('://');
    if (scheme < 0) return { path: target, query: '' }; // authority-form or "*"
    const slash = target.indexOf('/', scheme + 3);
    const question = target.indexOf('?', scheme + 3);
    if (slash < 0 || (question >= 0 && question < slash)) {
      return { path: '/', query: question >= 0 ? withoutFragment(target.slice(question + 1)) : '' };
    }
    pathStart = slash;
  }
  const question = target.indexOf('?', pathStart);
  if (question < 0) return { path: withoutFragment(target.slice(pathStart)), query: '' };
  return { path: target.slice(pathStart, question), query: withoutFragment(target.slice(question + 1)) };
}

/** Clients must not send fragments, but some do; they are not part of the path or query. */
function withoutFragment(s: string): string {
  const hash = s.indexOf('#');
  return hash < 0 ? s : s.slice(0, hash);
}
