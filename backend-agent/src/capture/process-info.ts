/**
 * Who a traced process is: its service name, executable, command line and
 * container, read from /proc.
 *
 * Service name, first that applies:
 *   1. OTEL_SERVICE_NAME, then SERVICE_NAME, from the process environment;
 *   2. derived from the command line (see `serviceNameFromCommandLine`);
 *   3. the kernel `comm`.
 *
 * `deriveProcessInfo` is the pure part; `ProcessInfoResolver` reads /proc and
 * caches per process (pid + start time, so a reused pid is noticed).
 *
 * The loader also reads the same /proc files when it first sees a process and
 * sends them (PROC_INFO record, `learn`): the agent may read a process's
 * events after it exited, when /proc has nothing left but the kernel comm.
 */

import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { posix as path } from 'node:path';
import type { ProcessInfo } from '../model/span.js';
import type { ProcInfoEvent } from '../model/events.js';
import { createRedactor, type Redactor } from '../context/redact.js';

// ---------------------------------------------------------------------------
// Pure derivation
// ---------------------------------------------------------------------------

export interface ProcessSnapshot {
  pid: number;
  /** /proc/PID/environ: NUL-separated `NAME=value`. Empty when unreadable. */
  environ: Buffer | string;
  /** /proc/PID/cmdline: NUL-separated arguments. */
  cmdline: Buffer | string;
  /** Target of /proc/PID/exe. */
  exe?: string;
  comm?: string;
  /** /proc/PID/cgroup. */
  cgroup?: string;
  /** Target of /proc/PID/cwd: resolves relative script paths (`node server.js`). */
  cwd?: string;
  hostName: string;
}

/** Stored command lines are capped: some processes carry kilobytes of classpath. */
export const MAX_COMMAND_LINE = 1024;
const MAX_SERVICE_NAME = 128;

const defaultRedactor = createRedactor();

/**
 * `redactArgs` strips secrets (`--password=...`) from the stored command line;
 * naming reads the raw arguments, before redaction.
 */
export function deriveProcessInfo(
  snapshot: ProcessSnapshot,
  redactArgs: Redactor['redactArgs'] = defaultRedactor.redactArgs,
): ProcessInfo {
  const environ = toText(snapshot.environ);
  const args = splitNulSeparated(snapshot.cmdline);
  const exe = snapshot.exe === undefined ? undefined : stripDeleted(snapshot.exe);
  const comm = snapshot.comm ?? '';
  const executableName = exe ? path.basename(exe) : args.length > 0 ? commandWord(args[0]) : comm;

  const info: ProcessInfo = {
    pid: snapshot.pid,
    serviceName: '',
    serviceNameSource: 'comm',
    executableName: executableName || comm,
    hostName: snapshot.hostName,
  };
  const otel = environmentValue(environ, 'OTEL_SERVICE_NAME');
  const plain = otel === undefined ? environmentValue(environ, 'SERVICE_NAME') : undefined;
  const derived = otel === undefined && plain === undefined ? serviceNameFromCommandLine(args, exe, snapshot.cwd, snapshot.comm) : undefined;
  if (otel !== undefined) {
    info.serviceName = otel;
    info.serviceNameSource = 'env:OTEL_SERVICE_NAME';
  } else if (plain !== undefined) {
    info.serviceName = plain;
    info.serviceNameSource = 'env:SERVICE_NAME';
  } else if (derived !== undefined) {
    info.serviceName = derived;
    info.serviceNameSource = 'cmdline';
  } else {
    info.serviceName = comm || `pid-${snapshot.pid}`;
  }
  if (args.length > 0) info.commandLine = capText(redactArgs(args).join(' '), MAX_COMMAND_LINE);
  const containerId = snapshot.cgroup === undefined ? undefined : containerIdFromCgroup(snapshot.cgroup);
  if (containerId !== undefined) info.containerId = containerId;
  return info;
}

/** What a process is called when /proc has nothing on it (gone, or not visible to us). */
export function fallbackProcessInfo(pid: number, comm: string | undefined, hostName: string): ProcessInfo {
  const name = comm || `pid-${pid}`;
  return { pid, serviceName: name, serviceNameSource: 'comm', executableName: name, hostName };
}

/**
 * The loader's PROC_INFO record as a snapshot: it read the same files, at
 * first sight. Its environment holds only the variables naming reads.
 */
