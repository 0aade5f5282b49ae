import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  containerIdFromCgroup,
  deriveProcessInfo,
  environmentValue,
  ProcessInfoResolver,
  serviceNameFromCommandLine,
  splitNulSeparated,
  startTimeFromStat,
} from '../../../backend-agent/src/capture/process-info.js';

const ID = 'd9f0f5cbb5a7d0b3c5e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3';

function nul(...parts: string[]): string {
  return parts.map((p) => `${p}\0`).join('');
}

describe('deriveProcessInfo', () => {
  const base = { pid: 42, hostName: 'host-a', comm: 'comm-name' };

  it('prefers OTEL_SERVICE_NAME, then SERVICE_NAME, then the command line, then comm', () => {
    const cmdline = nul('/usr/bin/node', '/srv/orders/server.js');
    const both = deriveProcessInfo({ ...base, environ: nul('SERVICE_NAME=plain', 'OTEL_SERVICE_NAME=otel'), cmdline });
    assert.equal(both.serviceName, 'otel');
    assert.equal(both.serviceNameSource, 'env:OTEL_SERVICE_NAME');
    const plain = deriveProcessInfo({ ...base, environ: nul('PATH=/bin', 'SERVICE_NAME=plain'), cmdline });
    assert.deepEqual([plain.serviceName, plain.serviceNameSource], ['plain', 'env:SERVICE_NAME']);
    const derived = deriveProcessInfo({ ...base, environ: '', cmdline });
    assert.deepEqual([derived.serviceName, derived.serviceNameSource], ['orders', 'cmdline']);
    const kernelThread = deriveProcessInfo({ ...base, environ: '', cmdline: '' });
    assert.deepEqual([kernelThread.serviceName, kernelThread.serviceNameSource], ['comm-name', 'comm']);
    const nothing = deriveProcessInfo({ pid: 7, hostName: 'h', environ: '', cmdline: '' });
    assert.equal(nothing.serviceName, 'pid-7');
  });

  it('ignores blank or control-character environment values', () => {
    const info = deriveProcessInfo({ ...base, environ: nul('OTEL_SERVICE_NAME=  ', 'SERVICE_NAME=a\u0001b'), cmdline: nul('/usr/sbin/nginx') });
    assert.deepEqual([info.serviceName, info.serviceNameSource], ['nginx', 'cmdline']);
  });

  it('reads Buffers as well as strings, and fills the other fields', () => {
    const info = deriveProcessInfo({
      ...base,
      environ: Buffer.from(nul('OTEL_SERVICE_NAME= checkout ')),
      cmdline: Buffer.from(nul('/usr/local/bin/python3.12', '-m', 'checkout.api', '--password=hunter2')),
      exe: '/usr/local/bin/python3.12 (deleted)',
      cgroup: `0::/system.slice/docker-${ID}.scope\n`,
    });
    assert.deepEqual(info, {
      pid: 42,
      serviceName: 'checkout',
      serviceNameSource: 'env:OTEL_SERVICE_NAME',
      executableName: 'python3.12',
      commandLine: '/usr/local/bin/python3.12 -m checkout.api --password=[REDACTED]',
      containerId: ID,
      hostName: 'host-a',
    });
  });

  it('caps the stored command line', () => {
    const info = deriveProcessInfo({ ...base, environ: '', cmdline: nul('java', '-cp', 'x'.repeat(5000), 'com.acme.orders.Main') });
    assert.equal(info.commandLine?.length, 1024);
    assert.equal(info.serviceName, 'orders');
  });
});

