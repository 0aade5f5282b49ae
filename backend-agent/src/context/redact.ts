/**
 * Redaction of secrets in captured requests before anything is stored:
 * header values, URL query parameters, URL userinfo, and command-line
 * arguments of traced processes.
 *
 * Every function returns its input unchanged (same array or string) when
 * there is nothing to redact, so the common request costs no allocation.
 */

import type { HeaderList } from './headers.js';
import type { ObservedExchange } from '../model/exchange.js';
import { MAX_CACHED_KEY_LENGTH, ownString } from '../util/own-string.js';

export const REDACTED = '[REDACTED]';

/**
 * Headers redacted whatever the configuration, `--redact-defaults off`
 * included: their values are credentials by definition and showing them has
 * no debugging value (the scheme word of authorization headers is kept).
 */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

/** Headers whose value is always a credential. */
const DEFAULT_SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
];

/** A header (or argument) whose name contains one of these is treated as a credential. */
const SENSITIVE_NAME_FRAGMENTS: readonly string[] = [
  'token',
  'secret',
  'password',
  'passwd',
  'apikey',
  'api-key',
  'api_key',
  'session',
  'credential',
];

/** Headers where the scheme word is kept (`Bearer [REDACTED]`) so users can see how a call authenticated. */
const SCHEME_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization']);

/** Query keys (lowercase, percent-decoded) whose value is a credential. */
const DEFAULT_SENSITIVE_QUERY_KEYS: readonly string[] = [
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'auth_token',
  'api_key',
  'api-key',
  'apikey',
  'key',
  'secret',
  'client_secret',
  'password',
  'passwd',
  'pwd',
  'auth',
  'signature',
  'sig',
  'session',
  'sessionid',
  'session_id',
  'code',
  // Pre-signed S3 / GCS URLs.
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
];

/**
 * A query key whose name, with `-` and `_` removed, contains one of these is a
 * credential too: catches `private_token`, `accessToken`, `sessionToken`,
 * `client_assertion` and the like that no exact list keeps up with.
 */
const SENSITIVE_QUERY_FRAGMENTS: readonly string[] = [
  'token',
  'secret',
  'password',
  'passwd',
  'apikey',
  'session',
  'credential',
  'signature',
  'jwt',
  'assertion',
];

export interface RedactionConfig {
  /** More header names to redact (exact, case-insensitive). Always redacted, even if also allowed. */
  extraHeaders?: readonly string[];
  /** More query keys to redact (exact, case-insensitive). Always redacted, even if also allowed. */
  extraQueryKeys?: readonly string[];
  /** Header names never redacted by the default rules (exact names and name fragments). */
  allowHeaders?: readonly string[];
  /** Query keys never redacted by the default rules. */
  allowQueryKeys?: readonly string[];
  /**
   * Regular expressions (sources, as `compileRedactPattern` accepts them): a
   * URL path segment or query value any of them matches is redacted whole.
   */
  patterns?: readonly string[];
  /**
   * false turns the built-in lists and heuristics off (header names, name
   * fragments, query keys, credential-looking path segments): only the
   * configured names and patterns are redacted, plus ALWAYS_REDACTED_HEADERS
   * and URL userinfo. Default true. Command-line arguments of traced
   * processes always use the built-in rules.
   */
  defaults?: boolean;
}

export class RedactPatternError extends Error {
  override readonly name = 'RedactPatternError';
}

/** Longest pattern source accepted. */
const MAX_PATTERN_LENGTH = 1000;
/**
 * Patterns see at most this many characters of a path segment or query value:
 * they run on every captured request, so the input they backtrack over is bounded.
 */
export const MAX_PATTERN_INPUT = 256;

/**
 * Compiles a user's redaction pattern, or throws RedactPatternError saying
 * what is wrong. A leading `(?i)` makes it case-insensitive. Patterns run on
 * attacker-controlled input (request paths), so the forms that backtrack
 * exponentially are refused: backreferences, and a repeated group that
 * itself repeats or alternates (`(a+)+`, `(a|ab)*`).
 */
