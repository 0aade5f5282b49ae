/**
 * Agent configuration from command-line flags and environment variables.
 * Every flag has an environment twin (WIRETRACE_<NAME>); a flag wins over its
 * variable. Parsing is pure so it is tested without starting anything.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SamplingPolicyConfig, ServiceSampling } from './sampling/policy.js';
import { RedactPatternError, compileRedactPattern, type RedactionConfig } from './context/redact.js';
import { DEFAULT_HEAP_GROWTH_PERCENT } from './heap-growth.js';

export interface CaptureFilters {
  pids: number[];
  excludePids: number[];
  ports: number[];
  excludePorts: number[];
  cgroups: string[];
}

export interface AgentConfig {
  dbPath: string;
  listenHost: string;
  listenPort: number;
  token?: string;
  capture: boolean;
  /** A recorded loader stream to ingest instead of live capture. */
  replayPath?: string;
  /** A named pipe a separately started loader writes into (live capture without privilege). */
  capturePipe?: string;
  loaderPath: string;
  btfPath: string;
  maxPayload: number;
  /** OpenSSL plaintext probes (uprobes) and TLS library discovery in the loader. */
  tls: boolean;
  filters: CaptureFilters;
  retentionMaxAgeMs: number;
  retentionMaxSizeBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Request headers stored verbatim as `http.request.header.<name>` (evaluation; never used for linking). */
  recordHeaders?: string[];
  /** The node's name on spans (`host.name`); default the kernel's host name. */
  hostName?: string;
  /** What is redacted before storage, beyond (or, with --redact-defaults off, instead of) the built-in rules. */
  redaction: Required<Pick<RedactionConfig, 'extraHeaders' | 'extraQueryKeys' | 'patterns' | 'defaults'>>;
  /** OTLP/HTTP protobuf export (off unless --otlp-endpoint). */
  otlp?: OtlpConfig;
  /** Sampling (absent: every trace is kept). */
  sampling?: SamplingPolicyConfig;
  /** How long spans wait for their trace's decision when sampling or exporting, ms. */
  traceWindowMs: number;
  /** Scheduling niceness of the agent and its loader, 0..19: higher yields more CPU to the traced workloads. */
  nice: number;
  /** V8 old-generation growth past its live size before a full GC, above a 64 MiB floor, percent; 0 leaves V8's own sizing (heap-growth.ts). */
  heapGrowthPercent: number;
}

