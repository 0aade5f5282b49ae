/**
 * The span tag filter of a trace search, as Jaeger and Grafana send it:
 *  - `tags=` a JSON object, e.g. {"http.response.status_code":"500","error":"true"}
 *    (Grafana converts its logfmt input to this); non-string scalar values are
 *    accepted and compared as text;
 *  - `tags=` logfmt, e.g. `error=true url.path="/a b"` (a bare key means "true");
 *  - `tag=key:value`, repeatable (Jaeger's older form).
 * Throws a message string on malformed input (the caller turns it into a 400).
 */
export type TagFilter = Record<string, string>;

export class TagSyntaxError extends Error {
  override readonly name = 'TagSyntaxError';
}

function parseJsonTags(text: string): TagFilter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TagSyntaxError("malformed 'tags' parameter: not valid JSON");
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TagSyntaxError("malformed 'tags' parameter: expected a JSON object of key to value");
  }
  const tags: TagFilter = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new TagSyntaxError(`malformed 'tags' parameter: value of '${key}' must be a string, number or boolean`);
    }
    tags[key] = String(value);
  }
  return tags;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** Minimal logfmt: key[=value] pairs separated by spaces; values may be double-quoted with \" \\ \n \t escapes. */
export function parseLogfmt(text: string): TagFilter {
  const tags: TagFilter = {};
  let i = 0;
  const fail = (what: string) => new TagSyntaxError(`malformed 'tags' parameter: ${what} at character ${i + 1}`);
  while (i < text.length) {
    while (i < text.length && isSpace(text[i]!)) i++;
    if (i >= text.length) break;
    let key = '';
    while (i < text.length && !isSpace(text[i]!) && text[i] !== '=') {
      if (text[i] === '"') throw fail('unexpected quote in key');
      key += text[i++];
    }
    if (key === '') throw fail('missing key');
    if (i >= text.length || isSpace(text[i]!)) {
      tags[key] = 'true';
      continue;
    }
    i++; // '='
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i++]!;
        if (c === '"') {
          closed = true;
          break;
        }
        if (c === '\\' && i < text.length) {
          const e = text[i++]!;
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else {
          value += c;
        }
      }
      if (!closed) throw fail('unterminated quoted value');
      if (i < text.length && !isSpace(text[i]!)) throw fail('expected a space after the quoted value');
    } else {
      while (i < text.length && !isSpace(text[i]!)) {
        if (text[i] === '"') throw fail('unexpected quote in value');
        value += text[i++];
      }
    }
    tags[key] = value;
  }
  return tags;
}

/** Parses one `tags=` value, JSON when it looks like an object, logfmt otherwise. */
export function parseTagsParam(text: string): TagFilter {
  return text.trimStart().startsWith('{') ? parseJsonTags(text) : parseLogfmt(text);
}

/** Parses one `tag=key:value` (the value may itself contain ':'). */
export function parseTagParam(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new TagSyntaxError(`malformed 'tag' parameter, expecting key:value, received: ${text}`);
  return [text.slice(0, colon), text.slice(colon + 1)];
}
