// Real HTTP/2 peers for the HTTP/2 and gRPC integration tests and the
// fixture recorder: node's http2 (h2c, and h2 over TLS) and @grpc/grpc-js.
//   node test/integration/http2-peers.mjs h2-server PORT [--tls KEY CERT]
//   node test/integration/http2-peers.mjs h2-client PORT [--tls]
//   node test/integration/http2-peers.mjs grpc-server PORT
//   node test/integration/http2-peers.mjs grpc-client PORT
//   node test/integration/http2-peers.mjs grpc-client-large PORT
// Servers print "listening" when ready; clients print one JSON line saying
// what they sent and got, so tests compare spans with it.
import http2 from 'node:http2';
import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const [mode, portArg, ...rest] = process.argv.slice(2);
const port = Number(portArg);
const here = path.dirname(fileURLToPath(import.meta.url));
export const FAIL_MESSAGE = 'no greeting for "ghost" (ünïcode ok)';

function traceparent() {
  const traceId = crypto.randomBytes(16).toString('hex');
  const spanId = crypto.randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

function loadGreeter() {
  const def = protoLoader.loadSync(path.join(here, 'http2-peers.proto'), { keepCase: true });
  return grpc.loadPackageDefinition(def).wiretrace.test.Greeter;
}

async function h2Server() {
  const tls = rest[0] === '--tls';
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/hello') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`hello ${url.searchParams.get('name') ?? 'you'}`);
      } else if (url.pathname === '/echo') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.concat(chunks));
      } else {
        res.writeHead(404);
        res.end('not found');
      }
    });
  };
  const server = tls
    ? http2.createSecureServer({ key: fs.readFileSync(rest[1]), cert: fs.readFileSync(rest[2]) }, handler)
    : http2.createServer(handler);
  server.listen(port, '127.0.0.1', () => console.log('listening'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function h2Request(session, headers, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, body === undefined ? { endStream: true } : {});
    let status;
    let size = 0;
    req.on('response', (h) => (status = h[':status']));
    req.on('data', (c) => (size += c.length));
    req.on('end', () => resolve({ status, size }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

async function h2Client() {
  const tls = rest[0] === '--tls';
  const session = http2.connect(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`, tls ? { rejectUnauthorized: false } : {});
  const calls = [
    { method: 'GET', path: '/hello?name=wire', tp: traceparent() },
    { method: 'POST', path: '/echo', tp: traceparent(), body: Buffer.alloc(3000, 0x61) },
    { method: 'GET', path: '/missing', tp: traceparent() },
  ];
  // All three at once: their streams interleave on the one connection.
  const results = await Promise.all(
    calls.map((c) => h2Request(session, { ':method': c.method, ':path': c.path, traceparent: c.tp.header, 'user-agent': 'wiretrace-h2-test' }, c.body)),
  );
  session.close();
  console.log(JSON.stringify(calls.map((c, i) => ({ method: c.method, path: c.path, traceId: c.tp.traceId, spanId: c.tp.spanId, status: results[i].status, bodyBytes: c.body?.length ?? 0 }))));
}

function grpcServer() {
  const server = new grpc.Server();
  server.addService(loadGreeter().service, {
    SayHello: (call, cb) => cb(null, { message: `hello ${call.request.name}` }),
    Fail: (_call, cb) => cb({ code: grpc.status.NOT_FOUND, details: FAIL_MESSAGE }),
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
    console.log('listening');
  });
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}

/** A request name larger than the loader's 4 KiB capture, both ways (the reply echoes it). */
const LARGE_NAME_BYTES = 64 * 1024;

async function grpcClient(large = false) {
  const Greeter = loadGreeter();
  const client = new Greeter(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const calls = [
    ...(large ? [{ method: 'SayHello', name: 'x'.repeat(LARGE_NAME_BYTES) }] : []),
    { method: 'SayHello', name: 'ada' },
    { method: 'SayHello', name: 'grace' },
    { method: 'Fail', name: 'ghost' },
    { method: 'SayHello', name: 'linus' },
  ];
  const results = [];
  for (const c of calls) {
    const tp = traceparent();
    const md = new grpc.Metadata();
    md.set('traceparent', tp.header);
    const code = await new Promise((resolve) => {
      client[c.method]({ name: c.name }, md, (err) => resolve(err ? err.code : 0));
    });
    results.push({ method: c.method, traceId: tp.traceId, spanId: tp.spanId, code });
  }
  client.close();
  console.log(JSON.stringify(results));
}

// The agent names a process from /proc when it first sees its connection;
// a client gone before that is named only by its comm ("node"). On a loaded
// machine the agent can be that far behind a client that lives only as long
// as its calls, so every client mode lingers.
const linger = () => new Promise((r) => setTimeout(r, 1500));

const servers = {
  'h2-server': h2Server,
  'grpc-server': grpcServer,
};
const clients = {
  'h2-client': h2Client,
  'grpc-client': () => grpcClient(),
  // One 64 KiB call first, then the small ones, all on one channel.
  'grpc-client-large': () => grpcClient(true),
};
if (servers[mode]) {
  await servers[mode]();
} else if (clients[mode]) {
  await clients[mode]();
  await linger();
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