export function snapshotFromProcInfo(record: ProcInfoEvent, hostName: string): ProcessSnapshot {
  let environ = '';
  if (record.environ?.OTEL_SERVICE_NAME !== undefined) environ += `OTEL_SERVICE_NAME=${record.environ.OTEL_SERVICE_NAME}\0`;
  if (record.environ?.SERVICE_NAME !== undefined) environ += `SERVICE_NAME=${record.environ.SERVICE_NAME}\0`;
  const snapshot: ProcessSnapshot = { pid: record.pid, environ, cmdline: record.cmdline, hostName };
  if (record.exe) snapshot.exe = record.exe;
  if (record.cwd) snapshot.cwd = record.cwd;
  if (record.cgroup) snapshot.cgroup = record.cgroup;
  if (record.comm) snapshot.comm = record.comm;
  return snapshot;
}

function toText(data: Buffer | string): string {
  return typeof data === 'string' ? data : data.toString('utf8');
}

/** Splits NUL-separated /proc data; the trailing NUL does not make an empty last element. */
export function splitNulSeparated(data: Buffer | string): string[] {
  const text = toText(data);
  if (text.length === 0) return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The value of one variable in NUL-separated environ text; blank values count as unset. */
export function environmentValue(environ: string, name: string): string | undefined {
  const prefix = `${name}=`;
  let start = 0;
  while (start < environ.length) {
    let end = environ.indexOf('\0', start);
    if (end === -1) end = environ.length;
    if (environ.startsWith(prefix, start)) {
      const value = cleanName(environ.slice(start + prefix.length, end));
      if (value !== undefined) return value;
    }
    start = end + 1;
  }
  return undefined;
}

/** Trimmed, control characters refused, capped; `undefined` when nothing usable is left. */
function cleanName(raw: string): string | undefined {
  const value = raw.trim();
  if (value.length === 0) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return undefined;
  }
  return capText(value, MAX_SERVICE_NAME);
}

function capText(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max);
}

/** readlink of /proc/PID/exe says `/usr/bin/x (deleted)` after the binary was replaced (an upgrade). */
function stripDeleted(exe: string): string {
  return exe.endsWith(' (deleted)') ? exe.slice(0, -' (deleted)'.length) : exe;
}

/**
 * The program word of argv[0]. Processes that rewrite their title put it all
 * in argv[0] (`nginx: worker process`), so cut at the first space and drop a
 * trailing `:`.
 */
function commandWord(argv0: string): string {
  const space = argv0.indexOf(' ');
  let word = space === -1 ? argv0 : argv0.slice(0, space);
  if (word.endsWith(':')) word = word.slice(0, -1);
  return path.basename(word);
}

// ---------------------------------------------------------------------------
// Service name from the command line
// ---------------------------------------------------------------------------

/**
 * How an interpreter's arguments are read, enough to find what it runs.
 * Option letters/names not listed are taken as flags without a value.
 */
interface InterpreterSyntax {
  /** Short options may be grouped (`python -uBm pkg`), getopt style. */
  groupedShort: boolean;
  /** Options that take a value: attached (`-Wx`, `--opt=x`) or the next argument. */
  withValue: ReadonlySet<string>;
  /** Short letters whose optional value can only be attached (`perl -0777`): they end a group. */
  attachedOnly?: string;
  /** Options after which nothing names the process: inline code (`-e`), version queries. */
  noEntry: ReadonlySet<string>;
  /** Options whose value is what runs, and what it is. */
  entryOptions: ReadonlyMap<string, EntryKind>;
  /** What the first positional argument is. */
  positional: EntryKind;
  /** Words skipped before the entry (`bun run x.ts`, `dotnet exec x.dll`). */
  subcommands?: ReadonlySet<string>;
  /** A bare word where the script goes is a package.json script (`bun run start`), not a file. */
  packageScripts?: boolean;
}

type EntryKind = 'script' | 'module' | 'jar' | 'java-class' | 'java-module';

interface Entry {
  kind: EntryKind;
  value: string;
  /** Index of the argument after the entry: launchers read their own arguments from there. */
  rest: number;
}

const set = (...items: string[]): ReadonlySet<string> => new Set(items);

