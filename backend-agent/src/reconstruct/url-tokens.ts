/**
 * Id-like values in a request's URL: path segments and query values that
 * contain a digit (`/items/42`, `?order=ab12`). A service that handles a
 * request for an entity often calls others about the same entity, so a value
 * shared by an inbound and an outbound URL is evidence that one caused the
 * other (payload-field similarity, used only as one signal among others).
 */
import type { Span } from '../model/span.js';

const MAX_TOKENS = 16;
const MAX_TOKEN_LENGTH = 64;

function isIdLike(value: string): boolean {
  return value.length > 0 && value.length <= MAX_TOKEN_LENGTH && /[0-9]/.test(value);
}

export function urlTokens(span: Span): Set<string> {
  const tokens = new Set<string>();
  const path = span.attributes['url.path'];
  const query = span.attributes['url.query'];
  if (typeof path === 'string') {
    for (const segment of path.split('/')) if (isIdLike(segment)) tokens.add(segment.toLowerCase());
  }
  if (typeof query === 'string') {
    for (const pair of query.replace(/^\?/, '').split('&')) {
      const value = pair.slice(pair.indexOf('=') + 1);
      if (isIdLike(value)) tokens.add(value.toLowerCase());
    }
  }
  return tokens.size > MAX_TOKENS ? new Set([...tokens].slice(0, MAX_TOKENS)) : tokens;
}

/** The URL target as sent: a proxy forwards it unchanged. */
export function urlTarget(span: Span): string {
  const path = span.attributes['url.path'];
  const query = span.attributes['url.query'];
  return `${typeof path === 'string' ? path : ''}${typeof query === 'string' && query ? `?${query.replace(/^\?/, '')}` : ''}`;
}

export function sharedCount(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  let n = 0;
  for (const t of a) if (b.has(t)) n++;
  return n;
}
