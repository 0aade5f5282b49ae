// inventory (Node): GET /stock/{id} -> catalog GET /items/{id}, and one
// Redis command (HINCRBY stock:lookups <id> 1) when the runner started Redis.
// The uninstrumented hop: whatever trace headers arrive are ignored and the
// call to catalog carries none, so the agent must link this hop without
// headers. Named by SERVICE_NAME (set by the runner).

import http from 'node:http';
import { serve, callJson, sendJson, sleep, envPort, demoCallHeaders } from './common.mjs';
import { RedisCache } from './redis-cache.mjs';

const PORT = envPort('INVENTORY_PORT', 18082);
const CATALOG_PORT = envPort('CATALOG_PORT', 18084);

// Pooled keep-alive connections to catalog; free sockets close after 4 s.
const catalogAgent = new http.Agent({ keepAlive: true, timeout: 4000 });
// Redis (DEMO_REDIS_PORT, set only when the runner started it): exactly one
// command per stock lookup, whatever happened before, so the edge's count is
// known from the load alone (a GET-then-SETEX cache would depend on timing).
const redis = RedisCache.fromEnv();

let counters;

async function stock({ req, res, match }) {
  const item = Number(match[1]);
  // Fresh headers: no traceparent, tracestate or baggage is forwarded.
  const product = await callJson(counters, 'catalog', {
    port: CATALOG_PORT, path: `/items/${item}`, agent: catalogAgent, headers: demoCallHeaders('inventory', req, 'catalog'),
  });
  if (product.status === 404) return sendJson(res, 404, { error: 'no such item', item });
  if (product.status !== 200) return sendJson(res, 502, { error: 'catalog unavailable' });
  await sleep(2); // warehouse lookup
  if (redis) {
    const reply = await redis.command('HINCRBY', 'stock:lookups', String(item), '1');
    counters.countOutbound('redis-server', typeof reply === 'number' ? 'ok' : 'error');
  }
  // Items ending in 3 are out of stock (see topology.mjs itemOutcome).
  const available = item % 10 === 3 ? 0 : 5 + (item % 7);
  sendJson(res, 200, { item, sku: product.body?.sku, available });
}

({ counters } = serve({
  service: 'inventory',
  port: PORT,
  routes: [{ method: 'GET', pattern: /^\/stock\/(\d+)$/, route: 'GET /stock/{id}', handler: stock }],
}));
