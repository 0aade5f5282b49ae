// The demo's shape, in one place, for the runner and for tests: which
// services exist, how each is named (the agent must find the same names), which
// ports they use, who calls whom, and the deterministic business rules that
// decide every status code. Importing this module has no side effects.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEMO_DIR = path.dirname(fileURLToPath(import.meta.url));
export const HOST = '127.0.0.1';
export const DEFAULT_PORT_BASE = 18080;
export const PYTHON = '/usr/bin/python3';

// naming: which environment variable carries the name, or 'derived' when none
// does and the agent has to read the command line. serviceNameSource uses the
// agent's own vocabulary (backend-agent/src/model/span.ts). Every script file is
// named after its service, so derivedName (the script's base name without its
// extension, interpreter skipped) equals the service name.
export const SERVICES = [
  {
    name: 'frontend', language: 'node', script: 'services/frontend.mjs',
    portOffset: 0, portEnv: 'FRONTEND_PORT',
    naming: 'OTEL_SERVICE_NAME', serviceNameSource: 'env:OTEL_SERVICE_NAME',
  },
  {
    name: 'orders', language: 'python', script: 'services/orders.py',
    portOffset: 1, portEnv: 'ORDERS_PORT',
    naming: 'OTEL_SERVICE_NAME', serviceNameSource: 'env:OTEL_SERVICE_NAME',
  },
  {
    name: 'inventory', language: 'node', script: 'services/inventory.mjs',
    portOffset: 2, portEnv: 'INVENTORY_PORT',
    naming: 'SERVICE_NAME', serviceNameSource: 'env:SERVICE_NAME',
  },
  {
    name: 'payments', language: 'python', script: 'services/payments.py',
    portOffset: 3, portEnv: 'PAYMENTS_PORT',
    naming: 'SERVICE_NAME', serviceNameSource: 'env:SERVICE_NAME',
  },
  {
    name: 'catalog', language: 'python', script: 'services/catalog.py',
    portOffset: 4, portEnv: 'CATALOG_PORT',
    naming: 'derived', serviceNameSource: 'cmdline',
  },
  // Offset 5 is the --proxy nginx (run.mjs), so the newer services start at 6.
  // shipping speaks gRPC (HTTP/2 without TLS, no /healthz: the runner checks
  // that its port accepts connections); rates speaks HTTPS with a self-signed
  // certificate in DEMO_TLS_DIR (the runner's /healthz probe goes over TLS).
  {
    name: 'shipping', language: 'node', script: 'services/shipping.mjs',
    portOffset: 6, portEnv: 'SHIPPING_PORT', protocol: 'grpc',
    naming: 'OTEL_SERVICE_NAME', serviceNameSource: 'env:OTEL_SERVICE_NAME',
  },
  {
    name: 'rates', language: 'python', script: 'services/rates.py',
    portOffset: 7, portEnv: 'RATES_PORT', protocol: 'https',
    naming: 'SERVICE_NAME', serviceNameSource: 'env:SERVICE_NAME',
  },
].map((s) => withDerived({ protocol: 'http', ...s }));

// Servers the runner starts next to the services when their binaries are
// installed (databases.mjs): not demo scripts, so they have no state file and
// are named by the agent from their executable. `name` is that name: the
// PostgreSQL backends run /usr/lib/postgresql/N/bin/postgres; Debian's
// redis-server is a symlink to redis-check-rdb, invoked as redis-server (the
// agent names a multi-call binary by how it was invoked). Redis overwrites
// its environment with its process title, so no variable can name it.
export const DATASTORES = [
  { name: 'postgres', kind: 'postgresql', portOffset: 10, portEnv: 'DEMO_PG_PORT', expectedName: 'postgres' },
  { name: 'redis-server', kind: 'redis', portOffset: 11, portEnv: 'DEMO_REDIS_PORT', expectedName: 'redis-server' },
];

// The load generator is a client only; the runner names it through the
// environment (OTEL_SERVICE_NAME=loadgen) when it starts it.
export const LOADGEN = withDerived({
  name: 'loadgen', language: 'node', script: 'loadgen.mjs',
  naming: 'OTEL_SERVICE_NAME', serviceNameSource: 'env:OTEL_SERVICE_NAME',
});

