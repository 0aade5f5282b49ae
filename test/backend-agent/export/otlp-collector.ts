/**
 * A stand-in OpenTelemetry collector for tests: a real HTTP server on
 * loopback (ports 19450-19499) that accepts `POST /v1/traces`, un-gzips,
 * and decodes the body with the official OTLP .proto files
 * (opentelemetry-proto, as shipped in the npm package
 * @opentelemetry/otlp-grpc-exporter-base@0.38.0, Apache-2.0) through
 * protobufjs. Answers are scripted per request (status, Retry-After, or
 * hang until released).
 */
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const PROTO_ROOT = path.join(path.dirname(require.resolve('@opentelemetry/otlp-grpc-exporter-base/package.json')), 'build', 'protos');
const SERVICE_PROTO = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';

let requestType: protobuf.Type | undefined;

/** The official ExportTraceServiceRequest type, loaded once from the .proto files. */
export function exportTraceServiceRequest(): protobuf.Type {
  if (requestType) return requestType;
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => (path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
  root.loadSync(SERVICE_PROTO, { keepCase: false });
  requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  return requestType;
}

// Decoded shapes (protobufjs toObject with bytes as hex, longs as strings, enums as names).
export type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string; doubleValue?: number };
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
export interface OtlpLink {
  traceId: string;
  spanId: string;
  attributes?: KeyValue[];
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  links?: OtlpLink[];
  status?: { code?: string; message?: string };
}
export interface ScopeSpans {
  scope?: { name?: string; version?: string };
  spans?: OtlpSpan[];
}
export interface ResourceSpans {
  resource?: { attributes?: KeyValue[] };
  scopeSpans?: ScopeSpans[];
}
export interface ExportRequest {
  resourceSpans?: ResourceSpans[];
}

export function decodeRequest(body: Uint8Array): ExportRequest {
  const type = exportTraceServiceRequest();
  const message = type.decode(body);
  const obj = type.toObject(message, { longs: String, enums: String, bytes: String, defaults: false, arrays: true, oneofs: false });
  return hexIds(obj) as ExportRequest;
}

/** protobufjs renders bytes as base64: ids read better (and compare to our model) as hex. */
function hexIds(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => hexIds(v, key));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = hexIds(v, k);
    return out;
  }
  if (typeof value === 'string' && (key === 'traceId' || key === 'spanId' || key === 'parentSpanId')) return Buffer.from(value, 'base64').toString('hex');
  return value;
}

/** Attribute value as a plain JS value (int64 as number). */
export function attrValue(v: AnyValue | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return undefined;
}

export function attrs(list: KeyValue[] | undefined): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const kv of list ?? []) out[kv.key] = attrValue(kv.value);
  return out;
}

export interface ReceivedRequest {
  atMs: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** After Content-Encoding is undone. */
  body: Buffer;
  decoded?: ExportRequest;
  decodeError?: string;
}

export interface Answer {
  status: number;
  retryAfter?: string;
  /** Hold the answer until release() is called. */
  hang?: boolean;
}

export class TestCollector {
  readonly requests: ReceivedRequest[] = [];
  /** Answers in order; when empty, 200. */
  readonly script: Answer[] = [];
  private readonly server: http.Server;
  private readonly held: Array<() => void> = [];
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const rec: ReceivedRequest = { atMs: Date.now(), method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
        try {
          rec.decoded = decodeRequest(body);
        } catch (err) {
          rec.decodeError = err instanceof Error ? err.message : String(err);
        }
        this.requests.push(rec);
        const answer = this.script.shift() ?? { status: 200 };
        const respond = (): void => {
          const headers: Record<string, string> = { 'Content-Type': 'application/x-protobuf' };
          if (answer.retryAfter !== undefined) headers['Retry-After'] = answer.retryAfter;
          // An empty ExportTraceServiceResponse encodes as zero bytes.
          res.writeHead(answer.status, headers).end();
        };
        if (answer.hang) this.held.push(respond);
        else respond();
      });
    });
  }

  /** Listens on the first free port from `from` up to 19499. */
  async start(from = 19450): Promise<this> {
    for (let port = from; port <= 19499; port++) {
      const ok = await new Promise<boolean>((resolve) => {
        const onError = (): void => resolve(false);
        this.server.once('error', onError);
        this.server.listen(port, '127.0.0.1', () => {
          this.server.off('error', onError);
          resolve(true);
        });
      });
      if (ok) {
        this.port = port;
        return this;
      }
    }
    throw new Error('no free port in 19450-19499');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Every span received, with its resource and scope. */
  spans(): Array<{ span: OtlpSpan; resource: Record<string, string | number | boolean | undefined>; scope: ScopeSpans['scope'] }> {
    const out: Array<{ span: OtlpSpan; resource: Record<string, string | number | boolean | undefined>; scope: ScopeSpans['scope'] }> = [];
    for (const r of this.requests) {
      for (const rs of r.decoded?.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) out.push({ span, resource, scope: ss.scope });
      }
    }
    return out;
  }

  release(): void {
    for (const respond of this.held.splice(0)) respond();
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function until(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!fn()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