export interface OtlpConfig {
  endpoint: string;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  batchSize: number;
  queueSize: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type ParseResult = { kind: 'run'; config: AgentConfig } | { kind: 'help' } | { kind: 'version' };

interface FlagSpec {
  flag: string;
  env: string;
  arg?: string;
  help: string;
  repeatable?: boolean;
  /** How the environment twin of a repeatable flag separates values (default ','; regular expressions contain commas). */
  envSeparator?: 'newline';
}

const FLAGS: FlagSpec[] = [
  { flag: 'db', env: 'WIRETRACE_DB', arg: 'PATH', help: 'SQLite span store file (default ./wiretrace.db)' },
  { flag: 'listen', env: 'WIRETRACE_LISTEN', arg: 'HOST:PORT', help: 'API address (default 127.0.0.1:9797; loopback unless told otherwise)' },
  { flag: 'token', env: 'WIRETRACE_TOKEN', arg: 'TOKEN', help: 'require "Authorization: Bearer TOKEN" on every endpoint but /api/health' },
  { flag: 'capture', env: 'WIRETRACE_CAPTURE', arg: 'on|off', help: 'run eBPF capture (default on; off serves the store only)' },
  { flag: 'capture-pipe', env: 'WIRETRACE_CAPTURE_PIPE', arg: 'FIFO', help: 'read live capture from a loader started separately (wiretrace-loader > FIFO); the agent then needs no privilege' },
  { flag: 'replay', env: 'WIRETRACE_REPLAY', arg: 'FILE', help: 'ingest a recorded loader stream (docs/FRAMING.md) instead of live capture' },
  { flag: 'loader', env: 'WIRETRACE_LOADER', arg: 'PATH', help: 'eBPF loader binary (default bpf/wiretrace-loader of this install)' },
  { flag: 'max-payload', env: 'WIRETRACE_MAX_PAYLOAD', arg: 'BYTES', help: 'payload prefix captured per syscall, 64..16384 (default 4096)' },
  { flag: 'tls', env: 'WIRETRACE_TLS', arg: 'on|off', help: 'capture TLS plaintext with OpenSSL uprobes (default on)' },
  { flag: 'pid', env: 'WIRETRACE_PIDS', arg: 'PID', help: 'capture only these processes (repeatable; env: comma-separated)', repeatable: true },
  { flag: 'exclude-pid', env: 'WIRETRACE_EXCLUDE_PIDS', arg: 'PID', help: 'never capture these processes (the agent itself is always excluded)', repeatable: true },
  { flag: 'port', env: 'WIRETRACE_PORTS', arg: 'PORT', help: 'capture only connections with this local or remote port (repeatable)', repeatable: true },
  { flag: 'exclude-port', env: 'WIRETRACE_EXCLUDE_PORTS', arg: 'PORT', help: 'never capture this port (the API port is always excluded)', repeatable: true },
  { flag: 'cgroup', env: 'WIRETRACE_CGROUPS', arg: 'PATH', help: 'capture only processes in this cgroup v2 directory (repeatable)', repeatable: true },
  { flag: 'retention-age', env: 'WIRETRACE_RETENTION_AGE', arg: 'DURATION', help: 'delete spans older than this, e.g. 30m, 24h, 7d (default 24h)' },
  { flag: 'retention-size', env: 'WIRETRACE_RETENTION_SIZE', arg: 'SIZE', help: 'keep the store under this size, e.g. 500MB, 2GiB (default 1GiB)' },
  { flag: 'record-header', env: 'WIRETRACE_RECORD_HEADERS', arg: 'NAME', help: 'store this request header as attribute http.request.header.NAME (repeatable; for evaluation)', repeatable: true },
  { flag: 'redact-header', env: 'WIRETRACE_REDACT_HEADERS', arg: 'NAME', help: 'also redact this header\'s value before storage (repeatable; adds to the built-in list)', repeatable: true },
  { flag: 'redact-query-key', env: 'WIRETRACE_REDACT_QUERY_KEYS', arg: 'NAME', help: 'also redact this URL query parameter\'s value (repeatable; adds to the built-in list)', repeatable: true },
  { flag: 'redact-pattern', env: 'WIRETRACE_REDACT_PATTERNS', arg: 'REGEX', help: 'also redact URL path segments and query values this regular expression matches; (?i) prefix: any case (repeatable; env: one per line)', repeatable: true, envSeparator: 'newline' },
  { flag: 'redact-defaults', env: 'WIRETRACE_REDACT_DEFAULTS', arg: 'on|off', help: 'built-in redaction rules (default on); off keeps only the names and patterns given, plus authorization and cookie headers' },
  { flag: 'otlp-endpoint', env: 'WIRETRACE_OTLP_ENDPOINT', arg: 'URL', help: 'export spans over OTLP/HTTP protobuf to this collector (http(s)://host:4318; /v1/traces is added when the URL has no path)' },
  { flag: 'otlp-header', env: 'WIRETRACE_OTLP_HEADERS', arg: 'K=V', help: 'send this header with every export, e.g. "Authorization=Bearer x" (repeatable)', repeatable: true },
  { flag: 'otlp-compression', env: 'WIRETRACE_OTLP_COMPRESSION', arg: 'gzip|none', help: 'compress export requests (default none)' },
  { flag: 'otlp-batch-size', env: 'WIRETRACE_OTLP_BATCH_SIZE', arg: 'N', help: 'spans per export request, 1..10000 (default 512)' },
  { flag: 'otlp-queue-size', env: 'WIRETRACE_OTLP_QUEUE_SIZE', arg: 'N', help: 'spans waiting for export before the oldest are dropped, 1..1000000 (default 20000)' },
  { flag: 'sample-rate', env: 'WIRETRACE_SAMPLE_RATE', arg: 'RATE', help: 'keep this share of traces, 0..1 (default 1: keep all); errors and slow traces are always kept' },
  { flag: 'sample-keep-slower-than', env: 'WIRETRACE_SAMPLE_KEEP_SLOWER_THAN', arg: 'DURATION', help: 'always keep traces with a span slower than this, e.g. 500ms' },
  { flag: 'sample-service', env: 'WIRETRACE_SAMPLE_SERVICES', arg: 'NAME=RATE[:DURATION]', help: 'rate (and slow threshold) for traces this service starts (repeatable)', repeatable: true },
  { flag: 'trace-window', env: 'WIRETRACE_TRACE_WINDOW', arg: 'DURATION', help: 'how long spans wait for the rest of their trace when sampling or exporting, 100ms..60s (default 2s)' },
  { flag: 'nice', env: 'WIRETRACE_NICE', arg: 'N', help: 'scheduling niceness of the agent and its loader, 0..19 (default 0); higher yields CPU to the traced services, at saturation at the price of kernel drops' },
  { flag: 'heap-growth', env: 'WIRETRACE_HEAP_GROWTH', arg: 'PERCENT', help: 'how far the JS heap may grow past its live size before a full GC once above 64 MiB, 0..300 (default 40; 0: V8\'s own sizing, up to 300); lower holds less memory after ingest bursts for more GC CPU' },
  { flag: 'log-level', env: 'WIRETRACE_LOG_LEVEL', arg: 'LEVEL', help: 'debug, info, warn or error (default info)' },
  { flag: 'host-name', env: 'WIRETRACE_HOST_NAME', arg: 'NAME', help: "this node's name on spans (default the host name; in Kubernetes the node name)" },
];

export function defaultLoaderPath(): string {
  // dist/config.js or src/config.ts -> <package>/.. -> <repo>/bpf/wiretrace-loader
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'bpf', 'wiretrace-loader');
}