export function compileRedactPattern(source: string): RegExp {
  let body = source;
  let flags = '';
  if (body.startsWith('(?i)')) {
    body = body.slice(4);
    flags = 'i';
  }
  if (body.length === 0) throw new RedactPatternError('empty pattern');
  if (body.length > MAX_PATTERN_LENGTH) throw new RedactPatternError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  let re: RegExp;
  try {
    re = new RegExp(body, flags);
  } catch (err) {
    throw new RedactPatternError(`not a valid regular expression: ${err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err)}`);
  }
  const unsafe = backtrackingHazard(body);
  if (unsafe) throw new RedactPatternError(`${unsafe}; such patterns can take exponential time on crafted paths`);
  if (re.test('')) throw new RedactPatternError('matches the empty string, so it would redact every segment');
  return re;
}

/**
 * A rough scan of a pattern's structure for catastrophic backtracking:
 * returns a reason when it has a backreference or repeats a group that
 * contains a quantifier or an alternation. Escapes and character classes
 * are skipped so `[(+]` or `\(` do not count.
 */
function backtrackingHazard(src: string): string | undefined {
  // Per open group: does it contain a quantifier or `|`?
  const groups: boolean[] = [];
  let closedRisky = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    const afterGroup = closedRisky;
    closedRisky = false;
    if (c === '\\') {
      const next = src[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && src[i + 2] === '<')) return 'backreferences are not allowed';
      i++;
      continue;
    }
    if (c === '[') {
      // Skip the class; a `]` right after `[` or `[^` is literal.
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (c === '(') {
      groups.push(false);
      // `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`: the `?` there is no quantifier.
      if (src[i + 1] === '?') {
        const kind = src[i + 2];
        if (kind === '<' && src[i + 3] !== '=' && src[i + 3] !== '!') {
          const close = src.indexOf('>', i);
          i = close < 0 ? src.length : close;
        } else {
          i += kind === '<' ? 3 : 2;
        }
      }
      continue;
    }
    if (c === ')') {
      closedRisky = groups.pop() === true;
      if (closedRisky && groups.length > 0) groups[groups.length - 1] = true;
      continue;
    }
    const quantifier = quantifierAt(src, i);
    if (c === '|' || quantifier) {
      if (groups.length > 0) groups[groups.length - 1] = true;
    }
    if (quantifier) {
      if (quantifier.repeats && afterGroup) return 'a repeated group may not itself contain a quantifier or an alternation';
      i += quantifier.length - 1;
    }
  }
  return undefined;
}

/** The quantifier starting at src[i], if any (a `{` that is not one is a literal). */
function quantifierAt(src: string, i: number): { length: number; repeats: boolean } | undefined {
  const c = src[i];
  const lazy = (n: number): number => (src[i + n] === '?' ? n + 1 : n);
  if (c === '*' || c === '+') return { length: lazy(1), repeats: true };
  if (c === '?') return { length: 1, repeats: false };
  if (c !== '{') return undefined;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 24));
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
  return { length: lazy(m[0].length), repeats: max > 1 };
}

export interface Redactor {
  /** Replaces sensitive header values with `[REDACTED]`; names and order are kept. */
  redactHeaders(headers: HeaderList): HeaderList;
  /** The value to store for one header. */
  redactHeaderValue(name: string, value: string): string;
  /** Redacts values of sensitive parameters in a query string (with or without the leading `?`). */
  redactQuery(query: string): string;
  /**
   * Redacts path segments that look like credentials (JWTs, long opaque
   * tokens, prefixed API keys): `/reset/<token>` links put secrets in paths.
   * Numeric ids and UUIDs are kept; they identify, they do not authenticate.
   */
  redactPath(path: string): string;
  /** Redacts a request target or absolute URL: userinfo, query and a query-shaped fragment. */
  redactUrl(target: string): string;
  /** Redacts `--password=x`, `--token x`, `API_KEY=x` and URL userinfo in command-line arguments. */
  redactArgs(args: readonly string[]): readonly string[];
  isSensitiveHeader(name: string): boolean;
  isSensitiveQueryKey(key: string): boolean;
}

