/**
 * Redaction of secrets in captured requests before anything is stored:
 * header values, URL query parameters, URL userinfo, and command-line
 * arguments of traced processes.
 *
 * Every function returns its input unchanged (same array or string) when
 * there is nothing to redact, so the common request costs no allocation.
 */

import type { HeaderList } from './headers.js';

export const REDACTED = '[REDACTED]';

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

  function isSensitiveHeader(rawName: string): boolean {
    // Lowercased even though the parser lowercases: a miss here leaks a secret.
    const name = rawName.toLowerCase();
    if (extraHeaders.has(name)) return true;
    if (allowHeaders.has(name)) return false;
    return defaultHeaders.has(name) || containsSensitiveFragment(name);
  }

  function isSensitiveQueryKey(rawKey: string): boolean {
    const key = decodeAsciiPercent(rawKey).toLowerCase();
    return isSensitiveDecodedKey(key) || isSensitiveDecodedKey(lastBracketSegment(key));
  }

  function isSensitiveDecodedKey(key: string): boolean {
    if (key.length === 0) return false;
    if (extraQueryKeys.has(key)) return true;
    if (allowQueryKeys.has(key)) return false;
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
      const [name, value] = headers[i];
      const redacted = redactHeaderValue(name, value);
      if (redacted === value && out === undefined) continue;
      out ??= headers.slice(0, i);
      out.push(redacted === value ? headers[i] : [name, redacted]);
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
      if (eq !== -1 && eq < end - 1 && isSensitiveQueryKey(query.slice(start, eq))) {
        out += query.slice(copiedTo, eq + 1) + REDACTED;
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

  function isSensitiveArgName(name: string): boolean {
    let start = 0;
    while (name.charCodeAt(start) === 0x2d /* - */) start++;
    return isSensitiveHeader(start === 0 ? name : name.slice(start));
  }

  return {
    redactPath, redactHeaders, redactHeaderValue, redactQuery, redactUrl, redactArgs, isSensitiveHeader, isSensitiveQueryKey };
}

function lowercaseSet(names: readonly string[] | undefined): ReadonlySet<string> {
  return new Set((names ?? []).map((name) => name.toLowerCase()));
}

const JWT_SEGMENT = /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;
const UUID_SEGMENT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Long, mixed letters and digits, from a token alphabet: what generated secrets look like. */
const OPAQUE_SEGMENT = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_~.+=-]{24,}$/;
/** Vendor key prefixes (Stripe, GitHub, Slack, AWS access keys, ...). */
const PREFIXED_KEY_SEGMENT = /^(sk|pk|rk)_(live|test)_|^gh[pousr]_|^xox[abprs]-|^AKIA[0-9A-Z]{16}$/;

function isSecretPathSegment(segment: string): boolean {
  if (segment.length < 16 || UUID_SEGMENT.test(segment)) return false;
  return JWT_SEGMENT.test(segment) || PREFIXED_KEY_SEGMENT.test(segment) || OPAQUE_SEGMENT.test(segment);
}

function redactPath(path: string): string {
  if (path.length < 17) return path; // no segment long enough to be a secret
  const segments = path.split('/');
  let changed = false;
  for (let i = 0; i < segments.length; i++) {
    if (isSecretPathSegment(segments[i] ?? '')) {
      segments[i] = REDACTED;
      changed = true;
    }
  }
  return changed ? segments.join('/') : path;
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
