/**
 * Real TLS peers for the TLS capture tests (test/bpf/loader.test.ts,
 * test/integration/tls.test.ts): a self-signed certificate made at test time
 * with `openssl req`, a Python `http.server` wrapped with `ssl` (system
 * libssl), node's `https` (OpenSSL linked into /usr/bin/node) as server and
 * client, curl, and a statically linked, stripped OpenSSL client built with
 * gcc whose TLS the probes cannot see. Nothing here fakes the system under test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Cert {
  cert: string;
  key: string;
}

/** Why TLS peers cannot be made here (a prerequisite truly absent), or undefined. */
export function tlsToolsMissing(): string | undefined {
  for (const tool of ['openssl', 'curl', 'python3']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (scripts/setup.sh installs it)`;
  }
  return undefined;
}

export function makeCert(dir: string): Cert {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { cert, key };
}

/** Keep-alive HTTPS/1.1 server on the system libssl: 200 with a body naming the path, 404 for /missing. */
export const PY_TLS_SERVER = String.raw`
import os, ssl, sys
from http.server import HTTPServer, BaseHTTPRequestHandler

class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def do_GET(self):
        status = 404 if self.path.startswith('/missing') else 200
        body = ('tls-hello ' + self.path + '\n').encode()
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

srv = HTTPServer(('127.0.0.1', int(sys.argv[3])), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(os.getpid(), srv.server_address[1], flush=True)
srv.serve_forever()
`;

/** node's https server (OpenSSL inside /usr/bin/node): argv cert key port. */
export const NODE_TLS_SERVER = `
import https from 'node:https';
import fs from 'node:fs';
const [cert, key, port] = process.argv.slice(1);
const srv = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  res.statusCode = req.url.startsWith('/missing') ? 404 : 200;
  res.end('node-tls ' + req.url + '\\n');
});
srv.listen(Number(port), '127.0.0.1', () => console.log(process.pid, srv.address().port));
`;

/**
 * node's https client: argv ca port traceId path...; one keep-alive
 * connection, requests in order, prints each status. Request i carries
 * traceparent 00-traceId-<i+1 as 16 hex digits>-01: each call its own span id,
 * as an instrumented caller would send.
 */
export const NODE_TLS_CLIENT = `
import https from 'node:https';
import fs from 'node:fs';
const [ca, port, traceId, ...paths] = process.argv.slice(1);
const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fs.readFileSync(ca) });
for (const [i, p] of paths.entries()) {
  const traceparent = '00-' + traceId + '-' + (i + 1).toString(16).padStart(16, '0') + '-01';
  const status = await new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: Number(port), path: p, agent, headers: { traceparent } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
  console.log(status);
}
agent.destroy();
// Linger a moment: the agent names a process from /proc when it handles its first event.
await new Promise((r) => setTimeout(r, 500));
`;

export interface LineProcess {
  proc: ChildProcess;
  /** The fields of the first stdout line (pid and port for the servers here). */
  fields: string[];
}

/** Starts a long-running peer and waits for its first stdout line. */
export function startPeer(cmd: string, args: string[], env: Record<string, string> = {}): Promise<LineProcess> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${err}`)), 20_000);
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ proc, fields: out.slice(0, nl).trim().split(/\s+/) });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code}: ${err}`));
    });
  });
}

export interface Finished {
  code: number | null;
  pid: number;
  stdout: string;
  stderr: string;
}

/** Runs a short-lived client to completion. */
export function runClient(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Finished> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('exit', (code) => resolve({ code, pid: proc.pid ?? 0, stdout, stderr }));
  });
}

/** A TLS client with OpenSSL linked in statically and stripped: no SSL_write to probe. */
const STATIC_CLIENT_C = String.raw`
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	const char *req = "GET /static HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char buf[4096];
	int s = socket(AF_INET, SOCK_STREAM, 0), n;

	if (argc < 2)
		return 1;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
		return 1;
	SSL_set_fd(ssl, s);
	if (SSL_connect(ssl) != 1 || SSL_write(ssl, req, strlen(req)) <= 0)
		return 2;
	while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	printf("\ndone %d\n", getpid());
	fflush(stdout);
	pause(); /* stays alive to be listed; the test kills it */
	return 0;
}
`;

/** Builds the static client into dir; returns its path, or why it cannot be built here. */
export function buildStaticTlsClient(dir: string): { path: string } | { missing: string } {
  if (spawnSync('sh', ['-c', 'command -v gcc']).status !== 0) return { missing: 'gcc is not installed' };
  const archives = ['/usr/lib/x86_64-linux-gnu/libssl.a', '/usr/lib/aarch64-linux-gnu/libssl.a', '/usr/lib/libssl.a'];
  if (!archives.some((a) => existsSync(a))) return { missing: 'libssl-dev (static libssl.a) is not installed' };
  const src = path.join(dir, 'static-tls-client.c');
  const bin = path.join(dir, 'static-tls-client');
  writeFileSync(src, STATIC_CLIENT_C);
  const r = spawnSync('gcc', ['-O1', '-static', '-s', '-o', bin, src, '-lssl', '-lcrypto', '-lpthread'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building the static TLS client failed: ${r.stderr}`);
  return { path: bin };
}