export function createRedactor(config: RedactionConfig = {}): Redactor {
  const extraHeaders = lowercaseSet(config.extraHeaders);
  const allowHeaders = lowercaseSet(config.allowHeaders);
  const defaultHeaders = new Set(DEFAULT_SENSITIVE_HEADERS);
  const extraQueryKeys = lowercaseSet(config.extraQueryKeys);
  const allowQueryKeys = lowercaseSet(config.allowQueryKeys);
  const defaultQueryKeys = new Set(DEFAULT_SENSITIVE_QUERY_KEYS);
  const alwaysHeaders = new Set(ALWAYS_REDACTED_HEADERS);
  const builtin = config.defaults !== false;
  const patterns = (config.patterns ?? []).map(compileRedactPattern);
  // Every request's headers pass through here, and header names repeat: the
  // decision per name is remembered (bounded, so hostile names cannot grow it).
  const headerDecisions = new Map<string, boolean>();

  function isSensitiveHeader(rawName: string): boolean {
    const known = headerDecisions.get(rawName);
    if (known !== undefined) return known;
    // Lowercased even though the parser lowercases: a miss here leaks a secret.
    const name = rawName.toLowerCase();
    // The always-redacted headers stay redacted whatever the allow list says.
    const sensitive = alwaysHeaders.has(name) || extraHeaders.has(name) || (builtin && !allowHeaders.has(name) && isBuiltinSensitiveHeader(name));
    if (headerDecisions.size < MAX_REMEMBERED_HEADER_NAMES && rawName.length <= MAX_CACHED_KEY_LENGTH) {
      headerDecisions.set(ownString(rawName), sensitive);
    }
    return sensitive;
  }

  function isBuiltinSensitiveHeader(name: string): boolean {
    return defaultHeaders.has(name) || containsSensitiveFragment(name);
  }

  function matchesPattern(value: string): boolean {
    if (patterns.length === 0 || value.length === 0) return false;
    const input = value.length > MAX_PATTERN_INPUT ? value.slice(0, MAX_PATTERN_INPUT) : value;
    for (const re of patterns) if (re.test(input)) return true;
    return false;
  }

  // Query keys repeat like header names (`?page=`, `?fields=`): decisions are remembered the same way.
  const queryKeyDecisions = new Map<string, boolean>();

  function isSensitiveQueryKey(rawKey: string): boolean {
    const known = queryKeyDecisions.get(rawKey);
    if (known !== undefined) return known;
    const key = decodeAsciiPercent(rawKey).toLowerCase();
    const sensitive = isSensitiveDecodedKey(key) || isSensitiveDecodedKey(lastBracketSegment(key));
    if (queryKeyDecisions.size < MAX_REMEMBERED_QUERY_KEYS && rawKey.length <= MAX_CACHED_KEY_LENGTH) {
      queryKeyDecisions.set(ownString(rawKey), sensitive);
    }
    return sensitive;
  }

  function isSensitiveDecodedKey(key: string): boolean {
    if (key.length === 0) return false;
    if (extraQueryKeys.has(key)) return true;
    if (!builtin || allowQueryKeys.has(key)) return false;
    if (defaultQueryKeys.has(key)) return true;
    const squashed = key.replace(/[-_]/g, '');
    return SENSITIVE_QUERY_FRAGMENTS.some((fragment) => squashed.includes(fragment));
  }

  function redactHeaderValue(name: string, value: string): string {
    if (!isSensitiveHeader(name)) return value;
    return SCHEME_HEADERS.has(name.toLowerCase()) ? redactCredentials(value) : REDACTED;
  }

  function redactHeaders(headers: HeaderList): HeaderList {
    let out: Array<readonly [string, string]> | undefined;
    for (let i = 0; i < headers.length; i++) {
      const header = headers[i];
      const name = header[0];
      const value = header[1];
      const redacted = redactHeaderValue(name, value);
      if (redacted === value && out === undefined) continue;
      out ??= headers.slice(0, i);
      out.push(redacted === value ? header : [name, redacted]);
    }
    return out ?? headers;
  }

  function redactQuery(query: string): string {
    let out = '';
    let copiedTo = 0;
    let start = query.charCodeAt(0) === 0x3f /* ? */ ? 1 : 0;
    // The next `=` at or after `start`, searched again only once passed, so that
    // `a&a&a&...` does not rescan the rest of the string for every parameter.
    let eq = query.indexOf('=', start);
    while (start < query.length) {
      let end = query.indexOf('&', start);
      if (end === -1) end = query.length;
      if (eq !== -1 && eq < start) eq = query.indexOf('=', start);
      // Parameters without a value carry nothing to hide; empty values are kept to show they were empty.
      if (eq !== -1 && eq < end) {
        if (eq < end - 1 && (isSensitiveQueryKey(query.slice(start, eq)) || matchesPattern(query.slice(eq + 1, end)))) {
          out += query.slice(copiedTo, eq + 1) + REDACTED;
          copiedTo = end;
        }
      } else if (end > start && matchesPattern(query.slice(start, end))) {
        // `?<token>`: a bare parameter a pattern recognises goes whole.
        out += query.slice(copiedTo, start) + REDACTED;
        copiedTo = end;
      }
      start = end + 1;
    }
    return copiedTo === 0 ? query : out + query.slice(copiedTo);
  }

  function redactUrl(target: string): string {
    const hash = target.indexOf('#');
    const beforeHash = hash === -1 ? target.length : hash;
    const firstQuestion = target.indexOf('?');
    const question = firstQuestion < beforeHash ? firstQuestion : -1;
    const pathEnd = question === -1 ? beforeHash : question;
    const head = redactUserinfo(target.slice(0, pathEnd));
    const query = question === -1 ? '' : redactQuery(target.slice(question, beforeHash));
    // OAuth implicit flow puts tokens in a query-shaped fragment.
    const fragment = hash === -1 ? '' : `#${redactQuery(target.slice(hash + 1))}`;
    const result = head + query + fragment;
    return result === target ? target : result;
  }

  function redactArgs(args: readonly string[]): readonly string[] {
    let out: string[] | undefined;
    let redactNext = false;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      let redacted = arg;
      if (redactNext && !arg.startsWith('-')) {
        redacted = REDACTED;
      } else {
        const eq = arg.indexOf('=');
        const name = eq === -1 ? arg : arg.slice(0, eq);
        if (eq > 0 && isSensitiveArgName(name)) redacted = `${name}=${REDACTED}`;
        else if (arg.includes('://')) redacted = redactUrl(arg);
      }
      // `--password secret`: the value is the next argument.
      redactNext = arg.startsWith('-') && !arg.includes('=') && isSensitiveArgName(arg);
      if (redacted !== arg) out ??= args.slice(0, i);
      out?.push(redacted);
    }
    return out ?? args;
  }

  /** Built-in rules whatever `defaults` says: command lines are not traffic, and hiding their secrets costs no insight. */
  function isSensitiveArgName(name: string): boolean {
    let start = 0;
    while (name.charCodeAt(start) === 0x2d /* - */) start++;
    const n = (start === 0 ? name : name.slice(start)).toLowerCase();
    return extraHeaders.has(n) || (!allowHeaders.has(n) && isBuiltinSensitiveHeader(n));
  }

  function redactPath(path: string): string {
    return redactPathSegments(path, builtin, patterns.length > 0 ? matchesPattern : undefined);
  }

  return {
    redactPath, redactHeaders, redactHeaderValue, redactQuery, redactUrl, redactArgs, isSensitiveHeader, isSensitiveQueryKey };
}