const NODE: InterpreterSyntax = {
  groupedShort: false,
  withValue: set('-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--title',
    '--input-type', '--env-file', '--inspect-port', '--stack-size', '--max-old-space-size', '--openssl-config',
    '--redirect-warnings', '--diagnostic-dir', '--report-dir', '--dns-result-order', '--experimental-policy'),
  noEntry: set('-e', '--eval', '-p', '--print', '-i', '--interactive'),
  entryOptions: new Map(),
  positional: 'script',
};

const PYTHON: InterpreterSyntax = {
  groupedShort: true,
  withValue: set('-W', '-X', '-Q', '--check-hash-based-pycs'),
  noEntry: set('-c'),
  entryOptions: new Map([['-m', 'module']]),
  positional: 'script',
};

const RUBY: InterpreterSyntax = {
  groupedShort: true,
  withValue: set('-I', '-r', '-C', '-E', '--encoding'),
  attachedOnly: 'xTW0iF',
  noEntry: set('-e'),
  entryOptions: new Map(),
  positional: 'script',
};

const PERL: InterpreterSyntax = {
  groupedShort: true,
  withValue: set('-I'),
  attachedOnly: '0liCdDxVMm',
  noEntry: set('-e', '-E'),
  entryOptions: new Map(),
  positional: 'script',
};

const PHP: InterpreterSyntax = {
  groupedShort: true,
  // -S is the built-in web server (`php -S 0.0.0.0:8000`): its value is an address.
  withValue: set('-c', '-d', '-t', '-z', '-S'),
  noEntry: set('-r', '-R', '-B', '-E'),
  entryOptions: new Map([['-f', 'script']]),
  positional: 'script',
};

const JAVA: InterpreterSyntax = {
  groupedShort: false,
  withValue: set('-cp', '-classpath', '--class-path', '-p', '--module-path', '--upgrade-module-path', '--add-modules',
    '--add-opens', '--add-exports', '--add-reads', '--limit-modules', '--patch-module', '--source', '--enable-native-access'),
  noEntry: set('-version', '--version', '-help', '--help'),
  entryOptions: new Map<string, EntryKind>([['-jar', 'jar'], ['-m', 'java-module'], ['--module', 'java-module']]),
  positional: 'java-class',
};

const DOTNET: InterpreterSyntax = {
  groupedShort: false,
  withValue: set('--runtimeconfig', '--depsfile', '--additionalprobingpath', '--additional-deps', '--fx-version', '--roll-forward'),
  noEntry: set(),
  entryOptions: new Map(),
  positional: 'script',
  subcommands: set('exec'),
};

const BUN: InterpreterSyntax = {
  groupedShort: false,
  withValue: set('-r', '--preload', '--cwd', '--env-file', '--config', '-c', '--port'),
  noEntry: set('-e', '--eval', '-p', '--print'),
  entryOptions: new Map(),
  positional: 'script',
  subcommands: set('run'),
  packageScripts: true,
};

const DENO: InterpreterSyntax = {
  groupedShort: false,
  withValue: set('-c', '--config', '--import-map', '--lock', '--cert', '--location', '--env-file', '--port'),
  noEntry: set(),
  entryOptions: new Map(),
  positional: 'script',
  subcommands: set('run', 'serve'),
  packageScripts: true,
};

/** Interpreters by executable base name (versioned names like python3.12 included). */
function interpreterSyntax(executable: string): InterpreterSyntax | undefined {
  switch (executable) {
    case 'node':
    case 'nodejs':
      return NODE;
    case 'java':
      return JAVA;
    case 'dotnet':
      return DOTNET;
    case 'bun':
      return BUN;
    case 'deno':
      return DENO;
  }
  if (/^(?:python|pypy)\d*(?:\.\d+)?$/.test(executable)) return PYTHON;
  if (/^ruby\d*(?:\.\d+)*$/.test(executable)) return RUBY;
  if (/^perl\d*(?:\.\d+)*$/.test(executable)) return PERL;
  if (/^php\d*(?:\.\d+)?$/.test(executable)) return PHP;
  return undefined;
}

/** Script names that say nothing about the service: the directory names it instead. */
const GENERIC_NAMES = set('index', 'server', 'main', 'app', 'application', '__main__', '__init__', 'start', 'run', 'cli',
  'bootstrap', 'wsgi', 'asgi', 'manage', 'serve', 'entrypoint', 'init', 'launcher');

