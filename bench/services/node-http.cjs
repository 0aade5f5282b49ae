// The benchmarked Node.js service: stdlib http, a small JSON response, no
// framework, so any cost measured is the tracer's and not the app's.
// CommonJS on purpose: the OpenTelemetry http instrumentation patches
// `require('http')`, which is how most instrumented services load it.
'use strict';
const http = require('node:http');

const port = Number(process.argv[2]);
const body = JSON.stringify({ id: 42, sku: 'ABC-1234', inStock: true, quantity: 17, warehouse: 'eu-west' });

http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