/**
 * Redaction at the boundary between parsing and span building: every later
 * stage (trace context, correlation ids, user agent, recorded headers, and
 * whatever attribute is added next) sees only redacted header values. The
 * exchange itself is returned when nothing was sensitive (no allocation).
 */
export function redactExchangeHeaders(ex: ObservedExchange, redactor: Redactor): ObservedExchange {
  const requestHeaders = redactor.redactHeaders(ex.request.headers);
  const response = ex.response;
  const responseHeaders = response ? redactor.redactHeaders(response.headers) : undefined;
  if (requestHeaders === ex.request.headers && responseHeaders === response?.headers) return ex;
  const out: ObservedExchange = { ...ex, request: { ...ex.request, headers: requestHeaders } };
  if (response && responseHeaders) out.response = { ...response, headers: responseHeaders };
  return out;
}

/** Distinct header names whose redaction decision is remembered. */
const MAX_REMEMBERED_HEADER_NAMES = 4096;
/** Distinct query keys, likewise. */
const MAX_REMEMBERED_QUERY_KEYS = 4096;

function lowercaseSet(names: readonly string[] | undefined): ReadonlySet<string> {
  return new Set((names ?? []).map((name) => name.toLowerCase()));
}

const JWT_SEGMENT = /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;
const UUID_SEGMENT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Long, mixed letters and digits, from a token alphabet: what generated secrets look like. */
const OPAQUE_SEGMENT = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_~.+=-]{24,}$/;
/** Vendor key prefixes (Stripe, GitHub, Slack, AWS access keys, ...). */
const PREFIXED_KEY_SEGMENT = /^(sk|pk|rk)_(live|test)_|^gh[pousr]_|^xox[abprs]-|^AKIA[0-9A-Z]{16}$/;

const MIN_SECRET_SEGMENT = 16;