function withDerived(s) {
  return {
    ...s,
    scriptPath: path.join(DEMO_DIR, s.script),
    derivedName: path.basename(s.script).replace(/\.[^.]+$/, ''),
    expectedName: s.name,
  };
}

export function service(name) {
  const s = [...SERVICES, LOADGEN].find((x) => x.name === name);
  if (!s) throw new Error(`unknown demo service ${name}`);
  return s;
}

/**
 * { frontend: 18080, ..., postgres: 18090, 'redis-server': 18091 } for a port
 * base: every port the demo's servers listen on (the datastores' too, whether
 * or not they run), e.g. for the agent's --port filter. The --proxy nginx
 * (base + 5) is not included.
 */
export function ports(base = DEFAULT_PORT_BASE) {
  return Object.fromEntries([...SERVICES, ...DATASTORES].map((s) => [s.name, base + s.portOffset]));
}

/** { FRONTEND_PORT: '18080', ... }: every service gets all of them (not the datastores': run.mjs passes those only when they run). */
export function portEnv(base = DEFAULT_PORT_BASE) {
  return Object.fromEntries(SERVICES.map((s) => [s.portEnv, String(base + s.portOffset)]));
}

// Variables that could name a process; removed from every child's environment
// so a name set in the caller's shell cannot leak into the wrong service.
export const NAME_VARS = ['OTEL_SERVICE_NAME', 'SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'];

/** The environment a demo process (service or loadgen) is started with. */
export function processEnv(s, { portBase = DEFAULT_PORT_BASE, stateDir, verbose = false, baseEnv = process.env } = {}) {
  const env = { ...baseEnv };
  for (const v of NAME_VARS) delete env[v];
  if (s.naming !== 'derived') env[s.naming] = s.name;
  Object.assign(env, portEnv(portBase));
  if (stateDir) env.DEMO_STATE_DIR = stateDir;
  env.DEMO_VERBOSE = verbose ? '1' : '0';
  env.PYTHONDONTWRITEBYTECODE = '1';
  env.PYTHONUNBUFFERED = '1';
  return env;
}

/** [executable, args] to start a demo process. */
export function command(s, extraArgs = []) {
  return s.language === 'python'
    ? [PYTHON, [s.scriptPath, ...extraArgs]]
    : [process.execPath, [s.scriptPath, ...extraArgs]];
}

// client -> server edges. connection: how the client holds its connections;
// propagation: which trace header the client sends on that edge; protocol:
// what goes over the wire (statuses are HTTP codes, gRPC codes for grpc, and
// 'ok'/'error' for the datastores); needs: 'databases' for edges that exist
// only when the runner could start PostgreSQL and Redis (run.json `databases`).
export const EDGES = [
  { client: 'loadgen', server: 'frontend', route: 'GET /checkout, GET /browse', connection: 'mixed (3 of 4 keep-alive)', propagation: 'w3c (mostly)' },
  { client: 'frontend', server: 'catalog', route: 'GET /items/{id}, GET /items', connection: 'new', propagation: 'w3c' },
  { client: 'frontend', server: 'orders', route: 'GET /orders/{id}', connection: 'keep-alive (maxSockets 4)', propagation: 'w3c' },
  { client: 'orders', server: 'inventory', route: 'GET /stock/{id}', connection: 'new', propagation: 'w3c' },
  { client: 'orders', server: 'payments', route: 'POST /charge', connection: 'keep-alive (one per handler thread)', propagation: 'w3c' },
  { client: 'inventory', server: 'catalog', route: 'GET /items/{id}', connection: 'keep-alive', propagation: 'none' },
  { client: 'frontend', server: 'shipping', route: 'wiretrace.demo.Shipping/Quote', connection: 'one HTTP/2 connection (h2c), calls multiplexed', propagation: 'w3c', protocol: 'grpc' },
  { client: 'orders', server: 'rates', route: 'GET /rates/{currency}', connection: 'TLS, keep-alive (one per handler thread)', propagation: 'w3c', protocol: 'https' },
  { client: 'orders', server: 'postgres', route: 'INSERT INTO orders', connection: 'one per handler thread (psycopg, autocommit)', propagation: 'none', protocol: 'postgresql', needs: 'databases' },
  { client: 'inventory', server: 'redis-server', route: 'HINCRBY stock:lookups', connection: 'one, pipelined', propagation: 'none', protocol: 'redis', needs: 'databases' },
].map((e) => ({ protocol: 'http', ...e }));