/** Directory names that are project layout, never the service (`/srv/orders/dist/server.js` is `orders`). */
const LAYOUT_DIRECTORIES = set('src', 'dist', 'build', 'lib', 'bin', 'out', 'target', 'release', 'current', 'app',
  'apps', 'srv', 'opt', 'usr', 'local', 'home', 'root', 'var', 'www', 'code', 'workspace', 'workdir', 'services',
  'packages', 'scripts', 'node_modules', '.bin', 'site-packages', 'dist-packages', 'application', 'tmp');

/** Runners that take the real script as a later argument (`tsx watch src/orders.ts`). */
const NODE_RUNNERS = set('tsx', 'ts-node', 'ts-node-esm', 'ts-node-dev', 'nodemon', 'babel-node');
const JS_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.jsx', '.tsx'];

/**
 * Launchers whose own name is not the service: app servers, package
 * managers and framework CLIs. The app is named by a `module:app` argument
 * (Python app servers), or else by the working directory.
 */
const LAUNCHERS = set('gunicorn', 'uvicorn', 'hypercorn', 'daphne', 'celery', 'flask', 'waitress-serve', 'puma',
  'unicorn', 'rackup', 'rails', 'sidekiq', 'artisan', 'npm', 'npm-cli', 'yarn', 'pnpm', 'npx', 'next', 'nest', 'react-scripts',
  'JarLauncher', 'PropertiesLauncher', 'WarLauncher');

const SCRIPT_EXTENSIONS = [...JS_EXTENSIONS, '.py', '.pyc', '.pyw', '.rb', '.php', '.pl', '.pm', '.jar', '.dll', '.exe',
  '.java'];

/**
 * A service name from the command line, or `undefined` when it says nothing
 * (kernel threads have no command line).
 *
 * Interpreters (node, python*, ruby, java, php, perl, bun, deno, dotnet) are
 * named after what they run: the script (`node /srv/orders/index.js` ->
 * `orders`: generic script names defer to their directory), the module
 * (`python -m orders.api` -> `orders`), the jar without its version
 * (`orders-1.2.jar` -> `orders`), the main class (`com.acme.orders.Main` ->
 * `orders`) or the dll. Other executables are named after themselves, or
 * after the name they were invoked by when that differs (see `invokedName`).
 */
export function serviceNameFromCommandLine(args: readonly string[], exe?: string, cwd?: string, comm?: string): string | undefined {
  const executable = exe ? path.basename(stripDeleted(exe)) : args.length > 0 ? commandWord(args[0]) : '';
  if (!executable) return undefined;
  const syntax = interpreterSyntax(executable) ?? (args.length > 0 ? interpreterSyntax(commandWord(args[0])) : undefined);
  if (syntax === undefined) return cleanName(invokedName(executable, args, comm) ?? executable);
  const entry = findEntry(args, syntax);
  if (entry === undefined) {
    // A process that renamed itself (process.title = 'orders') has one argument: its title.
    if (args.length === 1 && args[0].length > 0 && interpreterSyntax(commandWord(args[0])) === undefined) {
      return cleanName(commandWord(args[0]));
    }
    // Inline code, a REPL: nothing names it but the interpreter.
    return cleanName(executable);
  }
  return cleanName(nameEntry(entry, args, cwd, syntax) ?? executable);
}

/** The kernel keeps the first 15 bytes of a process name (TASK_COMM_LEN 16). */
const COMM_LENGTH = 15;

/**
 * The name a symlinked or multi-call executable was started by, when it is
 * not the executable's file name: Debian's `redis-server` is a symlink to
 * `redis-check-rdb` (one binary that acts by its name), busybox's applets
 * are links to `busybox`. The kernel's comm is the base name of the path
 * given to exec, so comm agreeing with argv[0]'s program word (and not with
 * the file) shows how the process was invoked; argv[0] alone is not trusted,
 * since a process can write anything there.
 */
function invokedName(executable: string, args: readonly string[], comm: string | undefined): string | undefined {
  if (!comm || args.length === 0) return undefined;
  const invoked = commandWord(args[0]);
  if (!invoked || invoked === executable || executable.slice(0, COMM_LENGTH) === comm) return undefined;
  return invoked.slice(0, COMM_LENGTH) === comm ? invoked : undefined;
}

