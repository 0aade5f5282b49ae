// The panel preview server: a page on localhost that renders our BUILT panel
// plugins (dist/panels/<name>/module.js, loaded as Grafana loads them) with
// live data from a running agent, for people without Grafana and for the
// browser tests.
//
//   npm run build:plugin                 # builds dist/ (the panels under test)
//   node preview/server.mjs --agent http://127.0.0.1:9797 --port 3300
//   open http://127.0.0.1:3300/?panel=servicemap&theme=dark
//
// Routes: /            the page (query: panel, theme=light|dark, from, to (Unix ms), query=<query type>, traceId, opt.<option>=value,
//                      synthetic=trace:5000 or graph:200:1000 for generated data at scale)
//         /preview/host.js  the host bundle (preview/build.mjs; rebuilt on start when missing or older than its sources)
//         /dist/...    the built plugins
//         /agent/...   GET proxy to the agent (same origin, like Grafana's data-source proxy)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const HOST_JS = path.join(ROOT, 'preview', 'build', 'host.js');

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>wiretrace panel preview</title>
<style>html,body{margin:0;padding:0}</style></head>
<body><div id="root"></div><script src="/preview/host.js"></script></body>
</html>
`;

const TYPES = { '.js': 'text/javascript', '.json': 'application/json', '.svg': 'image/svg+xml', '.map': 'application/json', '.md': 'text/markdown' };

function parseArgs(argv) {
  const out = { agent: 'http://127.0.0.1:9797', port: 3300, host: '127.0.0.1', rebuild: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--agent') out.agent = argv[++i];
    else if (a === '--port') out.port = Number(argv[++i]);
    else if (a === '--host') out.host = argv[++i];
    else if (a === '--rebuild') out.rebuild = true;
    else throw new Error(`unknown argument ${a} (use --agent URL --port N [--host H] [--rebuild])`);
  }
  return out;
}

function sendFile(res, file) {
  fs.readFile(file, (err, body) => {
    if (err) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path.relative(ROOT, file)}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
  });
}

function proxy(agentUrl, req, res) {
  const target = new URL(req.url.slice('/agent'.length) || '/', agentUrl);
  // One connection per request: a pooled socket the agent closed as idle would fail at random.
  const up = http.get(target, { agent: false, headers: { accept: 'application/json' } }, (ar) => {
    res.writeHead(ar.statusCode ?? 502, { 'content-type': ar.headers['content-type'] ?? 'application/json' });
    ar.pipe(res);
  });
  up.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `agent ${agentUrl} unreachable: ${err.message}` }));
  });
}

/** Newest mtime under `dir` (ms): the host bundle embeds src/preview and the data source's query code. */
function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function hostStale() {
  if (!fs.existsSync(HOST_JS)) return true;
  const built = fs.statSync(HOST_JS).mtimeMs;
  return newest(path.join(ROOT, 'src', 'preview')) > built || newest(path.join(ROOT, 'src', 'datasource')) > built;
}

export async function startPreviewServer({ agent, port, host = '127.0.0.1', rebuild = false }) {
  if (rebuild || hostStale()) {
    const { buildHost } = await import('./build.mjs');
    await buildHost();
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://preview');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    if (url.pathname === '/' || url.pathname === '/index.html') {
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    }
    if (url.pathname === '/preview/host.js') return sendFile(res, HOST_JS);
    if (url.pathname.startsWith('/dist/')) {
      const file = path.resolve(DIST, `.${decodeURIComponent(url.pathname.slice('/dist'.length))}`);
      if (!file.startsWith(DIST + path.sep)) return void res.writeHead(403).end();
      return sendFile(res, file);
    }
    if (url.pathname.startsWith('/agent/')) return proxy(agent, req, res);
    // Paths the panel navigates to (edge links) land back on the page, as in Grafana's single-page app.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  return { server, url: `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}/` };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(DIST, 'panels', 'servicemap', 'module.js'))) {
    process.stderr.write('warning: dist/panels/servicemap/module.js is missing; run npm run build:plugin\n');
  }
  const { url } = await startPreviewServer(args);
  process.stdout.write(`wiretrace panel preview: ${url}?panel=servicemap (agent ${args.agent})\n`);
}
