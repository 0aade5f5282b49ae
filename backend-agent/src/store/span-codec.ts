/**
 * Compact, lossless text encoding of a Span for the `span_json` column.
 *
 * Why: a span as plain JSON is ~1.7 KB, mostly key names (`"http.response.body.size":`)
 * and the same nested shapes every time; serialising it and writing it was
 * over half of the store's cost per span. Encoded, the fixed fields are a
 * JSON array in a fixed order (no key names), attributes a flat key/value
 * array, and attribute keys from a fixed dictionary short codes. It is still
 * JSON, so SQLite's json_each can search attributes (span-filter.ts).
 *
 * Layout (version 1):
 *   [1, traceId, spanId, kind, name, service, peerService, peerLocal, startTimeUs,
 *    durationNs, status, traceIdSource, threadId, process[], network[], attributes[], rest{}|0]
 *   process = [pid, serviceName, serviceNameSource, executableName, hostName, rest{}|0]
 *   network = [connectionId, exchangeIndex, localAddress, localPort, remoteAddress, remotePort,
 *              requestBytes, responseBytes, requestTransferNs, responseTransferNs, truncated, captureSource, rest{}|0]
 * `rest` holds every other key as plain JSON (optional fields such as
 * parentSpanId, traceContext, and fields added to the model later), so
 * nothing is lost when the model grows. Rows written before this encoding
 * are plain JSON objects and are read as such (they start with `{`).
 */
import type { AttributeValue, Attributes, NetworkInfo, ProcessInfo, Span } from '../model/span.js';

const VERSION = 1;

/**
 * Attribute keys stored as `~<index>`. Append only: the index is on disk.
 * A real key starting with `~` is stored with one more `~` in front.
 */
const ATTRIBUTE_KEYS: readonly string[] = [
  'network.transport', 'network.type', 'process.pid', 'process.executable.name', 'thread.id',
  'http.request.method', 'url.path', 'url.scheme', 'network.protocol.name', 'network.protocol.version',
  'http.request.body.size', 'http.request.size', 'url.query', 'server.address', 'http.response.status_code',
  'http.response.body.size', 'http.response.size', 'user_agent.original', 'server.port', 'network.peer.address',
  'network.peer.port', 'network.local.address', 'network.local.port', 'client.address', 'client.port',
  'http.request.header.x-request-id', 'http.request.header.x-correlation-id', 'http.request.header.request-id',
  'container.id', 'error.type', 'http.route', 'rpc.system', 'rpc.service', 'rpc.method', 'rpc.grpc.status_code',
  'network.stream.id', 'db.system.name', 'db.namespace', 'db.collection.name', 'db.operation.name', 'db.query.text',
  'db.response.status_code', 'db.response.returned_rows',
];

const CODE_OF = new Map(ATTRIBUTE_KEYS.map((k, i) => [k, `~${i}`]));

/** The stored form of an attribute key (also used to search attributes in SQL). */
export function encodeAttributeKey(key: string): string {
  const code = CODE_OF.get(key);
  if (code !== undefined) return code;
  return key.startsWith('~') ? `~${key}` : key;
}

function decodeAttributeKey(stored: string): string {
  if (!stored.startsWith('~')) return stored;
  if (stored.startsWith('~~')) return stored.slice(1);
  return ATTRIBUTE_KEYS[Number(stored.slice(1))] ?? stored;
}

/** Attributes as a flat [key, value, key, value, ...] array: cheaper to build than an object with new keys. */
function encodeAttributes(attrs: Attributes): AttributeValue[] {
  const out: AttributeValue[] = [];
  for (const key in attrs) out.push(encodeAttributeKey(key), attrs[key]!);
  return out;
}

function decodeAttributes(stored: AttributeValue[]): Attributes {
  const out: Attributes = {};
  for (let i = 0; i + 1 < stored.length; i += 2) out[decodeAttributeKey(String(stored[i]))] = stored[i + 1]!;
  return out;
}

