/**
 * A small path router: routes are templates like `/api/traces/{traceID}`,
 * matched segment by segment in declaration order. The template doubles as
 * the `route` label of the request metrics, so label cardinality stays fixed
 * whatever paths clients send.
 */
import { ApiError, badRequest } from './api-error.js';

/** Which error shape a route answers with. */
export type ApiFamily = 'jaeger' | 'native' | 'plain';

export interface RequestContext {
  /** Decoded `{name}` path segments. */
  path: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** Request time, Unix µs (injectable for tests). */
  nowUs: number;
}

interface ResponseBase {
  /** Default 200. */
  status?: number;
  headers?: Readonly<Record<string, string>>;
}

/** A JSON value to serialise, or ready text with its content type. */
export type ApiResponse = (ResponseBase & { json: unknown }) | (ResponseBase & { text: string; contentType: string });

export interface Route {
  template: string;
  family: ApiFamily;
  /** Served without the bearer token (health checks). */
  public?: boolean;
  handle(ctx: RequestContext): ApiResponse;
}

export interface RouteMatch {
  route: Route;
  path: Record<string, string>;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed percent-encoding in path segment '${segment.slice(0, 64)}'`);
  }
}

interface CompiledRoute {
  route: Route;
  /** Literal segment, or the parameter name for `{name}`. */
  segments: Array<{ literal: string } | { param: string }>;
}

function splitPath(pathname: string): string[] {
  // '/api/services/' and '/api/services' are the same resource.
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  return trimmed.split('/').slice(1);
}

export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map((route) => ({
      route,
      segments: splitPath(route.template).map((s) =>
        s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s },
      ),
    }));
  }

  /**
   * The matching route, or undefined. Path parameters are decoded only for
   * the route that matched, and a bad encoding there is a 400.
   */
  match(pathname: string): RouteMatch | undefined {
    const raw = splitPath(pathname);
    for (const { route, segments } of this.compiled) {
      if (segments.length !== raw.length) continue;
      const ok = segments.every((seg, i) => ('literal' in seg ? seg.literal === raw[i] : raw[i] !== ''));
      if (!ok) continue;
      const path: Record<string, string> = {};
      segments.forEach((seg, i) => {
        if ('param' in seg) path[seg.param] = decodeSegment(raw[i]!);
      });
      return { route, path };
    }
    return undefined;
  }

  /** The family of the route that would match, ignoring parameter decoding errors (for error shapes). */
  familyOf(pathname: string): ApiFamily {
    try {
      return this.match(pathname)?.route.family ?? familyByPrefix(pathname);
    } catch (err) {
      if (err instanceof ApiError) return familyByPrefix(pathname);
      throw err;
    }
  }
}

/** Unmatched paths still answer in the shape their prefix suggests. */
export function familyByPrefix(pathname: string): ApiFamily {
  if (pathname.startsWith('/api/v1/')) return 'native';
  if (pathname.startsWith('/api/')) return 'jaeger';
  return 'plain';
}
