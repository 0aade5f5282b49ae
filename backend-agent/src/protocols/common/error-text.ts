/**
 * Server error messages often quote what the client sent (`invalid input
 * syntax for type integer: "abc"`, MySQL's `near 'SELEC 'x'' at line 1`).
 * Before one is stored, quoted parts that do not look like an identifier
 * become `?`, and so does every quoted part and number of data errors,
 * where the quoted thing is a value by construction.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$.]{0,126}$/;

/**
 * Messages that quote the rest of the client's text whole (MySQL's syntax
 * error `near '...' at line N`, Redis's `with args beginning with: ...`):
 * the quoted text can itself contain quotes, so quote matching would let
 * values through. Everything quoted there goes.
 */
const QUOTES_REST = [
  [/ near '[\s\S]*' at line (\d+)/g, " near '?' at line $1"],
  [/(with args beginning with:)[\s\S]*$/g, '$1 ?'],
] as const;

export function sanitizeErrorMessage(message: string, valuesLikely: boolean, max = 256): string {
  let whole = message;
  for (const [pattern, replacement] of QUOTES_REST) whole = whole.replace(pattern, replacement);
  let out = whole.replace(/"([^"]*)"?|'([^']*)'?/g, (quoted, dq: string | undefined, sq: string | undefined) => {
    const inner = dq ?? sq ?? '';
    const quote = quoted[0] as string;
    return !valuesLikely && IDENTIFIER.test(inner) ? `${quote}${inner}${quote}` : `${quote}?${quote}`;
  });
  if (valuesLikely) out = out.replace(/\b\d[\d.]*\b/g, '?');
  return out.length > max ? out.slice(0, max) : out;
}