function isSecretPathSegment(segment: string): boolean {
  if (segment.length < MIN_SECRET_SEGMENT || UUID_SEGMENT.test(segment)) return false;
  return JWT_SEGMENT.test(segment) || PREFIXED_KEY_SEGMENT.test(segment) || OPAQUE_SEGMENT.test(segment);
}

/** `matchesPattern` is undefined when no pattern is configured. */
function redactPathSegments(path: string, builtin: boolean, matchesPattern: ((segment: string) => boolean) | undefined): string {
  if (!matchesPattern && (!builtin || path.length < 17)) return path; // no segment long enough to be a secret
  // Walked in place: most paths have nothing to redact, and then nothing is allocated for them.
  let out = '';
  let copiedTo = 0;
  let start = 0;
  for (;;) {
    const slash = path.indexOf('/', start);
    const end = slash < 0 ? path.length : slash;
    // A built-in secret has at least MIN_SECRET_SEGMENT characters: shorter segments are not even cut out.
    if (matchesPattern !== undefined || (builtin && end - start >= MIN_SECRET_SEGMENT)) {
      const segment = path.slice(start, end);
      if ((builtin && isSecretPathSegment(segment)) || (matchesPattern !== undefined && matchesPattern(segment))) {
        out += path.slice(copiedTo, start) + REDACTED;
        copiedTo = end;
      }
    }
    if (slash < 0) break;
    start = slash + 1;
  }
  return copiedTo === 0 ? path : out + path.slice(copiedTo);
}

function containsSensitiveFragment(name: string): boolean {
  for (const fragment of SENSITIVE_NAME_FRAGMENTS) {
    if (name.includes(fragment)) return true;
  }
  return false;
}

/** An auth scheme is a short token of letters, digits and `-_.` starting with a letter (Basic, Bearer, AWS4-HMAC-SHA256). */
const MAX_SCHEME_LENGTH = 32;

/** `Bearer abc` -> `Bearer [REDACTED]`; a value without a scheme word is redacted whole. */
function redactCredentials(value: string): string {
  const space = value.indexOf(' ');
  if (space <= 0 || space > MAX_SCHEME_LENGTH || !isSchemeWord(value, space)) return REDACTED;
  let rest = space;
  while (value.charCodeAt(rest) === 0x20) rest++;
  if (rest === value.length) return REDACTED;
  return `${value.slice(0, space)} ${REDACTED}`;
}

function isSchemeWord(value: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (i === 0 ? !letter : !(letter || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e)) return false;
  }
  return true;
}

/** `scheme://user:password@host` -> `scheme://user:[REDACTED]@host`; userinfo without `:` is often a token, so it goes whole. */
function redactUserinfo(head: string): string {
  const schemeEnd = head.indexOf('://');
  if (schemeEnd <= 0) return head;
  const authorityStart = schemeEnd + 3;
  let authorityEnd = head.indexOf('/', authorityStart);
  if (authorityEnd === -1) authorityEnd = head.length;
  const at = head.lastIndexOf('@', authorityEnd - 1);
  if (at < authorityStart) return head;
  const colon = head.indexOf(':', authorityStart);
  const secretStart = colon !== -1 && colon < at ? colon + 1 : authorityStart;
  if (secretStart === at) return head; // `user:@host` or `@host`: nothing to hide
  return head.slice(0, secretStart) + REDACTED + head.slice(at);
}

/**
 * Decodes `%XX` escapes of ASCII characters and `+`, leaving anything else
 * as is. Enough to see through `%74oken=` and never throws, unlike
 * decodeURIComponent on malformed input.
 */
function decodeAsciiPercent(key: string): string {
  if (!key.includes('%') && !key.includes('+')) return key;
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x2b) {
      out += ' ';
      continue;
    }
    if (c === 0x25 && i + 2 < key.length) {
      const code = parseInt(key.slice(i + 1, i + 3), 16);
      if (code >= 0 && code < 0x80 && isHexDigit(key.charCodeAt(i + 1)) && isHexDigit(key.charCodeAt(i + 2))) {
        out += String.fromCharCode(code);
        i += 2;
        continue;
      }
    }
    out += key[i];
  }
  return out;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** `user[password]` -> `password`, so nested form keys are caught; `''` when there are no brackets. */
function lastBracketSegment(key: string): string {
  if (key.charCodeAt(key.length - 1) !== 0x5d /* ] */) return '';
  const open = key.lastIndexOf('[');
  return open === -1 ? '' : key.slice(open + 1, key.length - 1);
}