/** The edges of a run: the datastore edges only when the databases ran. */
export function edgesFor({ databases = true } = {}) {
  return EDGES.filter((e) => e.needs !== 'databases' || databases);
}

// gRPC status codes that count as a failed call (the server's fault), as in
// OpenTelemetry's gRPC conventions: UNKNOWN, DEADLINE_EXCEEDED,
// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
export const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);
export const GRPC_OK = 0;
export const GRPC_UNAVAILABLE = 14;

/** Whether one recorded status of an edge is a failed call (as the service graph counts it). */
export function isFailure(edge, status) {
  if (status === 'error') return true;
  if (edge.protocol === 'grpc') return GRPC_SERVER_ERRORS.has(Number(status));
  return Number(status) >= 500;
}

export const edgeKey = (client, server) => `${client}->${server}`;

// Business rules, by item id (the Python services implement the same ones;
// `run.mjs --expect` checks that observed counts match these predictions).
// Every checkout whose item exists asks shipping for a quote (quantity 1)
// between catalog and orders; a failed quote does not change the checkout's
// status (frontend goes on without a shipping price), so it is not part of
// itemOutcome: see shippingCode. (The loadgen's items are 1..40, so its
// quotes all succeed; item 42, 142, ... would get UNAVAILABLE.)
export function shippingCode(item) {
  return item % 100 === 42 ? GRPC_UNAVAILABLE : GRPC_OK;
}

export function itemOutcome(item) {
  switch (item % 10) {
    case 9: return { catalog: 404, frontend: 404 };                       // unknown item
    case 3: return { catalog: 200, stock: 0, orders: 409, frontend: 409 }; // out of stock
    case 5: return { catalog: 200, payments: 402, orders: 402, frontend: 402 }; // card declined
    case 7: return { catalog: 200, payments: 500, orders: 502, frontend: 502 }; // processor down
    default: return { catalog: 200, payments: 200, orders: 200, frontend: 200 };
  }
}

/**
 * Predicts every edge's calls by status from the paths the load generator
 * sent (its --out file's `requests`). Requests that got no response are left
 * out and counted in `unanswered`, since how far they got is unknown.
 * `databases`: whether PostgreSQL and Redis ran (run.json); when they did,
 * inventory sends exactly one Redis command per stock lookup and orders one
 * INSERT per order whose outcome it knew (200, 402, 409, 502), never more.
 */
export function predictEdges(requests, { databases = false } = {}) {
  const edges = {};
  const add = (c, s, status) => {
    const e = (edges[edgeKey(c, s)] ??= { calls: 0, byStatus: {} });
    e.calls += 1;
    e.byStatus[status] = (e.byStatus[status] ?? 0) + 1;
  };
  let unanswered = 0;
  for (const r of requests) {
    if (r.status == null) { unanswered += 1; continue; }
    const url = new URL(r.path, 'http://x');
    if (url.pathname === '/browse') {
      add('loadgen', 'frontend', 200);
      add('frontend', 'catalog', 200);
    } else if (url.pathname === '/checkout') {
      const item = Number(url.searchParams.get('item'));
      const o = itemOutcome(item);
      add('loadgen', 'frontend', o.frontend);
      add('frontend', 'catalog', o.catalog);
      if (o.catalog !== 200) continue;
      add('frontend', 'shipping', shippingCode(item));
      add('frontend', 'orders', o.orders);
      add('orders', 'inventory', 200);
      add('inventory', 'catalog', 200);
      if (databases) add('inventory', 'redis-server', 'ok');
      if (o.stock !== 0) {
        add('orders', 'rates', 200);
        add('orders', 'payments', o.payments);
      }
      if (databases) add('orders', 'postgres', 'ok');
    }
  }
  return { edges, unanswered };
}
