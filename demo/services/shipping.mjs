// shipping (Node, gRPC): wiretrace.demo.Shipping/Quote over HTTP/2 (h2c),
// with @grpc/grpc-js. The demo's gRPC hop: the agent parses HTTP/2 frames
// and HPACK to name the call and read grpc-status from the trailers.
// Rules (deterministic, like topology.mjs itemOutcome):
//   quantity < 1           -> INVALID_ARGUMENT
//   item % 100 === 42      -> UNAVAILABLE ("carrier offline")
//   otherwise              -> OK, 499 cents + 100 per extra unit
// Counts inbound calls by gRPC status in $DEMO_STATE_DIR/shipping.json.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { Counters, HOST, envPort, parseTraceparent } from './common.mjs';

const PORT = envPort('SHIPPING_PORT', 18086);
const here = path.dirname(fileURLToPath(import.meta.url));

export function loadShipping() {
  const def = protoLoader.loadSync(path.join(here, 'shipping.proto'), { keepCase: true });
  return grpc.loadPackageDefinition(def).wiretrace.demo.Shipping;
}

export function quoteOutcome(item, quantity) {
  if (quantity < 1) return { code: grpc.status.INVALID_ARGUMENT, details: 'quantity must be at least 1' };
  if (item % 100 === 42) return { code: grpc.status.UNAVAILABLE, details: 'carrier offline' };
  return { code: grpc.status.OK, cents: 499 + 100 * (quantity - 1) };
}

function main() {
  const counters = new Counters('shipping', PORT);
  const server = new grpc.Server();
  server.addService(loadShipping().service, {
    Quote: (call, callback) => {
      const { item, quantity } = call.request;
      const hadTraceparent = parseTraceparent(call.metadata.get('traceparent')[0]) !== null;
      const outcome = quoteOutcome(item, quantity);
      counters.countInbound('wiretrace.demo.Shipping/Quote', outcome.code, hadTraceparent);
      if (outcome.code !== grpc.status.OK) return callback({ code: outcome.code, details: outcome.details });
      callback(null, { item, cents: outcome.cents, carrier: 'demo-post' });
    },
  });
  server.bindAsync(`${HOST}:${PORT}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      process.stderr.write(`shipping: cannot listen on ${HOST}:${PORT}: ${err.message}\n`);
      process.exit(1);
    }
    if (process.env.DEMO_VERBOSE === '1') process.stderr.write(`shipping listening on grpc://${HOST}:${PORT}\n`);
  });
  const parent = process.ppid;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(tick);
    // Calls in flight finish first (tryShutdown); after 1 s the rest are cut.
    const finish = () => {
      counters.write(true);
      process.exit(0);
    };
    const deadline = setTimeout(() => { server.forceShutdown(); finish(); }, 1000);
    server.tryShutdown(() => { clearTimeout(deadline); finish(); });
  };
  // Every second: refresh the state file, and exit if whoever started us has
  // died (re-parented), like the other services (common.mjs serve()).
  const tick = setInterval(() => {
    counters.write();
    if (process.ppid !== parent) stop();
  }, 1000);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  counters.write();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