function findEntry(args: readonly string[], syntax: InterpreterSyntax): Entry | undefined {
  let i = 1;
  let subcommandAllowed = syntax.subcommands !== undefined;
  while (i < args.length) {
    const arg = args[i];
    if (arg === '--') {
      return i + 1 < args.length ? { kind: syntax.positional, value: args[i + 1], rest: i + 2 } : undefined;
    }
    if (arg.length > 1 && arg.startsWith('-')) {
      const option = readOption(args, i, syntax);
      if (option.entry !== undefined) return option.entry;
      if (option.noEntry) return undefined;
      i = option.next;
      continue;
    }
    if (arg.startsWith('@')) {
      i++; // java @argfiles
      continue;
    }
    if (subcommandAllowed && syntax.subcommands?.has(arg)) {
      subcommandAllowed = false;
      i++;
      continue;
    }
    return { kind: syntax.positional, value: arg, rest: i + 1 };
  }
  return undefined;
}

interface OptionRead {
  next: number;
  noEntry?: boolean;
  entry?: Entry;
}

/** Reads the option at `args[i]`: where the next argument starts, and whether it names the entry. */
function readOption(args: readonly string[], i: number, syntax: InterpreterSyntax): OptionRead {
  const arg = args[i];
  const eq = arg.indexOf('=');
  if (arg.startsWith('--') || !syntax.groupedShort) {
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const attached = eq === -1 ? undefined : arg.slice(eq + 1);
    return optionWithName(name, attached, args, i, syntax);
  }
  // Grouped short options: `-uBm pkg`, `-Wignore`, `-mpkg`.
  for (let j = 1; j < arg.length; j++) {
    const name = `-${arg[j]}`;
    const attached = j + 1 < arg.length ? arg.slice(j + 1) : undefined;
    if (syntax.entryOptions.has(name) || syntax.withValue.has(name) || syntax.noEntry.has(name)) {
      return optionWithName(name, attached, args, i, syntax);
    }
    if (syntax.attachedOnly?.includes(arg[j])) break;
  }
  return { next: i + 1 };
}

function optionWithName(name: string, attached: string | undefined, args: readonly string[], i: number, syntax: InterpreterSyntax): OptionRead {
  if (syntax.noEntry.has(name)) return { next: i + 1, noEntry: true };
  const kind = syntax.entryOptions.get(name);
  const takesValue = kind !== undefined || syntax.withValue.has(name);
  if (!takesValue) return { next: i + 1 };
  const valueIndex = attached === undefined ? i + 1 : i;
  const value = attached ?? args[i + 1];
  if (kind !== undefined && value !== undefined) return { next: valueIndex + 1, entry: { kind, value, rest: valueIndex + 1 } };
  return { next: valueIndex + 1 };
}

function nameEntry(entry: Entry, args: readonly string[], cwd: string | undefined, syntax: InterpreterSyntax): string | undefined {
  switch (entry.kind) {
    case 'module':
      return nameModule(entry.value, args, entry.rest, cwd);
    case 'java-class':
      return LAUNCHERS.has(lastSegment(entry.value, '.')) ? nameFromDirectory(cwd) : nameJavaQualified(entry.value);
    case 'java-module': {
      // `-m com.acme.orders/com.acme.orders.Main`: the module name says more than the class.
      const slash = entry.value.indexOf('/');
      return nameJavaQualified(slash === -1 ? entry.value : entry.value.slice(0, slash));
    }
    case 'jar':
      return nameScript(entry.value, cwd, stripJarVersion);
    case 'script':
      if (syntax.packageScripts && !entry.value.includes('/') && !entry.value.includes('.')) {
        return nameFromDirectory(cwd) ?? entry.value;
      }
      return nameScriptOrLauncher(entry.value, args, entry.rest, cwd);
  }
}

function nameScriptOrLauncher(script: string, args: readonly string[], rest: number, cwd: string | undefined): string | undefined {
  const stem = scriptStem(script);
  if (NODE_RUNNERS.has(stem)) {
    for (let i = rest; i < args.length; i++) {
      if (hasExtension(args[i], JS_EXTENSIONS)) return nameScript(args[i], cwd);
    }
    return nameFromDirectory(cwd) ?? stem;
  }
  if (stem === 'bundle') {
    // `bundle exec puma ...`: what bundler executes is the program.
    const exec = args.indexOf('exec', rest);
    return exec !== -1 && exec + 1 < args.length ? nameScriptOrLauncher(args[exec + 1], args, exec + 2, cwd) : nameFromDirectory(cwd) ?? stem;
  }
  if (LAUNCHERS.has(stem)) return nameLaunched(stem, args, rest, cwd);
  return nameScript(script, cwd);
}

