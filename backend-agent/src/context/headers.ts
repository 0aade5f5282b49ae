/**
 * How the context parsers see request headers: the HTTP parser hands over
 * lowercased names in wire order with repeats kept; each parser only needs a
 * handful of them, so they are indexed once per request.
 */

/** Request headers: lowercased names, wire order, repeated names kept. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** The values of one header name, in wire order; a `Map` satisfies it. */
export interface HeaderLookup {
  get(name: string): readonly string[] | undefined;
}

/** A propagation header that was present but could not be used. */
export interface InvalidHeader {
  header: string;
  reason: string;
}

/**
 * Groups the values of the wanted header names (all names when `wanted` is
 * omitted). Names are taken as given: the HTTP parser lowercases them, and
 * lowercasing every header of every request again would be wasted work.
 */
export function indexHeaders(headers: HeaderList, wanted?: ReadonlySet<string>): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const [name, value] of headers) {
    if (wanted !== undefined && !wanted.has(name)) continue;
    const values = index.get(name);
    if (values === undefined) index.set(name, [value]);
    else values.push(value);
  }
  return index;
}

/**
 * The value of a header that must occur at most once. A repeated one is
 * reported and ignored: we cannot tell which copy the next hop will honour.
 */
export function singleHeaderValue(headers: HeaderLookup, name: string, invalid: InvalidHeader[]): string | undefined {
  const values = headers.get(name);
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) {
    invalid.push({ header: name, reason: `repeated header (${values.length} occurrences)` });
    return undefined;
  }
  return values[0];
}

const SPACE = 0x20;
const TAB = 0x09;

/**
 * Strips HTTP optional whitespace (spaces and tabs only, RFC 9110 OWS).
 * `String.prototype.trim` would also eat other Unicode spaces, which the
 * grammars here treat as invalid characters. Returns the input when there is
 * nothing to strip, so the common case allocates nothing.
 */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === SPACE || code === TAB;
}
