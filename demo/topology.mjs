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
].map(withDerived);

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

/** { frontend: 18080, ... } for a port base. */
export function ports(base = DEFAULT_PORT_BASE) {
  return Object.fromEntries(SERVICES.map((s) => [s.name, base + s.portOffset]));
}

/** { FRONTEND_PORT: '18080', ... }: every service gets all of them. */
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
// propagation: which trace header the client sends on that edge.
export const EDGES = [
  { client: 'loadgen', server: 'frontend', route: 'GET /checkout, GET /browse', connection: 'mixed (3 of 4 keep-alive)', propagation: 'w3c (mostly)' },
  { client: 'frontend', server: 'catalog', route: 'GET /items/{id}, GET /items', connection: 'new', propagation: 'w3c' },
  { client: 'frontend', server: 'orders', route: 'GET /orders/{id}', connection: 'keep-alive (maxSockets 4)', propagation: 'w3c' },
  { client: 'orders', server: 'inventory', route: 'GET /stock/{id}', connection: 'new', propagation: 'w3c' },
  { client: 'orders', server: 'payments', route: 'POST /charge', connection: 'keep-alive (one per handler thread)', propagation: 'w3c' },
  { client: 'inventory', server: 'catalog', route: 'GET /items/{id}', connection: 'keep-alive', propagation: 'none' },
];

export const edgeKey = (client, server) => `${client}->${server}`;

// Business rules, by item id (the Python services implement the same ones;
// `run.mjs --expect` checks that observed counts match these predictions).
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
 */
export function predictEdges(requests) {
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
      add('frontend', 'orders', o.orders);
      add('orders', 'inventory', 200);
      add('inventory', 'catalog', 200);
      if (o.stock === 0) continue;
      add('orders', 'payments', o.payments);
    }
  }
  return { edges, unanswered };
}