/** Python app servers name the app `module:callable`; celery takes `-A module`. */
function nameLaunched(launcher: string, args: readonly string[], rest: number, cwd: string | undefined): string {
  for (let i = rest; i < args.length; i++) {
    const arg = args[i];
    if ((arg === '-A' || arg === '--app') && i + 1 < args.length) return nameDottedModule(args[i + 1].split(':')[0], cwd) ?? launcher;
    if (arg.startsWith('--app=')) return nameDottedModule(arg.slice('--app='.length).split(':')[0], cwd) ?? launcher;
    const appModule = moduleOfAppSpec(arg);
    if (appModule !== undefined) return nameDottedModule(appModule, cwd) ?? launcher;
  }
  return nameFromDirectory(cwd) ?? launcher;
}

/** `orders.main:app` / `orders.wsgi:create_app()` -> `orders.main`; bind addresses (`0.0.0.0:8000`, `unix:/x`) are not apps. */
function moduleOfAppSpec(arg: string): string | undefined {
  const colon = arg.indexOf(':');
  if (colon <= 0) return undefined;
  const module = arg.slice(0, colon);
  const callable = arg.slice(colon + 1);
  return /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/.test(module) && /^[A-Za-z_]\w*(?:\(.*\))?$/.test(callable) ? module : undefined;
}

/** `python -m orders.api` -> `orders`; `-m uvicorn orders.main:app` -> `orders`. */
function nameModule(module: string, args: readonly string[], rest: number, cwd: string | undefined): string | undefined {
  const root = module.split('.', 1)[0];
  if (LAUNCHERS.has(root)) return nameLaunched(root, args, rest, cwd);
  return nameDottedModule(module, cwd) ?? root;
}

/** The first segment that is not generic (`src.orders.main` -> `orders`), else the working directory. */
function nameDottedModule(module: string, cwd: string | undefined): string | undefined {
  for (const segment of module.split('.')) {
    if (segment && !GENERIC_NAMES.has(segment) && !LAYOUT_DIRECTORIES.has(segment)) return segment;
  }
  return nameFromDirectory(cwd);
}

/** `com.acme.orders.OrdersService` -> `OrdersService`; `com.acme.orders.Main` -> `orders`. */
function nameJavaQualified(qualified: string): string | undefined {
  const segments = qualified.split('.');
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i];
    if (segment && !GENERIC_NAMES.has(segment.toLowerCase()) && !LAYOUT_DIRECTORIES.has(segment)) return segment;
  }
  return segments[segments.length - 1] || undefined;
}

/**
 * Names a script file: its stem, unless that is generic (`index`, `main`...),
 * then the nearest directory that is not project layout, else the stem.
 */
function nameScript(script: string, cwd: string | undefined, tidyStem: (stem: string) => string = identity): string {
  const stem = tidyStem(scriptStem(script));
  if (!GENERIC_NAMES.has(stem.toLowerCase())) return stem;
  const absolute = script.startsWith('/') ? script : cwd ? path.resolve(cwd, script) : script;
  return nameFromDirectory(path.dirname(absolute)) ?? stem;
}

/** The innermost directory of `dir` that is not project layout. */
function nameFromDirectory(dir: string | undefined): string | undefined {
  if (!dir) return undefined;
  const segments = dir.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i];
    if (segment && segment !== '.' && segment !== '..' && !LAYOUT_DIRECTORIES.has(segment)) return segment;
  }
  return undefined;
}

function scriptStem(script: string): string {
  const base = path.basename(script);
  for (const extension of SCRIPT_EXTENSIONS) {
    if (base.length > extension.length && base.endsWith(extension)) return base.slice(0, -extension.length);
  }
  return base;
}

function hasExtension(file: string, extensions: readonly string[]): boolean {
  return extensions.some((extension) => file.length > extension.length && file.endsWith(extension));
}