export function helpText(): string {
  const lines = [
    'Usage: wiretrace-agent [options]',
    '',
    'Captures HTTP traffic of this host with eBPF, stores spans in SQLite and serves',
    'them over a Jaeger-compatible API, a native API (docs/API.md) and /metrics.',
    '',
    'Options (each also settable from the environment variable shown):',
  ];
  for (const f of FLAGS) {
    const left = `  --${f.flag}${f.arg ? ` ${f.arg}` : ''}`;
    lines.push(`${left.padEnd(32)}${f.help}`);
    lines.push(`${''.padEnd(32)}[${f.env}]`);
  }
  lines.push(`${'  --help'.padEnd(32)}show this help`, `${'  --version'.padEnd(32)}show the version`);
  return lines.join('\n');
}

export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParseResult {
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = FLAGS.find((f) => f.flag === name);
    if (!spec) throw new ConfigError(`unknown option --${name} (see --help)`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new ConfigError(`--${name} needs a value (${spec.arg ?? 'value'})`);
    const list = values.get(name) ?? [];
    list.push(value);
    values.set(name, list);
  }
  const get = (flag: string): string[] | undefined => {
    const fromFlag = values.get(flag);
    if (fromFlag) return fromFlag;
    const spec = FLAGS.find((f) => f.flag === flag);
    const fromEnv = spec ? env[spec.env] : undefined;
    if (fromEnv === undefined || fromEnv === '') return undefined;
    if (!spec?.repeatable) return [fromEnv];
    return fromEnv.split(spec.envSeparator === 'newline' ? /\r?\n/ : ',').map((s) => s.trim()).filter(Boolean);
  };
  const one = (flag: string): string | undefined => {
    const v = get(flag);
    if (v && v.length > 1) throw new ConfigError(`--${flag} given more than once`);
    return v?.[0];
  };

  const [listenHost, listenPort] = parseListen(one('listen') ?? '127.0.0.1:9797');
  const config: AgentConfig = {
    dbPath: path.resolve(one('db') ?? 'wiretrace.db'),
    listenHost,
    listenPort,
    capture: parseOnOff('capture', one('capture') ?? 'on'),
    loaderPath: path.resolve(one('loader') ?? defaultLoaderPath()),
    btfPath: env.WIRETRACE_BTF_PATH || '/sys/kernel/btf/vmlinux',
    maxPayload: parseIntIn('max-payload', one('max-payload') ?? '4096', 64, 16384),
    tls: parseOnOff('tls', one('tls') ?? 'on'),
    filters: {
      pids: (get('pid') ?? []).map((v) => parseIntIn('pid', v, 1, 2 ** 22)),
      excludePids: (get('exclude-pid') ?? []).map((v) => parseIntIn('exclude-pid', v, 1, 2 ** 22)),
      ports: (get('port') ?? []).map((v) => parseIntIn('port', v, 1, 65535)),
      excludePorts: (get('exclude-port') ?? []).map((v) => parseIntIn('exclude-port', v, 1, 65535)),
      cgroups: get('cgroup') ?? [],
    },
    retentionMaxAgeMs: parseDurationMs('retention-age', one('retention-age') ?? '24h'),
    retentionMaxSizeBytes: parseSizeBytes('retention-size', one('retention-size') ?? '1GiB'),
    logLevel: parseLogLevel(one('log-level') ?? 'info'),
    redaction: parseRedaction(get, one),
    traceWindowMs: parseShortDurationMs('trace-window', one('trace-window') ?? '2s', 100, 60_000),
    nice: parseIntIn('nice', one('nice') ?? '0', 0, 19),
    heapGrowthPercent: parseIntIn('heap-growth', one('heap-growth') ?? String(DEFAULT_HEAP_GROWTH_PERCENT), 0, 300),
  };
  const otlpEndpoint = one('otlp-endpoint');
  if (otlpEndpoint !== undefined) {
    config.otlp = {
      endpoint: parseOtlpEndpoint(otlpEndpoint),
      headers: parseHeaders(get('otlp-header') ?? []),
      compression: parseCompression(one('otlp-compression') ?? 'none'),
      batchSize: parseIntIn('otlp-batch-size', one('otlp-batch-size') ?? '512', 1, 10_000),
      queueSize: parseIntIn('otlp-queue-size', one('otlp-queue-size') ?? '20000', 1, 1_000_000),
    };
  } else {
    for (const flag of ['otlp-header', 'otlp-compression', 'otlp-batch-size', 'otlp-queue-size']) {
      if (get(flag)) throw new ConfigError(`--${flag} needs --otlp-endpoint`);
    }
  }
  const sampleRate = one('sample-rate');
  const keepSlower = one('sample-keep-slower-than');
  const sampleServices = get('sample-service');
  if (sampleRate !== undefined || keepSlower !== undefined || sampleServices) {
    const sampling: SamplingPolicyConfig = { rate: sampleRate === undefined ? 1 : parseRate('sample-rate', sampleRate) };
    if (keepSlower !== undefined) sampling.keepSlowerThanNs = parseShortDurationMs('sample-keep-slower-than', keepSlower, 0, 3_600_000) * 1e6;
    if (sampleServices) sampling.services = parseSampleServices(sampleServices);
    config.sampling = sampling;
  }
  const replay = one('replay');
  if (replay !== undefined) {
    if (values.has('capture') && config.capture) throw new ConfigError('--replay and --capture on exclude each other');
    config.replayPath = path.resolve(replay);
    config.capture = false;
  }
  const capturePipe = one('capture-pipe');
  if (capturePipe !== undefined) {
    if (config.replayPath) throw new ConfigError('--capture-pipe and --replay exclude each other');
    if (values.has('capture') && config.capture) throw new ConfigError('--capture-pipe and --capture on exclude each other');
    config.capturePipe = path.resolve(capturePipe);
    config.capture = false;
  }
  const recordHeaders = get('record-header');
  if (recordHeaders) {
    for (const h of recordHeaders) if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(h)) throw new ConfigError(`--record-header: "${h}" is not a header name`);
    config.recordHeaders = [...new Set(recordHeaders.map((h) => h.toLowerCase()))];
  }
  const hostName = one('host-name');
  if (hostName !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(hostName)) throw new ConfigError(`--host-name: "${hostName}" is not a host name`);
    config.hostName = hostName;
  }
  const token = one('token');
  if (token !== undefined) {
    if (token.length < 8) throw new ConfigError('--token must be at least 8 characters');
    config.token = token;
  }
  return { kind: 'run', config };
}

