/**
 * Redis from the wire: a private redis-server on a loopback port, driven by
 * the real redis-cli (one command per connection, SELECT with -n, and
 * --pipe for a pipelined batch), while the real agent captures with eBPF.
 * The spans must say what the client did: command, key with values hidden,
 * errors by their Redis prefix, the database index as namespace, client and
 * server services.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ebpfUnavailable, requireBuilt, run, startAgent, stop, waitFor, type AgentHandle, type RunningProcess } from './helpers.js';
import { findBinary, runClient, spansOf, type FoundSpan } from './postgres-redis-helpers.js';

const PORT = 19202;
const SERVER = findBinary(['/usr/bin/redis-server']);
const CLI = findBinary(['/usr/bin/redis-cli']);
const missing = !SERVER || !CLI ? 'redis-server/redis-cli are not installed (apt-get install redis-server redis-tools; scripts/setup.sh does)' : undefined;
const skipReason = ebpfUnavailable() ?? missing;
if (missing) console.log(`# skipping Redis capture tests: ${missing}`);

/** RESP arrays, as a client library would send them. */
function resp(...commands: string[][]): string {
  return commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join('');
}

describe('Redis capture (eBPF, real server and client)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let server: RunningProcess | undefined;
  let client: FoundSpan[] = [];
  let serverSpans: FoundSpan[] = [];
  const cli = (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    runClient(CLI as string, ['-h', '127.0.0.1', '-p', String(PORT), ...args], input === undefined ? {} : { input });

  before(async () => {
    requireBuilt();
    agent = await startAgent(['--port', String(PORT)]);
    server = run(SERVER as string, ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
    await waitFor('redis-server to answer', async () => {
      if (server?.child.exitCode !== null) throw new Error(`redis-server exited: ${server?.stdout()}`);
      const r = await runClient(CLI as string, ['-h', '127.0.0.1', '-p', String(PORT), 'PING'], { allowFailure: true });
      return r.stdout.includes('PONG') ? true : undefined;
    });
    await cli(['SET', 'user:1', 'secret-value']);
    await cli(['-n', '3', 'HSET', 'cart:9', 'item', 'secret-item', 'qty', '2']);
    await cli(['LPUSH', 'list:a', 'secret-x']);
    const wrong = await cli(['GET', 'list:a']);
    assert.match(wrong.stdout, /WRONGTYPE/);
    // Three commands written before any reply is read (redis-cli adds its own ECHO at the end).
    const piped = await cli(['--pipe'], resp(['SET', 'p:1', 'secret-piped'], ['GET', 'p:1'], ['INCR', 'counter:1']));
    assert.match(piped.stdout, /replies: 3/);

    await waitFor(
      'the redis-cli and redis-server spans',
      async () => {
        client = (await spansOf(agent.url, 'redis-cli')).filter((s) => s.service === 'redis-cli' && s.kind === 'client');
        // The server's spans are found through the client's traces (the agent
        // joins both ends of a loopback connection) and by pid: Debian's
        // redis-server is a symlink to redis-check-rdb and rewrites its title
        // over its environment, so no variable can name it.
        serverSpans = client.length === 0 ? [] : (await spansOf(agent.url, 'redis-cli')).filter((s) => s.kind === 'server' && s.tags['process.pid'] === serverPid());
        const has = (t: string): boolean => client.some((s) => s.tags['db.query.text'] === t);
        return has('INCR counter:1') && has('GET list:a') && serverSpans.some((s) => s.tags['db.query.text'] === 'INCR counter:1') ? true : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; redis-cli ${JSON.stringify(client.map((s) => s.tags['db.query.text']))}; redis-server ${JSON.stringify(serverSpans.map((s) => [s.service, s.tags['db.query.text']]))}`);
    });
  });

  after(async () => {
    if (server) await stop(server);
    if (agent) await stop(agent.proc);
  });

  const serverPid = (): number | undefined => server?.child.pid;
  const byQuery = (spans: FoundSpan[], text: string): FoundSpan | undefined => spans.find((s) => s.tags['db.query.text'] === text);

  test('a command is a client span: name as operation, key kept, values hidden, database 0', () => {
    const set = byQuery(client, 'SET user:1 ?');
    assert.ok(set, JSON.stringify(client.map((s) => s.tags['db.query.text'])));
    assert.equal(set.name, 'SET 0');
    assert.equal(set.tags['db.system.name'], 'redis');
    assert.equal(set.tags['db.operation.name'], 'SET');
    assert.equal(set.tags['db.namespace'], '0');
    assert.equal(set.tags['peer.service'], serverSpans[0]?.service, 'the peer is the server process, by its service name');
    // Named by how it was invoked (comm and argv[0] agree), not by the redis-check-rdb file it links to.
    assert.equal(serverSpans[0]?.service, 'redis-server');
    assert.equal(set.tags['wiretrace.peer_local'], true);
    assert.equal(set.tags['server.port'], PORT);
    assert.equal(set.tags['error'], undefined);
  });

  test('SELECT sets the namespace of the commands after it', () => {
    const select = byQuery(client, 'SELECT ?');
    assert.ok(select);
    const hset = byQuery(client, 'HSET cart:9 ? ? ? ?');
    assert.ok(hset);
    assert.equal(hset.tags['db.namespace'], '3');
    assert.equal(hset.name, 'HSET 3');
  });

  test('an error reply is an error span with the Redis error prefix as status code', () => {
    const get = byQuery(client, 'GET list:a');
    assert.ok(get);
    assert.equal(get.tags['db.response.status_code'], 'WRONGTYPE');
    assert.equal(get.tags['error'], true);
    assert.match(String(get.tags['otel.status_description']), /^WRONGTYPE: Operation against a key holding the wrong kind of value/);
  });

  test('pipelined commands are paired with their replies in order', () => {
    for (const text of ['SET p:1 ?', 'GET p:1', 'INCR counter:1']) {
      const s = byQuery(client, text);
      assert.ok(s, text);
      assert.equal(s.tags['error'], undefined, text);
    }
    assert.ok(byQuery(client, 'ECHO ?'), "redis-cli --pipe's closing ECHO");
  });

  test('the server side sees the same commands as server spans of the redis service', () => {
    const get = byQuery(serverSpans, 'GET list:a');
    assert.equal(get?.tags['db.response.status_code'], 'WRONGTYPE');
    assert.equal(get?.tags['peer.service'], 'redis-cli');
    assert.equal(byQuery(serverSpans, 'HSET cart:9 ? ? ? ?')?.tags['db.namespace'], '3');
  });

  test('no value the client sent reaches the store', () => {
    for (const s of [...client, ...serverSpans]) {
      const text = JSON.stringify(s.tags);
      for (const secret of ['secret-value', 'secret-item', 'secret-x', 'secret-piped']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });
});