/** `orders-service-1.4.2-SNAPSHOT` -> `orders-service`: the version changes every release, the service does not. */
function stripJarVersion(stem: string): string {
  for (let i = 1; i < stem.length - 1; i++) {
    if (stem[i] === '-' && stem.charCodeAt(i + 1) >= 0x30 && stem.charCodeAt(i + 1) <= 0x39) return stem.slice(0, i);
  }
  return stem;
}

function lastSegment(text: string, separator: string): string {
  return text.slice(text.lastIndexOf(separator) + 1);
}

function identity(text: string): string {
  return text;
}

// ---------------------------------------------------------------------------
// Container id
// ---------------------------------------------------------------------------

const CONTAINER_ID_LENGTH = 64;

/**
 * The container id in /proc/PID/cgroup: a run of exactly 64 hex digits in a
 * cgroup path, as docker (`/docker/<id>`, `docker-<id>.scope`), containerd
 * and CRI (`cri-containerd-<id>.scope`, `/kubepods/.../<id>`), CRI-O
 * (`crio-<id>.scope`) and podman (`libpod-<id>.scope`) write it. The last
 * one wins: nested cgroups put the innermost container last.
 */
export function containerIdFromCgroup(cgroup: string): string | undefined {
  let found: string | undefined;
  let runStart = -1;
  for (let i = 0; i <= cgroup.length; i++) {
    const c = i < cgroup.length ? cgroup.charCodeAt(i) : -1;
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
    if (hex) {
      if (runStart === -1) runStart = i;
      continue;
    }
    if (runStart !== -1 && i - runStart === CONTAINER_ID_LENGTH && isIdBoundary(cgroup.charCodeAt(runStart - 1))) {
      found = cgroup.slice(runStart, i);
    }
    runStart = -1;
  }
  return found;
}

/** An id starts after `/`, `-`, `:` or `.` (or at the start), not inside a longer word. */
function isIdBoundary(c: number): boolean {
  return Number.isNaN(c) || c === 0x2f || c === 0x2d || c === 0x3a || c === 0x2e;
}

// ---------------------------------------------------------------------------
// /proc reader with cache
// ---------------------------------------------------------------------------

export interface ProcessInfoResolverOptions {
  /** Where procfs is mounted; a fake tree in tests. */
  procRoot?: string;
  hostName?: string;
  /** Cache bound; least recently used processes are dropped first. */
  maxEntries?: number;
  /**
   * How long a cached entry is trusted before the start time is read again
   * to detect pid reuse. resolve() runs per captured event: re-reading
   * /proc/PID/stat every time would cost a syscall each.
   */
  revalidateMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  redactor?: Pick<Redactor, 'redactArgs'>;
}

/** Start time recorded for a pid that had no /proc entry when first seen. */
const GONE = 'gone';
/**
 * Start time of a loader description that had none: it never matches a live
 * process, so /proc is read while the process lives and the description
 * serves once it is gone.
 */
const UNKNOWN_START = 'unknown';

interface CacheEntry {
  startTime: string;
  info: ProcessInfo;
  checkedAt: number;
}

/**
 * /proc/PID/stat field 22 (starttime): after the `)` closing comm (comm may
 * hold spaces and parentheses, so the last one), fields count from 3.
 */
export function startTimeFromStat(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close === -1) return undefined;
  const fields = stat.slice(close + 2).split(' ', 20);
  const value = fields[22 - 3];
  return value !== undefined && /^\d+$/.test(value) ? value : undefined;
}

export class ProcessInfoResolver {
  private readonly procRoot: string;
  private readonly hostName: string;
  private readonly maxEntries: number;
  private readonly revalidateMs: number;
  private readonly now: () => number;
  private readonly redactArgs: Redactor['redactArgs'];
  /** Map order is recency order: the first key is the least recently used. */
  private readonly cache = new Map<number, CacheEntry>();
  /** The pid last put at the end of `cache`. */
  private mostRecent: number | undefined;