/** --redact-*: names are validated and lowercased, patterns compiled once here so a bad one stops start-up. */
function parseRedaction(get: (flag: string) => string[] | undefined, one: (flag: string) => string | undefined): AgentConfig['redaction'] {
  const names = (flag: string, valid: RegExp, what: string): string[] => {
    const list = get(flag) ?? [];
    for (const n of list) if (!valid.test(n)) throw new ConfigError(`--${flag}: "${n}" is not ${what}`);
    return [...new Set(list.map((n) => n.toLowerCase()))];
  };
  const patterns = get('redact-pattern') ?? [];
  for (const p of patterns) {
    try {
      compileRedactPattern(p);
    } catch (err) {
      if (err instanceof RedactPatternError) throw new ConfigError(`--redact-pattern "${p}": ${err.message}`);
      throw err;
    }
  }
  return {
    extraHeaders: names('redact-header', /^[!#$%&'*+.^_`|~0-9a-z-]+$/i, 'a header name'),
    // Any printable key but the query syntax itself: keys are compared percent-decoded.
    extraQueryKeys: names('redact-query-key', /^[^\s&=#?]+$/, 'a query parameter name'),
    patterns: [...new Set(patterns)],
    defaults: parseOnOff('redact-defaults', one('redact-defaults') ?? 'on'),
  };
}

function parseListen(v: string): [string, number] {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || m[1] === undefined || m[2] === undefined) throw new ConfigError(`--listen must be HOST:PORT, got "${v}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`--listen port out of range: ${port}`);
  return [m[1].replace(/^\[|\]$/g, ''), port];
}

function parseOnOff(flag: string, v: string): boolean {
  if (/^(on|true|1|yes)$/i.test(v)) return true;
  if (/^(off|false|0|no)$/i.test(v)) return false;
  throw new ConfigError(`--${flag} must be on or off, got "${v}"`);
}

function parseIntIn(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new ConfigError(`--${flag} must be a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`--${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDurationMs(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim());
  if (!m || m[1] === undefined || m[2] === undefined) {
    throw new ConfigError(`--${flag} must be a duration like 30m, 24h or 7d, got "${v}"`);
  }
  const ms = Number(m[1]) * (DURATION_UNITS[m[2]] ?? 1);
  if (ms < 60_000) throw new ConfigError(`--${flag} must be at least 1m, got "${v}"`);
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

export function parseSizeBytes(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = (m?.[2] || 'b').toLowerCase();
  const factor = SIZE_UNITS[unit];
  if (!m || m[1] === undefined || factor === undefined) {
    throw new ConfigError(`--${flag} must be a size like 500MB or 2GiB, got "${v}"`);
  }
  const bytes = Math.floor(Number(m[1]) * factor);
  if (bytes < 1e6) throw new ConfigError(`--${flag} must be at least 1MB, got "${v}"`);
  return bytes;
}

/** Durations below a minute: 250us, 500ms, 2s, 1.5m. */
export function parseShortDurationMs(flag: string, v: string, minMs: number, maxMs: number): number {
  const m = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m)$/.exec(v.trim());
  if (!m || m[1] === undefined || m[2] === undefined) throw new ConfigError(`--${flag} must be a duration like 500ms or 2s, got "${v}"`);
  const factor = { us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000 }[m[2]] ?? 1;
  const ms = Number(m[1]) * factor;
  if (ms < minMs || ms > maxMs) throw new ConfigError(`--${flag} must be between ${minMs} ms and ${maxMs} ms, got "${v}"`);
  return ms;
}

function parseRate(flag: string, v: string): number {
  if (!/^(0|1|0?\.\d+|1\.0*)$/.test(v.trim())) throw new ConfigError(`--${flag} must be a number from 0 to 1, got "${v}"`);
  return Number(v);
}

function parseOtlpEndpoint(v: string): string {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    // Never echo the value: a URL may carry user:password.
    throw new ConfigError('--otlp-endpoint must be a URL like http://collector:4318');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`--otlp-endpoint must be http:// or https://, got ${url.protocol}`);
  return url.href;
}

function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const name = eq > 0 ? v.slice(0, eq).trim() : '';
    // The value is a credential more often than not: the error names no more than the start of the flag.
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) throw new ConfigError(`--otlp-header must be NAME=VALUE, got "${v.slice(0, 12)}…"`);
    const value = v.slice(eq + 1).trim();
    if (/[\r\n]/.test(value)) throw new ConfigError(`--otlp-header ${name}: value must be one line`);
    headers[name] = value;
  }
  return headers;
}

function parseCompression(v: string): 'gzip' | 'none' {
  if (v === 'gzip' || v === 'none') return v;
  throw new ConfigError(`--otlp-compression must be gzip or none, got "${v}"`);
}

function parseSampleServices(values: readonly string[]): Record<string, ServiceSampling> {
  const services: Record<string, ServiceSampling> = {};
  for (const v of values) {
    const m = /^(.+)=([^=:]+)(?::([^=:]+))?$/.exec(v.trim());
    if (!m || m[1] === undefined || m[2] === undefined) throw new ConfigError(`--sample-service must be NAME=RATE or NAME=RATE:DURATION, got "${v}"`);
    const entry: ServiceSampling = { rate: parseRate('sample-service', m[2]) };
    if (m[3] !== undefined) entry.keepSlowerThanNs = parseShortDurationMs('sample-service', m[3], 0, 3_600_000) * 1e6;
    services[m[1].trim()] = entry;
  }
  return services;
}

function parseLogLevel(v: string): AgentConfig['logLevel'] {
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new ConfigError(`--log-level must be debug, info, warn or error, got "${v}"`);
}
