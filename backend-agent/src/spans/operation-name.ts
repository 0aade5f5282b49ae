/**
 * Operation names must stay low-cardinality: they become service-graph keys,
 * search facets and (later) metric labels. Path segments that look like ids
 * are replaced by `{id}`, so `/orders/1234` and `/orders/98` are one operation.
 */

const ID_PATTERNS: RegExp[] = [
  /^\d+$/, // numeric ids
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, // UUIDs
  /^(?=.*\d)[0-9a-f]{8,}$/i, // hex ids and hashes
  /^(?=.*\d)(?=.*[a-zA-Z])[A-Za-z0-9_-]{16,}$/, // long opaque tokens
];

const MAX_SEGMENTS = 8;

export function normalisePath(path: string): string {
  const segments = path.split('/');
  const out = segments.slice(0, MAX_SEGMENTS + 1).map((seg) => (seg && ID_PATTERNS.some((re) => re.test(seg)) ? '{id}' : seg));
  if (segments.length > MAX_SEGMENTS + 1) out.push('…');
  return out.join('/') || '/';
}

export function operationName(method: string, path: string): string {
  return `${method} ${normalisePath(path)}`;
}