  constructor(options: ProcessInfoResolverOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.hostName = options.hostName ?? hostname();
    this.maxEntries = Math.max(1, options.maxEntries ?? 4096);
    this.revalidateMs = options.revalidateMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.redactArgs = (options.redactor ?? defaultRedactor).redactArgs;
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * The process's info. Never throws: a process already gone keeps its
   * cached info, or is named after `comm` (as the capture event saw it).
   */
  resolve(pid: number, comm?: string): ProcessInfo {
    try {
      return this.lookup(pid, comm);
    } catch {
      return fallbackProcessInfo(pid, comm, this.hostName);
    }
  }

  /**
   * Takes the loader's description of a process (PROC_INFO), sent before the
   * process's first event. It is used before /proc: it comes from the same
   * files, read while the process surely existed, and later events of a
   * process that has exited still find it. The start time it carries guards
   * it: a live process with another start time under this pid is a new
   * process, read from /proc as usual.
   */
  learn(record: ProcInfoEvent): void {
    if (!Number.isSafeInteger(record.pid) || record.pid <= 0) return;
    const info = deriveProcessInfo(snapshotFromProcInfo(record, this.hostName), this.redactArgs);
    this.remember(record.pid, { startTime: record.startTime || UNKNOWN_START, info, checkedAt: this.now() });
  }

  /** Drops a process (call on exit so the memory and a reused pid are handled at once). */
  forget(pid: number): void {
    this.cache.delete(pid);
    if (pid === this.mostRecent) this.mostRecent = undefined;
  }

  private lookup(pid: number, comm: string | undefined): ProcessInfo {
    if (!Number.isSafeInteger(pid) || pid <= 0) return fallbackProcessInfo(pid, comm, this.hostName);
    const cached = this.cache.get(pid);
    const now = this.now();
    if (cached !== undefined && now - cached.checkedAt < this.revalidateMs) return this.touch(pid, cached).info;
    const startTime = this.readStartTime(pid);
    if (startTime === undefined) {
      // Gone: events still in flight belong to the process we knew. Remember
      // that it is gone too, or every late event of an exited process would
      // cost a failed /proc read.
      const info = cached?.info ?? fallbackProcessInfo(pid, comm, this.hostName);
      this.remember(pid, { startTime: cached?.startTime ?? GONE, info, checkedAt: now });
      return info;
    }
    if (cached !== undefined && cached.startTime === startTime) {
      cached.checkedAt = now;
      return this.touch(pid, cached).info;
    }
    const info = this.readProcess(pid, comm);
    this.remember(pid, { startTime, info, checkedAt: now });
    return info;
  }

  private remember(pid: number, entry: CacheEntry): void {
    this.cache.delete(pid);
    this.cache.set(pid, entry);
    this.mostRecent = pid;
    if (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
  }

  private touch(pid: number, entry: CacheEntry): CacheEntry {
    // Already the last in recency order: moving it would change nothing (spans ask for the same pid back to back).
    if (pid === this.mostRecent) return entry;
    this.cache.delete(pid);
    this.cache.set(pid, entry);
    this.mostRecent = pid;
    return entry;
  }

  private readStartTime(pid: number): string | undefined {
    const stat = this.readText(pid, 'stat');
    return stat === undefined ? undefined : startTimeFromStat(stat);
  }

  private readProcess(pid: number, comm: string | undefined): ProcessInfo {
    const procComm = this.readText(pid, 'comm')?.replace(/\n$/, '');
    const snapshot: ProcessSnapshot = {
      pid,
      // Unreadable without ptrace rights over the process: then naming goes on without it.
      environ: this.readBytes(pid, 'environ') ?? '',
      cmdline: this.readBytes(pid, 'cmdline') ?? '',
      hostName: this.hostName,
    };
    const exe = this.readLink(pid, 'exe');
    const cwd = this.readLink(pid, 'cwd');
    const cgroup = this.readText(pid, 'cgroup');
    const bestComm = procComm || comm;
    if (exe !== undefined) snapshot.exe = exe;
    if (cwd !== undefined) snapshot.cwd = cwd;
    if (cgroup !== undefined) snapshot.cgroup = cgroup;
    if (bestComm) snapshot.comm = bestComm;
    return deriveProcessInfo(snapshot, this.redactArgs);
  }

  private file(pid: number, name: string): string {
    return `${this.procRoot}/${pid}/${name}`;
  }

  private readBytes(pid: number, name: string): Buffer | undefined {
    try {
      return readFileSync(this.file(pid, name));
    } catch {
      return undefined;
    }
  }

  private readText(pid: number, name: string): string | undefined {
    return this.readBytes(pid, name)?.toString('utf8');
  }

  private readLink(pid: number, name: string): string | undefined {
    try {
      return readlinkSync(this.file(pid, name));
    } catch {
      return undefined;
    }
  }
}
