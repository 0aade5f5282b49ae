// frontend (Node): the entry point the load generator calls.
//   GET /checkout?item=N  -> catalog GET /items/N, then shipping (gRPC)
//                            wiretrace.demo.Shipping/Quote, then orders GET /orders/N
//   GET /browse?page=P    -> catalog GET /items?page=P, answered chunked
// Propagates W3C trace context like an instrumented service: keeps the inbound
// trace id (or starts a trace when there is none), gives each outbound call its
// own span id, and reports its own span in a `traceresponse` header.
// Named by OTEL_SERVICE_NAME (set by the runner).

import http from 'node:http';
import {
  serve, callJson, sendJson, sleep, envPort, newSpanId, newTraceId, demoCallHeaders, PROPAGATE,
} from './common.mjs';
import { quoteShipping } from './shipping-client.mjs';

const PORT = envPort('FRONTEND_PORT', 18080);
const ORDERS_PORT = envPort('ORDERS_PORT', 18081);
const CATALOG_PORT = envPort('CATALOG_PORT', 18084);

// Calls to orders reuse at most four pooled connections, so many requests
// share a connection (keep-alive) and some wait for a free socket. Free
// sockets are dropped after 4 s, before orders' server would time them out.
const ordersAgent = new http.Agent({ keepAlive: true, maxSockets: 4, timeout: 4000 });
// Calls to catalog open a fresh connection each time (agent: false).

/** Trace context for this request: this server span, plus headers for each child call. */
function spanContext(req, trace) {
  const traceId = trace?.traceId ?? newTraceId();
  const flags = trace?.flags ?? '01';
  const spanId = newSpanId();
  const tracestate = req.headers.tracestate;
  return {
    traceresponse: `00-${traceId}-${spanId}-${flags}`,
    childHeaders(target) {
      const h = demoCallHeaders('frontend', req, target);
      // DEMO_PROPAGATION=off: behave like an uninstrumented service.
      if (!PROPAGATE) return h;
      h.traceparent = `00-${traceId}-${newSpanId()}-${flags}`;
      if (tracestate) h.tracestate = tracestate;
      return h;
    },
    /** The same for a gRPC call: traceparent goes as metadata (an HTTP/2 header on the wire). */
    childMetadata(target) {
      const { traceparent, ...headers } = this.childHeaders(target);
      return { traceparent, headers };
    },
  };
}

let counters;

async function checkout({ req, res, url, trace }) {
  const ctx = spanContext(req, trace);
  const reply = (status, body) => sendJson(res, status, body, { traceresponse: ctx.traceresponse });
  const item = Number(url.searchParams.get('item'));
  if (!Number.isInteger(item) || item < 1) return reply(400, { error: 'item must be a positive integer' });

  const product = await callJson(counters, 'catalog', {
    port: CATALOG_PORT, path: `/items/${item}`, headers: ctx.childHeaders('catalog'), agent: false,
  });
  if (product.status === 404) return reply(404, { error: 'no such item', item });
  if (product.status !== 200) return reply(502, { error: 'catalog unavailable' });

  await sleep(1 + (item % 3)); // pretend to build the cart

  // The gRPC hop: one HTTP/2 connection, reused for every quote. A failed
  // quote (UNAVAILABLE for item % 100 == 42) leaves the checkout as it is,
  // without a shipping price (topology.mjs shippingCode).
  const quote = await quoteShipping(counters, { item, quantity: 1, ...ctx.childMetadata('shipping') });

  const order = await callJson(counters, 'orders', {
    port: ORDERS_PORT, path: `/orders/${item}`, headers: ctx.childHeaders('orders'), agent: ordersAgent,
  });
  // 402 (declined) and 409 (out of stock) pass through; server errors become 502.
  const status = order.status === 200 || order.status === 402 || order.status === 409 ? order.status : 502;
  reply(status, { item, name: product.body?.name, shippingCents: quote.cents, order: order.body });
}

async function browse({ req, res, url, trace }) {
  const ctx = spanContext(req, trace);
  const page = Math.max(1, Number.parseInt(url.searchParams.get('page') ?? '1', 10) || 1);
  const list = await callJson(counters, 'catalog', {
    port: CATALOG_PORT, path: `/items?page=${page}`, headers: ctx.childHeaders('catalog'), agent: false,
  });
  if (list.status !== 200) return sendJson(res, 502, { error: 'catalog unavailable' }, { traceresponse: ctx.traceresponse });
  // Deliberately streamed: no Content-Length, two writes, so the response goes
  // out with Transfer-Encoding: chunked in (at least) two chunks.
  res.writeHead(200, { 'content-type': 'application/json', traceresponse: ctx.traceresponse });
  res.write(`{"page":${page},"items":`);
  await sleep(2);
  res.end(`${JSON.stringify(list.body?.items ?? [])}}`);
}

({ counters } = serve({
  service: 'frontend',
  port: PORT,
  routes: [
    { method: 'GET', pattern: /^\/checkout$/, route: 'GET /checkout', handler: checkout },
    { method: 'GET', pattern: /^\/browse$/, route: 'GET /browse', handler: browse },
  ],
}));
