/**
 * OTLP export to an https endpoint: a real TLS server on loopback with a
 * certificate made for the test (openssl). The certificate is verified: an
 * untrusted one fails the export; trusted, the spans arrive and decode with
 * the official protos.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { OtlpExporter } from '../../../backend-agent/src/export/otlp/index.js';
import { createLogger } from '../../../backend-agent/src/util/log.js';
import { makeSpan, spanIdOf } from '../fixtures/spans.js';
import { decodeRequest, until, type ExportRequest } from './otlp-collector.js';

const quiet = createLogger('error', () => {});
let dir: string;
let cert: string;
let server: https.Server;
const received: ExportRequest[] = [];
const PORT = 19480;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-otlp-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(decodeRequest(Buffer.concat(chunks)));
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', () => resolve()));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an untrusted certificate fails the export (TLS is verified)', async () => {
  const ex = new OtlpExporter({ endpoint: `https://127.0.0.1:${PORT}`, log: quiet, flushIntervalMs: 20, maxAttempts: 1 });
  ex.add([makeSpan({ spanId: spanIdOf(0x9001) })]);
  await until('failed', () => ex.health().spansFailed === 1);
  assert.match(ex.health().lastError ?? '', /self.signed|certificate/i);
  assert.equal(received.length, 0);
  await ex.shutdown(100);
});

test('a trusted certificate: spans arrive over https and decode', async () => {
  const ex = new OtlpExporter({ endpoint: `https://127.0.0.1:${PORT}`, log: quiet, flushIntervalMs: 20, ca: cert });
  ex.add([makeSpan({ spanId: spanIdOf(0x9002) }), makeSpan({ spanId: spanIdOf(0x9003) })]);
  await until('exported', () => ex.health().spansExported === 2);
  await ex.shutdown(100);
  const spans = received.flatMap((r) => r.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans ?? []).flatMap((ss) => ss.spans ?? []);
  assert.deepEqual(spans.map((s) => s.spanId).sort(), [spanIdOf(0x9002), spanIdOf(0x9003)]);
});