/** Keys written positionally; anything else goes to `rest`. */
const SPAN_FIXED = new Set([
  'traceId', 'spanId', 'kind', 'name', 'service', 'peerService', 'peerLocal', 'startTimeUs', 'durationNs', 'status',
  'traceIdSource', 'threadId', 'process', 'network', 'attributes',
]);
const PROCESS_FIXED = new Set(['pid', 'serviceName', 'serviceNameSource', 'executableName', 'hostName']);
const NETWORK_FIXED = new Set([
  'connectionId', 'exchangeIndex', 'local', 'remote', 'requestBytes', 'responseBytes', 'requestTransferNs',
  'responseTransferNs', 'truncated', 'captureSource',
]);

/** The keys of `obj` not in `fixed`, or 0 when there are none (JSON drops undefined values, as before). */
function rest(obj: object, fixed: ReadonlySet<string>): Record<string, unknown> | 0 {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    if (fixed.has(key)) continue;
    const value = (obj as Record<string, unknown>)[key];
    if (value === undefined) continue;
    (out ??= {})[key] = value;
  }
  return out ?? 0;
}

export function encodeSpan(s: Span): string {
  const p = s.process;
  const n = s.network;
  return JSON.stringify([
    VERSION, s.traceId, s.spanId, s.kind, s.name, s.service, s.peerService, s.peerLocal, s.startTimeUs,
    s.durationNs, s.status, s.traceIdSource, s.threadId,
    [p.pid, p.serviceName, p.serviceNameSource, p.executableName, p.hostName, rest(p, PROCESS_FIXED)],
    [
      n.connectionId, n.exchangeIndex, n.local.address, n.local.port, n.remote.address, n.remote.port, n.requestBytes,
      n.responseBytes, n.requestTransferNs, n.responseTransferNs, n.truncated, n.captureSource, rest(n, NETWORK_FIXED),
    ],
    encodeAttributes(s.attributes),
    rest(s, SPAN_FIXED),
  ]);
}

/** Index of the attributes array in the encoded array (span-filter.ts searches it). */
export const ENCODED_ATTRIBUTES_INDEX = 15;

type Encoded = [
  number, string, string, Span['kind'], string, string, string, boolean, number, number, Span['status'],
  Span['traceIdSource'], number, unknown[], unknown[], AttributeValue[], Record<string, unknown> | 0,
];

export function decodeSpan(text: string): Span {
  if (text.charCodeAt(0) !== 0x5b /* [ */) return JSON.parse(text) as Span; // a row from before this encoding
  const e = JSON.parse(text) as Encoded;
  const p = e[13] as [number, string, ProcessInfo['serviceNameSource'], string, string, Record<string, unknown> | 0];
  const n = e[14] as [
    string, number, string, number, string, number, number, number, number, number, boolean, NetworkInfo['captureSource'],
    Record<string, unknown> | 0,
  ];
  const process: ProcessInfo = {
    pid: p[0], serviceName: p[1], serviceNameSource: p[2], executableName: p[3], hostName: p[4],
    ...(p[5] || {}),
  };
  const network: NetworkInfo = {
    connectionId: n[0], exchangeIndex: n[1], local: { address: n[2], port: n[3] }, remote: { address: n[4], port: n[5] },
    requestBytes: n[6], responseBytes: n[7], requestTransferNs: n[8], responseTransferNs: n[9], truncated: n[10],
    captureSource: n[11], ...(n[12] || {}),
  };
  return {
    traceId: e[1], spanId: e[2], kind: e[3], name: e[4], service: e[5], peerService: e[6], peerLocal: e[7],
    startTimeUs: e[8], durationNs: e[9], status: e[10], traceIdSource: e[11], threadId: e[12],
    process, network, attributes: decodeAttributes(e[15]), ...(e[16] || {}),
  };
}
