/**
 * Splitting a request target into path and query (RFC 9112 section 3.2).
 * Proxied requests use absolute-form ("http://host/p?q"); CONNECT uses
 * authority-form ("host:443"); OPTIONS may use "*".
 */

export function splitTarget(target: string): { path: string; query: string } {
  return { path: targetPath(target), query: targetQuery(target) };
}

/**
 * Where the path starts (origin-form: 0; absolute-form: its first `/` after
 * the authority), or -1 when the target has no path of its own: authority-form
 * and "*" (NO_SCHEME), or an absolute-form target without one (NO_PATH).
 */
const NO_SCHEME = -1;
const NO_PATH = -2;

function pathStart(target: string): number {
  if (target.startsWith('/')) return 0;
  const scheme = target.indexOf('://');
  if (scheme < 0) return NO_SCHEME;
  const slash = target.indexOf('/', scheme + 3);
  const question = target.indexOf('?', scheme + 3);
  return slash < 0 || (question >= 0 && question < slash) ? NO_PATH : slash;
}

/** The path of splitTarget, alone (two strings per request, not an object as well). */
export function targetPath(target: string): string {
  const start = pathStart(target);
  if (start === NO_SCHEME) return target; // authority-form or "*"
  if (start === NO_PATH) return '/';
  const question = target.indexOf('?', start);
  return question < 0 ? withoutFragment(target.slice(start)) : target.slice(start, question);
}

/** The query of splitTarget, alone. */
export function targetQuery(target: string): string {
  const start = pathStart(target);
  if (start === NO_SCHEME) return '';
  // NO_PATH: the query (if any) follows the authority directly.
  const question = start === NO_PATH ? target.indexOf('?', target.indexOf('://') + 3) : target.indexOf('?', start);
  return question < 0 ? '' : withoutFragment(target.slice(question + 1));
}

/** Clients must not send fragments, but some do; they are not part of the path or query. */
function withoutFragment(s: string): string {
  const hash = s.indexOf('#');
  return hash < 0 ? s : s.slice(0, hash);
}
