// A client of the shipping gRPC service for the Node demo services
// (frontend would call it on checkout). One channel (one HTTP/2
// connection) is reused for every call; the W3C trace context goes as
// `traceparent` metadata, which is an HTTP/2 header on the wire.
//   const quote = await quoteShipping(counters, { item, quantity: 1, traceparent });
// Resolves { code, cents } (code 0 = OK) and counts the outcome under 'shipping'.

import grpc from '@grpc/grpc-js';
import { HOST, envPort } from './common.mjs';
import { loadShipping } from './shipping.mjs';

let client;

export function quoteShipping(counters, { item, quantity = 1, traceparent, headers = {}, timeoutMs = 5000 }) {
  client ??= new (loadShipping())(`${HOST}:${envPort('SHIPPING_PORT', 18086)}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (traceparent) metadata.set('traceparent', traceparent);
  for (const [k, v] of Object.entries(headers)) metadata.set(k, String(v));
  return new Promise((resolve) => {
    client.Quote({ item, quantity }, metadata, { deadline: Date.now() + timeoutMs }, (err, reply) => {
      const code = err ? err.code : grpc.status.OK;
      counters.countOutbound('shipping', code);
      resolve({ code, cents: reply?.cents ?? null });
    });
  });
}

export function closeShipping() {
  client?.close();
  client = undefined;
}