describe('serviceNameFromCommandLine', () => {
  const cases: Array<[string[], string, { exe?: string; cwd?: string }?]> = [
    // node
    [['node', '/srv/orders/server.js'], 'orders'],
    [['node', '/srv/orders/dist/index.js'], 'orders'],
    [['node', '/srv/billing-worker.js'], 'billing-worker'],
    [['node', '--enable-source-maps', '-r', 'dotenv/config', '--max-old-space-size=512', '/srv/payments/main.mjs'], 'payments'],
    [['node', '--require', './tracing.js', 'index.js'], 'inventory', { cwd: '/home/app/inventory' }],
    [['node', 'server.js'], 'server'],
    [['node', '/app/server.js'], 'server'],
    [['node', '-e', 'require("http").createServer().listen(1)'], 'node'],
    [['node'], 'node'],
    [['node', '--', '/srv/search/app.js'], 'search'],
    [['node', '/app/node_modules/.bin/tsx', 'watch', 'src/orders.ts'], 'orders'],
    [['node', '/app/node_modules/.bin/nodemon', '--watch', 'src', 'src/index.ts'], 'cart', { cwd: '/srv/cart' }],
    [['node', '/usr/local/lib/node_modules/npm/bin/npm-cli.js', 'start'], 'frontend', { cwd: '/srv/frontend' }],
    [['node', '/usr/local/bin/npm', 'start'], 'npm'],
    [['orders-api'], 'orders-api', { exe: '/usr/local/bin/node' }],
    // python
    [['python3', '/srv/users/app.py'], 'users'],
    [['python3.11', '-u', '/opt/reports/generate.py'], 'generate'],
    [['python', '-m', 'pkg.mod'], 'pkg'],
    [['python3', '-um', 'notifier.main'], 'notifier'],
    [['python3', '-mhttp.server', '8000'], 'http'],
    [['python3', '-m', 'src.ledger.main'], 'ledger'],
    [['python3', '-W', 'ignore', '-X', 'importtime', 'worker.py'], 'worker'],
    [['python3', '-c', 'print(1)'], 'python3'],
    [['python3', '/srv/shop/manage.py', 'runserver'], 'shop'],
    [['python3', '/srv/api/__main__.py'], 'api'],
    [['/usr/local/bin/python3.12', '/usr/local/bin/gunicorn', '-b', '0.0.0.0:8000', '-w', '4', 'orders.wsgi:application'], 'orders'],
    [['python3', '/usr/local/bin/uvicorn', 'main:app', '--host', '0.0.0.0'], 'catalog', { cwd: '/srv/catalog' }],
    [['python3', '-m', 'uvicorn', 'shipping.main:create_app()', '--factory'], 'shipping'],
    [['python3', '/usr/local/bin/celery', '-A', 'mailer', 'worker'], 'mailer'],
    [['pypy3', 'svc.py'], 'svc'],
    // ruby, php, perl
    [['ruby', '-Ilib', '/srv/quotes/bin/quotes.rb'], 'quotes'],
    [['ruby', '/usr/local/bin/bundle', 'exec', 'puma', '-C', 'config/puma.rb'], 'storefront', { cwd: '/srv/storefront' }],
    [['ruby', '-e', 'puts 1'], 'ruby'],
    [['php', '-d', 'memory_limit=1G', '/var/www/blog/index.php'], 'blog'],
    [['php8.2', '-f', '/srv/cron/cleanup.php'], 'cleanup'],
    [['php', 'artisan', 'serve'], 'crm', { cwd: '/srv/crm' }],
    [['perl', '-w', '-Mstrict', '/srv/legacy/gateway.pl'], 'gateway'],
    // jvm
    [['java', '-Xmx1g', '-Dspring.profiles.active=prod', '-jar', '/srv/orders-service-1.4.2-SNAPSHOT.jar'], 'orders-service'],
    [['java', '-jar', 'app.jar'], 'ledger', { cwd: '/srv/ledger' }],
    [['java', '-cp', '/app/lib/*', 'com.acme.billing.BillingApplication'], 'BillingApplication'],
    [['java', '-cp', '/app/lib/*', 'com.acme.billing.Main'], 'billing'],
    [['java', '--module-path', 'mods', '-m', 'com.acme.orders/com.acme.orders.Main'], 'orders'],
    [['java', 'org.springframework.boot.loader.launch.JarLauncher'], 'payments', { cwd: '/workspace/payments' }],
    [['java', '-version'], 'java'],
    // dotnet, bun, deno
    [['dotnet', 'Orders.Api.dll'], 'Orders.Api'],
    [['dotnet', 'exec', '--runtimeconfig', 'x.json', '/app/Billing.dll'], 'Billing'],
    [['bun', 'run', '/srv/edge/index.ts'], 'edge'],
    [['bun', 'run', 'start'], 'edge', { cwd: '/srv/edge' }],
    [['deno', 'run', '--allow-net', '-c', 'deno.json', 'main.ts'], 'proxy', { cwd: '/srv/proxy' }],
    // other executables
    [['/usr/sbin/nginx', '-g', 'daemon off;'], 'nginx'],
    [['nginx: worker process'], 'nginx', { exe: '/usr/sbin/nginx' }],
    [['nginx: master process /usr/sbin/nginx'], 'nginx'],
    [['/usr/local/bin/envoy', '-c', '/etc/envoy.yaml'], 'envoy'],
    [['./orders-svc'], 'orders-svc', { exe: '/srv/orders-svc (deleted)' }],
  ];

  for (const [args, expected, options] of cases) {
    it(`${JSON.stringify(args)}${options ? ` ${JSON.stringify(options)}` : ''} -> ${expected}`, () => {
      assert.equal(serviceNameFromCommandLine(args, options?.exe, options?.cwd), expected);
    });
  }

  it('gives undefined for an empty command line without exe', () => {
    assert.equal(serviceNameFromCommandLine([]), undefined);
  });

  it('uses exe to recognise the interpreter when argv[0] was changed', () => {
    assert.equal(serviceNameFromCommandLine(['myapp', '/srv/orders/index.js'], '/usr/bin/node'), 'orders');
  });
  it('names a symlinked multi-call binary by how it was invoked, when comm confirms it', () => {
    // Debian: /usr/bin/redis-server -> redis-check-rdb; redis rewrites its title into argv[0].
    assert.equal(serviceNameFromCommandLine(['/usr/bin/redis-server 127.0.0.1:6379'], '/usr/bin/redis-check-rdb', '/', 'redis-server'), 'redis-server');
    assert.equal(serviceNameFromCommandLine(['ls', '-l'], '/bin/busybox', '/', 'ls'), 'ls');
    // comm is cut to 15 bytes by the kernel.
    assert.equal(serviceNameFromCommandLine(['/opt/x/very-long-program-name'], '/opt/x/multi', '/', 'very-long-progr'), 'very-long-program-name');
  });

  it('keeps the executable name when comm does not confirm argv[0]', () => {
    // A process can write anything to argv[0]; without comm agreeing, the file names it.
    assert.equal(serviceNameFromCommandLine(['fake-name'], '/usr/bin/redis-check-rdb', '/', 'redis-check-rdb'), 'redis-check-rdb');
    assert.equal(serviceNameFromCommandLine(['/usr/bin/redis-server 127.0.0.1:6379'], '/usr/bin/redis-check-rdb'), 'redis-check-rdb');
    assert.equal(serviceNameFromCommandLine(['postgres: postgres shop 127.0.0.1(4242) idle'], '/usr/lib/postgresql/15/bin/postgres', '/', 'postgres'), 'postgres');
  });
});

