/**
 * Agent configuration from command-line flags and environment variables.
 * Every flag has an environment twin (WIRETRACE_<NAME>); a flag wins over its
 * variable. Parsing is pure so it is tested without starting anything.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  filters: CaptureFilters;
  retentionMaxAgeMs: number;
  retentionMaxSizeBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Request headers stored verbatim as `http.request.header.<name>` (evaluation; never used for linking). */
  recordHeaders?: string[];
  /** The node's name on spans (`host.name`); default the kernel's host name. */
  hostName?: string;
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
  { flag: 'pid', env: 'WIRETRACE_PIDS', arg: 'PID', help: 'capture only these processes (repeatable; env: comma-separated)', repeatable: true },
  { flag: 'exclude-pid', env: 'WIRETRACE_EXCLUDE_PIDS', arg: 'PID', help: 'never capture these processes (the agent itself is always excluded)', repeatable: true },
  { flag: 'port', env: 'WIRETRACE_PORTS', arg: 'PORT', help: 'capture only connections with this local or remote port (repeatable)', repeatable: true },
  { flag: 'exclude-port', env: 'WIRETRACE_EXCLUDE_PORTS', arg: 'PORT', help: 'never capture this port (the API port is always excluded)', repeatable: true },
  { flag: 'cgroup', env: 'WIRETRACE_CGROUPS', arg: 'PATH', help: 'capture only processes in this cgroup v2 directory (repeatable)', repeatable: true },
  { flag: 'retention-age', env: 'WIRETRACE_RETENTION_AGE', arg: 'DURATION', help: 'delete spans older than this, e.g. 30m, 24h, 7d (default 24h)' },
  { flag: 'retention-size', env: 'WIRETRACE_RETENTION_SIZE', arg: 'SIZE', help: 'keep the store under this size, e.g. 500MB, 2GiB (default 1GiB)' },
  { flag: 'record-header', env: 'WIRETRACE_RECORD_HEADERS', arg: 'NAME', help: 'store this request header as attribute http.request.header.NAME (repeatable; for evaluation)', repeatable: true },
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
    return spec?.repeatable ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : [fromEnv];
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
  };
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

function parseLogLevel(v: string): AgentConfig['logLevel'] {
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new ConfigError(`--log-level must be debug, info, warn or error, got "${v}"`);
}
