/**
 * The agent's HTTP API on node:http: Jaeger-compatible /api/*, native
 * /api/v1/*, /api/health and /metrics. Handlers are synchronous (the store
 * is), return a value or throw ApiError; this module owns everything around
 * them: auth, routing, error shapes, compression, request metrics and logs.
 */
import http from 'node:http';
import type { HealthSource } from '../model/health.js';
import type { SpanStore } from '../store/index.js';
import { ApiError } from './api-error.js';
import { bearerTokenCheck, type TokenCheck } from './auth.js';
import { jaegerErrorBody, jaegerRoutes } from './jaeger/routes.js';
import { agentMetricFamilies } from './metrics/agent-metrics.js';
import { EXPOSITION_CONTENT_TYPE, renderExposition, type MetricFamily } from './metrics/prometheus-text.js';
import { RequestCounter } from './metrics/request-counter.js';
import { nativeRoutes } from './native/routes.js';
import { Router, type ApiFamily, type ApiResponse, type Route, type RouteMatch } from './router.js';
import { sendBody } from './send.js';

export interface ApiServerOptions {
  store: SpanStore;
  health: HealthSource;
  /** When set, every endpoint except /api/health requires `Authorization: Bearer <token>`. */
  token?: string;
  /** Structured log sink: one object per request, plus handler failures. */
  logger?: (obj: Record<string, unknown>) => void;
  /** Current time in Unix µs, for default time windows (tests inject a fixed clock). */
  now?: () => number;
  /** More metric families for /metrics, read at scrape time (the agent's span metrics). */
  extraMetrics?: () => MetricFamily[];
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}
const UNMATCHED_ROUTE = 'unmatched';

function errorBody(family: ApiFamily, status: number, messages: readonly string[]): unknown {
  if (family === 'jaeger') return jaegerErrorBody(status, messages);
  return { errors: messages.map((msg) => ({ code: status, msg })) };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function serviceRoutes(store: SpanStore, health: HealthSource, requests: RequestCounter, extraMetrics: () => MetricFamily[]): Route[] {
  return [
    { template: '/api/health', family: 'plain', public: true, handle: () => ({ json: health.health() }) },
    {
      template: '/metrics',
      family: 'plain',
      handle: () => ({
        text: renderExposition([
          ...agentMetricFamilies({ health: health.health(), store: store.stats(), requests: requests.snapshot() }),
          ...extraMetrics(),
        ]),
        contentType: EXPOSITION_CONTENT_TYPE,
      }),
    },
  ];
}

export function createApiServer(options: ApiServerOptions): http.Server {
  const requests = new RequestCounter();
  const router = new Router([
    ...serviceRoutes(options.store, options.health, requests, options.extraMetrics ?? (() => [])),
    ...nativeRoutes(options.store),
    ...jaegerRoutes(options.store),
  ]);
  const tokenOk: TokenCheck | undefined = options.token ? bearerTokenCheck(options.token) : undefined;
  const now = options.now ?? (() => Date.now() * 1000);
  const log = options.logger;

  /** Runs the route; any failure becomes an ApiError. */
  function dispatch(req: http.IncomingMessage, url: RequestTarget): { route: string; family: ApiFamily; response: ApiResponse } {
    let family = router.familyOf(url.pathname);
    let route = UNMATCHED_ROUTE;
    try {
      let match: RouteMatch | undefined;
      let matchError: unknown;
      try {
        match = router.match(url.pathname);
      } catch (err) {
        matchError = err;
      }
      if (match) {
        route = match.route.template;
        family = match.route.family;
      }
      // Authenticate before reporting anything about the path, even a 400/404.
      if (tokenOk && match?.route.public !== true && !tokenOk(req.headers.authorization)) {
        throw new ApiError(401, 'missing or invalid bearer token', { 'WWW-Authenticate': 'Bearer realm="wiretrace"' });
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new ApiError(405, `method ${req.method ?? ''} not allowed`, { Allow: 'GET, HEAD' });
      }
      if (matchError) throw matchError;
      if (!match) throw new ApiError(404, `no such endpoint: ${url.pathname.slice(0, 200)}`);
      return { route, family, response: match.route.handle({ path: match.path, query: url.searchParams, nowUs: now() }) };
    } catch (err) {
      if (err instanceof ApiError) {
        const response: ApiResponse = { status: err.status, headers: err.headers, json: errorBody(family, err.status, err.messages) };
        return { route, family, response };
      }
      log?.({ event: 'api handler failed', route, error: errorMessage(err) });
      return { route, family, response: { status: 500, json: errorBody(family, 500, ['internal error']) } };
    }
  }

  return http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    // Split the request target by hand: `new URL('//host/path', base)` would
    // read a leading '//' as an authority and route the rest.
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const url = {
      pathname: queryAt === -1 ? target : target.slice(0, queryAt),
      searchParams: new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1)),
    };
    const { route, response } = dispatch(req, url);
    const status = response.status ?? 200;
    requests.increment(route, status);
    // 'close' fires whether the response completed or the client went away.
    res.once('close', () =>
      log?.({ event: 'api request', method: req.method, route, status, durationMs: Number(process.hrtime.bigint() - started) / 1e6 }),
    );
    const body =
      'json' in response
        ? { contentType: JSON_CONTENT_TYPE, body: Buffer.from(JSON.stringify(response.json)) }
        : { contentType: response.contentType, body: Buffer.from(response.text) };
    sendBody(res, req.headers, { status, ...body, ...(response.headers ? { headers: response.headers } : {}) });
  });
}
