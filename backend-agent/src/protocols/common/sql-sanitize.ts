/**
 * SQL statements as stored: every literal (strings, numbers, dollar-quoted
 * bodies) becomes `?`, comments are dropped and whitespace collapsed, so no
 * value a user sent reaches the span store. Identifiers, keywords and
 * placeholders ($1, ?, :name) are kept: they describe the query's shape.
 * A lexer, not a parser: it never fails, whatever the bytes.
 */

export type SqlDialect = 'postgresql' | 'mysql';

/** Longest statement text kept (db.ts caps the attribute again). */
export const MAX_QUERY_TEXT = 2048;
/** Bytes of a statement looked at; a literal cut here is still replaced. */
const MAX_SCAN = 16 * 1024;

const isIdentStart = (c: number): boolean =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
const isIdentPart = (c: number): boolean => isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b;

export function sanitizeSql(sql: string, dialect: SqlDialect): string {
  const s = sql.length > MAX_SCAN ? sql.slice(0, MAX_SCAN) : sql;
  let out = '';
  let i = 0;
  const n = s.length;
  const emit = (t: string): void => {
    out += t;
  };
  let pendingSpace = false;
  const token = (t: string): void => {
    if (pendingSpace && out.length > 0) emit(' ');
    pendingSpace = false;
    emit(t);
  };
  while (i < n && out.length < MAX_QUERY_TEXT) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      pendingSpace = true;
      i++;
      continue;
    }
    // Comments: `-- ...`, `# ...` (MySQL), `/* ... */`. They can carry values; dropped.
    if ((c === 0x2d && s.charCodeAt(i + 1) === 0x2d) || (c === 0x23 && dialect === 'mysql')) {
      while (i < n && s.charCodeAt(i) !== 0x0a) i++;
      pendingSpace = true;
      continue;
    }
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      const end = s.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      pendingSpace = true;
      continue;
    }
    // String literals; an E/X/B/N prefix (E'..', X'..') goes with the literal.
    const quoteAt = isStringPrefix(s, i) ? i + 1 : i;
    const q = s.charCodeAt(quoteAt);
    if (q === 0x27 || (q === 0x22 && dialect === 'mysql')) {
      const backslashEscapes = dialect === 'mysql' || quoteAt > i;
      i = skipQuoted(s, quoteAt, q, backslashEscapes);
      token('?');
      continue;
    }
    if (c === 0x24 && dialect === 'postgresql') {
      // $1 placeholders stay; $tag$ ... $tag$ bodies are literals.
      if (isDigit(s.charCodeAt(i + 1))) {
        let j = i + 1;
        while (j < n && isDigit(s.charCodeAt(j))) j++;
        token(s.slice(i, j));
        i = j;
        continue;
      }
      const tagEnd = dollarTagEnd(s, i);
      if (tagEnd > 0) {
        const tag = s.slice(i, tagEnd);
        const close = s.indexOf(tag, tagEnd);
        i = close < 0 ? n : close + tag.length;
        token('?');
        continue;
      }
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(s.charCodeAt(j))) j++;
      token(s.slice(i, j));
      i = j;
      continue;
    }
    if (c === 0x22 || c === 0x60) {
      // Quoted identifiers ("t" in PostgreSQL, `t` in MySQL) name things; kept, bounded.
      const j = skipQuoted(s, i, c, false);
      token(s.slice(i, Math.min(j, i + 128)));
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 0x2e && isDigit(s.charCodeAt(i + 1)))) {
      i = skipNumber(s, i);
      token('?');
      continue;
    }
    token(s[i] as string);
    i++;
  }
  return out.length > MAX_QUERY_TEXT ? out.slice(0, MAX_QUERY_TEXT) : out;
}

function isStringPrefix(s: string, i: number): boolean {
  const c = s.charCodeAt(i) | 0x20;
  if (c !== 0x65 && c !== 0x78 && c !== 0x62 && c !== 0x6e) return false; // e x b n
  if (s.charCodeAt(i + 1) !== 0x27) return false;
  // Only a standalone prefix: `name'` inside an identifier is not one.
  return i === 0 || !isIdentPart(s.charCodeAt(i - 1));
}

/** Index after the closing quote (doubled quotes escape; backslashes too where the dialect says). */
function skipQuoted(s: string, start: number, quote: number, backslash: boolean): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (backslash && c === 0x5c) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (s.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return s.length;
}

function dollarTagEnd(s: string, i: number): number {
  let j = i + 1;
  if (s.charCodeAt(j) === 0x24) return j + 1;
  if (!isIdentStart(s.charCodeAt(j))) return -1;
  while (j < s.length && isIdentPart(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x24) j++;
  return s.charCodeAt(j) === 0x24 ? j + 1 : -1;
}

function skipNumber(s: string, i: number): number {
  if (s.charCodeAt(i) === 0x30 && (s.charCodeAt(i + 1) | 0x20) === 0x78) {
    i += 2;
    while (i < s.length && /[0-9a-fA-F_]/.test(s[i] as string)) i++;
    return i;
  }
  while (i < s.length && (isDigit(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2e || s.charCodeAt(i) === 0x5f)) i++;
  const e = s.charCodeAt(i) | 0x20;
  if (e === 0x65) {
    let j = i + 1;
    if (s[j] === '+' || s[j] === '-') j++;
    if (isDigit(s.charCodeAt(j))) {
      i = j;
      while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    }
  }
  // A number glued to letters (1abc) is still one literal token.
  while (i < s.length && isIdentPart(s.charCodeAt(i))) i++;
  return i;
}

/** The statement's first keyword, upper case (`SELECT`, `WITH`), or '' when it has none. */
export function firstKeyword(sanitized: string): string {
  const m = /^[\s(]*([A-Za-z_][A-Za-z_0-9]*)/.exec(sanitized);
  return m ? (m[1] as string).toUpperCase().slice(0, 32) : '';
}
