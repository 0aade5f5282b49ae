/** Outcome of parsing one header value: the value, or why it was rejected. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string; header?: string };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

/** `header` names the offending header when a format spans several (B3 multi). */
export function fail<T>(reason: string, header?: string): ParseResult<T> {
  return header === undefined ? { ok: false, reason } : { ok: false, reason, header };
}