describe('deriveProcessInfo naming of invoked names', () => {
  it('passes comm on, so redis-server is not named redis-check-rdb', () => {
    const info = deriveProcessInfo({
      pid: 9, hostName: 'h', environ: '', comm: 'redis-server',
      cmdline: nul('/usr/bin/redis-server 127.0.0.1:6379'), exe: '/usr/bin/redis-check-rdb',
    });
    assert.deepEqual([info.serviceName, info.serviceNameSource, info.executableName], ['redis-server', 'cmdline', 'redis-check-rdb']);
  });
});

describe('containerIdFromCgroup', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['docker cgroup v1', `12:memory:/docker/${ID}\n11:cpu:/docker/${ID}\n`, ID],
    ['docker systemd v2', `0::/system.slice/docker-${ID}.scope\n`, ID],
    ['containerd cri v2', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/cri-containerd-${ID}.scope\n`, ID],
    ['kubepods v1', `4:pids:/kubepods/burstable/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/${ID}\n`, ID],
    ['crio', `0::/kubepods.slice/kubepods-pod1.slice/crio-${ID}.scope\n`, ID],
    ['podman', `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container\n`, ID],
    ['host process', '0::/user.slice/user-1000.slice/session-3.scope\n', undefined],
    ['63 hex', `0::/docker/${ID.slice(1)}\n`, undefined],
    ['65 hex', `0::/docker/${ID}a\n`, undefined],
    ['uppercase', `0::/docker/${ID.toUpperCase()}\n`, undefined],
    ['inside a word', `0::/x${ID}\n`, undefined],
    ['empty', '', undefined],
  ];
  for (const [name, cgroup, expected] of cases) {
    it(name, () => assert.equal(containerIdFromCgroup(cgroup), expected));
  }

  it('takes the innermost of nested ids', () => {
    const inner = 'a'.repeat(64);
    assert.equal(containerIdFromCgroup(`0::/docker/${ID}/docker/${inner}\n`), inner);
  });
});

describe('helpers', () => {
  it('splits NUL-separated data without a trailing empty element', () => {
    assert.deepEqual(splitNulSeparated(nul('a', 'b')), ['a', 'b']);
    assert.deepEqual(splitNulSeparated('a\0\0b'), ['a', '', 'b']);
    assert.deepEqual(splitNulSeparated(''), []);
    assert.deepEqual(splitNulSeparated(Buffer.from('x')), ['x']);
  });

  it('finds an environment variable only at the start of an entry', () => {
    assert.equal(environmentValue(nul('XSERVICE_NAME=no', 'SERVICE_NAME=yes'), 'SERVICE_NAME'), 'yes');
    assert.equal(environmentValue('SERVICE_NAME=last', 'SERVICE_NAME'), 'last');
    assert.equal(environmentValue(nul('A=1'), 'SERVICE_NAME'), undefined);
  });

  it('reads start time from stat even when comm holds spaces and parentheses', () => {
    const tail = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21';
    assert.equal(startTimeFromStat(`123 (node) ${tail}`), '987654');
    assert.equal(startTimeFromStat(`123 (a) b (c)) ${tail}`), '987654');
    assert.equal(startTimeFromStat('123 (x) S 1'), undefined);
    assert.equal(startTimeFromStat('garbage'), undefined);
  });
});

describe('ProcessInfoResolver with a fake procRoot', () => {
  let root: string;
  const writeProcess = (pid: number, files: { startTime?: string; environ?: string; cmdline?: string; comm?: string; cgroup?: string; exe?: string; cwd?: string }) => {
    const dir = join(root, String(pid));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'stat'), `${pid} (${files.comm ?? 'x'}) S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 ${files.startTime ?? '1000'} 1 1\n`);
    if (files.environ !== undefined) writeFileSync(join(dir, 'environ'), files.environ);
    if (files.cmdline !== undefined) writeFileSync(join(dir, 'cmdline'), files.cmdline);
    if (files.comm !== undefined) writeFileSync(join(dir, 'comm'), `${files.comm}\n`);
    if (files.cgroup !== undefined) writeFileSync(join(dir, 'cgroup'), files.cgroup);
    if (files.exe !== undefined) symlinkSync(files.exe, join(dir, 'exe'));
    if (files.cwd !== undefined) symlinkSync(files.cwd, join(dir, 'cwd'));
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'wiretrace-proc-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads environ, cmdline, exe, cwd, comm and cgroup', () => {
    writeProcess(100, {
      environ: nul('PATH=/bin'),
      cmdline: nul('node', 'index.js'),
      comm: 'node',
      cgroup: `0::/system.slice/docker-${ID}.scope\n`,
      exe: '/usr/local/bin/node',
      cwd: '/srv/orders',
    });
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h' });
    assert.deepEqual(resolver.resolve(100, 'ignored'), {
      pid: 100,
      serviceName: 'orders',
      serviceNameSource: 'cmdline',
      executableName: 'node',
      commandLine: 'node index.js',
      containerId: ID,
      hostName: 'h',
    });
  });

  it('caches, notices pid reuse by start time, and forgets', () => {
    let now = 0;
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h', now: () => now, revalidateMs: 1000 });
    writeProcess(200, { environ: nul('OTEL_SERVICE_NAME=first'), cmdline: nul('a'), startTime: '5000' });
    assert.equal(resolver.resolve(200).serviceName, 'first');
    // Same start time: the cached entry stands even if files change (and none are re-read).
    writeProcess(200, { environ: nul('OTEL_SERVICE_NAME=changed'), cmdline: nul('a'), startTime: '5000' });
    now = 5000;
    assert.equal(resolver.resolve(200).serviceName, 'first');
    // New start time: another process got the pid, but only noticed after revalidateMs.
    writeProcess(200, { environ: nul('OTEL_SERVICE_NAME=second'), cmdline: nul('b'), startTime: '9000' });
    now = 5500;
    assert.equal(resolver.resolve(200).serviceName, 'first');
    now = 6001;
    assert.equal(resolver.resolve(200).serviceName, 'second');
    // forget() drops the entry at once.
    writeProcess(200, { environ: nul('OTEL_SERVICE_NAME=third'), cmdline: nul('c'), startTime: '9000' });
    resolver.forget(200);
    assert.equal(resolver.resolve(200).serviceName, 'third');
  });

  it('keeps the cached info when the process is gone, else falls back to comm', () => {
    let now = 0;
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h', now: () => now });
    writeProcess(300, { environ: nul('SERVICE_NAME=short-lived'), cmdline: nul('x') });
    assert.equal(resolver.resolve(300, 'x').serviceName, 'short-lived');
    rmSync(join(root, '300'), { recursive: true });
    now = 10_000;
    assert.equal(resolver.resolve(300, 'x').serviceName, 'short-lived');
    assert.deepEqual(resolver.resolve(301, 'curl'), {
      pid: 301,
      serviceName: 'curl',
      serviceNameSource: 'comm',
      executableName: 'curl',
      hostName: 'h',
    });
    assert.equal(resolver.resolve(302).serviceName, 'pid-302');
  });

  it('remembers a pid with no /proc entry until revalidation, then sees a new process there', () => {
    let now = 0;
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h', now: () => now, revalidateMs: 1000 });
    assert.equal(resolver.resolve(310, 'curl').serviceName, 'curl');
    // A process appears under that pid: within the window the "gone" answer is served
    // from the cache (no /proc read per late event), after it the new process is named.
    writeProcess(310, { environ: nul('OTEL_SERVICE_NAME=newcomer'), cmdline: nul('x'), startTime: '7000' });
    now = 500;
    assert.equal(resolver.resolve(310, 'curl').serviceName, 'curl');
    now = 1500;
    assert.equal(resolver.resolve(310, 'curl').serviceName, 'newcomer');
  });

  it('goes on without environ when reading it fails (a directory stands in for EACCES as root)', () => {
    writeProcess(403, { cmdline: nul('/usr/bin/redis-server', '*:6379'), comm: 'redis-server' });
    mkdirSync(join(root, '403', 'environ'));
    const info = new ProcessInfoResolver({ procRoot: root, hostName: 'h' }).resolve(403);
    assert.deepEqual([info.serviceName, info.serviceNameSource], ['redis-server', 'cmdline']);
  });

  it('goes on without environ when it is missing', () => {
    writeProcess(401, { cmdline: nul('/usr/bin/redis-server', '*:6379'), comm: 'redis-server' });
    const info = new ProcessInfoResolver({ procRoot: root, hostName: 'h' }).resolve(401);
    assert.deepEqual([info.serviceName, info.serviceNameSource], ['redis-server', 'cmdline']);
  });

  it('uses /proc comm over the caller comm when cmdline is empty', () => {
    writeProcess(402, { cmdline: '', comm: 'kworker/0:1' });
    const info = new ProcessInfoResolver({ procRoot: root, hostName: 'h' }).resolve(402, 'stale');
    assert.deepEqual([info.serviceName, info.serviceNameSource], ['kworker/0:1', 'comm']);
  });

  it('bounds the cache, dropping the least recently used', () => {
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h', maxEntries: 2, now: () => 0 });
    for (const pid of [500, 501, 502]) writeProcess(pid, { environ: nul(`SERVICE_NAME=s${pid}`), cmdline: nul('x') });
    resolver.resolve(500);
    resolver.resolve(501);
    resolver.resolve(500); // 501 is now the least recently used
    resolver.resolve(502);
    assert.equal(resolver.size, 2);
    writeProcess(501, { environ: nul('SERVICE_NAME=reread'), cmdline: nul('x') });
    writeProcess(500, { environ: nul('SERVICE_NAME=not-reread'), cmdline: nul('x') });
    assert.equal(resolver.resolve(500).serviceName, 's500', 'still cached');
    assert.equal(resolver.resolve(501).serviceName, 'reread', 'was evicted');
  });

  it('never throws, whatever the pid or procRoot', () => {
    const resolver = new ProcessInfoResolver({ procRoot: join(root, 'missing'), hostName: 'h' });
    for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 60, 123]) {
      assert.equal(resolver.resolve(pid, 'c').serviceNameSource, 'comm');
    }
  });
});

describe('ProcessInfoResolver on the real /proc', { skip: process.platform !== 'linux' ? 'needs Linux /proc' : false }, () => {
  let child: ChildProcess;

  before(async () => {
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { ...process.env, OTEL_SERVICE_NAME: 'xyz' },
      stdio: 'ignore',
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('names a live child from its environment and reads its command line', () => {
    const resolver = new ProcessInfoResolver({ hostName: 'h' });
    const info = resolver.resolve(child.pid!, 'node');
    assert.equal(info.serviceName, 'xyz');
    assert.equal(info.serviceNameSource, 'env:OTEL_SERVICE_NAME');
    assert.equal(info.pid, child.pid);
    assert.match(info.commandLine ?? '', /setInterval/);
    assert.equal(info.executableName, process.execPath.split('/').pop());
  });

  it('keeps answering after the child exits', async () => {
    const resolver = new ProcessInfoResolver({ hostName: 'h', revalidateMs: 0 });
    const pid = child.pid!;
    assert.equal(resolver.resolve(pid, 'node').serviceName, 'xyz');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.equal(resolver.resolve(pid, 'node').serviceName, 'xyz', 'cached info outlives the process');
    const fresh = new ProcessInfoResolver({ hostName: 'h' });
    assert.deepEqual([fresh.resolve(pid, 'node').serviceName, fresh.resolve(pid, 'node').serviceNameSource], ['node', 'comm']);
  });
});
