/**
 * Validating reader for URL query parameters. Each accessor records a clear
 * message for a bad value instead of throwing, so one 400 response lists
 * every problem; `done()` throws that 400. Like Go's FormValue (Jaeger), the
 * first occurrence of a repeated single-valued parameter is used.
 */
import { badRequest } from './api-error.js';
import { parseGoDuration } from './go-duration.js';
import { TagSyntaxError, parseTagParam, parseTagsParam, type TagFilter } from './tags-param.js';
import { normalizeTraceId } from './trace-id.js';

/** Longest accepted text parameter: names, not documents. */
const MAX_TEXT_LENGTH = 1024;
const UNSIGNED_INTEGER = /^\d+$/;

export class QueryReader {
  private readonly errors: string[] = [];

  constructor(private readonly query: URLSearchParams) {}

  /** A non-empty text value, or undefined when absent or empty. */
  text(name: string): string | undefined {
    const value = this.query.get(name);
    if (value === null || value === '') return undefined;
    if (value.length > MAX_TEXT_LENGTH) {
      this.errors.push(`parameter '${name}' is longer than ${MAX_TEXT_LENGTH} characters`);
      return undefined;
    }
    return value;
  }

  /** Records "required" when the parameter is absent or empty (a bad value already has its own message). */
  require<T>(name: string, value: T | undefined): T | undefined {
    if (value === undefined && !this.query.get(name)) this.errors.push(`parameter '${name}' is required`);
    return value;
  }

  /** A non-negative integer within [min, max]. */
  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const value = UNSIGNED_INTEGER.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.errors.push(`unable to parse param '${name}': expected an integer from ${min} to ${max}, got '${raw}'`);
      return undefined;
    }
    return value;
  }

  /** A Unix timestamp in the given unit (µs or ms): a non-negative integer. */
  timestamp(name: string): number | undefined {
    return this.integer(name, 0, Number.MAX_SAFE_INTEGER);
  }

  /** A Go duration string ("1.2ms", "3s"), as non-negative nanoseconds. */
  duration(name: string): number | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const ns = parseGoDuration(raw);
    if (ns === undefined) {
      this.errors.push(`unable to parse param '${name}': '${raw}' is not a duration (examples: 250us, 1.2ms, 3s, 1h30m)`);
      return undefined;
    }
    if (ns < 0) {
      this.errors.push(`unable to parse param '${name}': duration must not be negative`);
      return undefined;
    }
    return ns;
  }

  /** One of a fixed set of values. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.errors.push(`parameter '${name}' must be one of ${allowed.join(', ')}; got '${raw}'`);
      return undefined;
    }
    return raw as T;
  }

  traceId(name: string): string | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const id = normalizeTraceId(raw);
    if (id === undefined) this.errors.push(`parameter '${name}' is not a trace id (1 to 32 hex digits): '${raw}'`);
    return id;
  }

  /** All `traceID` style repeated ids, normalised. */
  traceIds(name: string): string[] {
    const ids: string[] = [];
    for (const raw of this.query.getAll(name)) {
      const id = normalizeTraceId(raw);
      if (id === undefined) this.errors.push(`cannot parse ${name} param: '${raw.slice(0, 64)}' is not a trace id (1 to 32 hex digits)`);
      else ids.push(id);
    }
    return ids;
  }

  /** Merged `tags=` (JSON or logfmt, repeatable) and `tag=key:value` (repeatable). */
  tags(): TagFilter | undefined {
    const tags: TagFilter = {};
    let any = false;
    try {
      for (const raw of this.query.getAll('tag')) {
        const [key, value] = parseTagParam(raw);
        tags[key] = value;
        any = true;
      }
      for (const raw of this.query.getAll('tags')) {
        if (raw.trim() === '') continue;
        Object.assign(tags, parseTagsParam(raw));
        any = true;
      }
    } catch (err) {
      if (!(err instanceof TagSyntaxError)) throw err;
      this.errors.push(err.message);
      return undefined;
    }
    return any && Object.keys(tags).length > 0 ? tags : undefined;
  }

  /** Adds a cross-parameter check's message. */
  fail(message: string): void {
    this.errors.push(message);
  }

  /** Throws a 400 listing every problem found so far. */
  done(): void {
    if (this.errors.length > 0) throw badRequest(this.errors);
  }
}