/**
 * A plain-HTTP node server whose handler calls an HTTPS upstream at once:
 * argv ca listenPort upstreamPort. The TLS client connection starts right
 * after a plain socket read on the same thread, the case where guessing an
 * SSL*'s socket from the last read could go wrong (bpf/README.md, "TLS").
 */
export const NODE_HTTP_TO_HTTPS_GATEWAY = `
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
const [ca, port, upstream] = process.argv.slice(1);
const caPem = fs.readFileSync(ca);
const srv = http.createServer((req, res) => {
  https.get({ host: '127.0.0.1', port: Number(upstream), path: '/up' + req.url, ca: caPem, agent: false }, (up) => {
    let body = '';
    up.on('data', (d) => (body += d));
    up.on('end', () => res.end('gw:' + up.statusCode + ':' + body));
  }).on('error', (e) => { res.statusCode = 502; res.end(String(e)); });
});
srv.listen(Number(port), '127.0.0.1', () => console.log(process.pid, srv.address().port));
`;

/** Plain TCP echo server that answers "ping" with "pong": argv port. */
export const PY_PLAIN_PONG_SERVER = String.raw`
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen()
print(os.getpid(), sys.argv[1], flush=True)
while True:
    c, _ = s.accept()
    while True:
        d = c.recv(100)
        if not d:
            break
        c.sendall(d.replace(b'ping', b'pong'))
    c.close()
`;

/**
 * A memory-BIO TLS client (Python's ssl.SSLObject: SSL_read_ex/SSL_write_ex
 * with no syscall inside, like node) that, on the same thread, reads a plain
 * socket right before its SSL calls: argv ca tlsPort plainPort. The plain
 * reads are what the kernel's "which socket fed this SSL call" guess must not
 * take. Prints the TLS response's status line.
 */
export const PY_MEMBIO_CLIENT_WITH_PLAIN_READS = String.raw`
import socket, ssl, sys
ca, tls_port, plain_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = socket.create_connection(('127.0.0.1', plain_port))
t = socket.create_connection(('127.0.0.1', tls_port))
ctx = ssl.create_default_context(cafile=ca)
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname='127.0.0.1')

def ping(n):
    p.sendall(b'ping-%d\n' % n)
    want = b'pong-%d\n' % n
    got = b''
    while len(got) < len(want):
        got += p.recv(100)
    assert got == want, got

def flush():
    data = out.read()
    if data:
        t.sendall(data)

def feed():
    data = t.recv(65536)
    if not data:
        raise EOFError('TLS peer closed')
    inc.write(data)

# The SSL*'s first SSL_read, fed by nothing, right after a plain read.
ping(1)
try:
    obj.read(10)
except ssl.SSLWantReadError:
    pass
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        feed()
flush()
# The request's SSL_write, right after another plain read.
ping(2)
obj.write(b'GET /membio HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
flush()
ping(3)
resp = b''
while b'tls-hello /membio' not in resp:
    feed()
    while True:
        try:
            resp += obj.read(65536)
        except ssl.SSLWantReadError:
            break
print(resp.split(b'\r\n')[0].decode(), flush=True)
p.close()
t.close()
`;
