/**
 * The loader's PROC_INFO record: its byte layout (bpf/wiretrace.h,
 * docs/FRAMING.md) and how ProcessInfoResolver uses it next to /proc.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode, FrameDecoder, FramingError } from '../../../backend-agent/src/capture/framing.js';
import { ProcessInfoResolver, snapshotFromProcInfo } from '../../../backend-agent/src/capture/process-info.js';
import type { ProcInfoEvent } from '../../../backend-agent/src/model/events.js';

const ID = 'd9f0f5cbb5a7d0b3c5e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3';

function nul(...parts: string[]): string {
  return parts.map((p) => `${p}\0`).join('');
}

/** A record laid out by hand as loader.c writes it: 32-byte fixed part, then the strings back to back. */
function handMade(): Buffer {
  const strings = ['python3', '/usr/bin/python3.11', '/srv/app', `0::/docker-${ID}.scope\n`, 'checkout', '', nul('python3', 'cli.py', '--token=s3cret')];
  const head = Buffer.alloc(32);
  head.writeBigUInt64LE(123456n, 0);
  head.writeUInt32LE(4242, 8);
  head.writeUInt16LE(1, 12); // environ read
  strings.forEach((s, i) => head.writeUInt16LE(Buffer.byteLength(s), 16 + i * 2));
  const body = Buffer.concat([head, ...strings.map((s) => Buffer.from(s))]);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(8 + body.length, 0);
  h.writeUInt16LE(6, 4);
  return Buffer.concat([h, body]);
}

function decodeOne(record: Buffer): ProcInfoEvent {
  const events = new FrameDecoder().push(Buffer.concat([encode.preamble(), record]));
  assert.equal(events.length, 1);
  const ev = events[0];
  assert.ok(ev?.type === 'proc-info');
  return ev;
}

describe('PROC_INFO framing', () => {
  it('decodes the layout loader.c writes', () => {
    const ev = decodeOne(handMade());
    assert.deepEqual({ ...ev, cmdline: ev.cmdline.toString() }, {
      type: 'proc-info',
      pid: 4242,
      startTime: '123456',
      comm: 'python3',
      exe: '/usr/bin/python3.11',
      cwd: '/srv/app',
      cgroup: `0::/docker-${ID}.scope\n`,
      environ: { OTEL_SERVICE_NAME: 'checkout' },
      cmdline: nul('python3', 'cli.py', '--token=s3cret'),
      cmdlineTruncated: false,
    });
  });

  it('tells an unreadable environment (no flag) from one without the variables', () => {
    const base: Omit<ProcInfoEvent, 'type'> = {
      pid: 7, startTime: '', comm: 'curl', exe: '', cwd: '', cgroup: '', cmdline: Buffer.from(nul('curl', 'x')), cmdlineTruncated: true,
    };
    const unreadable = decodeOne(encode.procInfo(base));
    assert.equal(unreadable.environ, undefined);
    assert.equal(unreadable.startTime, '');
    assert.equal(unreadable.cmdlineTruncated, true);
    const empty = decodeOne(encode.procInfo({ ...base, environ: {} }));
    assert.deepEqual(empty.environ, {});
    const both = decodeOne(encode.procInfo({ ...base, environ: { OTEL_SERVICE_NAME: 'a', SERVICE_NAME: 'b' } }));
    assert.deepEqual(both.environ, { OTEL_SERVICE_NAME: 'a', SERVICE_NAME: 'b' });
  });

  it('refuses lengths that run past the record', () => {
    const rec = handMade();
    rec.writeUInt16LE(60000, 8 + 16 + 12); // cmdline_len
    assert.throws(() => new FrameDecoder().push(Buffer.concat([encode.preamble(), rec])), FramingError);
  });

  it('keeps the stream in step: the records after it decode as usual', () => {
    const events = new FrameDecoder().push(Buffer.concat([encode.preamble(), handMade(), encode.stats(1n, { a: 1 })]));
    assert.deepEqual(events.map((e) => e.type), ['proc-info', 'stats']);
  });
});

function withoutEnviron(ev: ProcInfoEvent): ProcInfoEvent {
  const { environ: _unused, ...rest } = ev;
  return rest;
}

describe('ProcessInfoResolver.learn', () => {
  let root: string;
  const record = (pid: number, startTime: string, service: string): ProcInfoEvent => ({
    type: 'proc-info',
    pid,
    startTime,
    comm: 'python3',
    exe: '/usr/bin/python3.11',
    cwd: '/srv/app',
    cgroup: `0::/docker-${ID}.scope\n`,
    environ: { OTEL_SERVICE_NAME: service },
    cmdline: Buffer.from(nul('python3', 'cli.py', '--password=hunter2')),
    cmdlineTruncated: false,
  });
  const writeProcess = (pid: number, startTime: string, service: string): void => {
    const dir = join(root, String(pid));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'stat'), `${pid} (x) S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 ${startTime} 1 1\n`);
    writeFileSync(join(dir, 'environ'), nul(`OTEL_SERVICE_NAME=${service}`));
    writeFileSync(join(dir, 'cmdline'), nul('x'));
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'wiretrace-procinfo-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('names a process that is gone from /proc by the record, not by comm', () => {
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h' });
    resolver.learn(record(500, '777', 'short-cli'));
    assert.deepEqual(resolver.resolve(500, 'python3'), {
      pid: 500,
      serviceName: 'short-cli',
      serviceNameSource: 'env:OTEL_SERVICE_NAME',
      executableName: 'python3.11',
      // Redacted like a command line read from /proc.
      commandLine: 'python3 cli.py --password=[REDACTED]',
      containerId: ID,
      hostName: 'h',
    });
    // Still after revalidation finds /proc empty.
    let now = 0;
    const later = new ProcessInfoResolver({ procRoot: root, hostName: 'h', now: () => now, revalidateMs: 1000 });
    later.learn(record(501, '777', 'short-cli'));
    now = 5000;
    assert.equal(later.resolve(501, 'python3').serviceName, 'short-cli');
  });

  it('uses the record while the same process lives, /proc for a new one under the pid', () => {
    let now = 0;
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h', now: () => now, revalidateMs: 1000 });
    writeProcess(510, '777', 'from-proc');
    resolver.learn(record(510, '777', 'from-record'));
    assert.equal(resolver.resolve(510).serviceName, 'from-record');
    now = 2000; // revalidated: same start time, the record stands
    assert.equal(resolver.resolve(510).serviceName, 'from-record');
    writeProcess(510, '999', 'reused-pid');
    now = 4000;
    assert.equal(resolver.resolve(510).serviceName, 'reused-pid');
  });

  it('prefers a live /proc over a record without a start time, and keeps the record once the process is gone', () => {
    let now = 0;
    const resolver = new ProcessInfoResolver({ procRoot: root, hostName: 'h', now: () => now, revalidateMs: 1000 });
    writeProcess(520, '777', 'from-proc');
    resolver.learn(record(520, '', 'from-record'));
    now = 2000;
    assert.equal(resolver.resolve(520).serviceName, 'from-proc');
    const gone = new ProcessInfoResolver({ procRoot: root, hostName: 'h', now: () => now, revalidateMs: 1000 });
    gone.learn(record(521, '', 'from-record'));
    now = 4000;
    assert.equal(gone.resolve(521, 'python3').serviceName, 'from-record');
  });

  it('turns only the carried variables into the environment it derives from', () => {
    const snapshot = snapshotFromProcInfo({ ...record(530, '1', 'a'), environ: { OTEL_SERVICE_NAME: 'a', SERVICE_NAME: 'b' } }, 'h');
    assert.equal(snapshot.environ, nul('OTEL_SERVICE_NAME=a', 'SERVICE_NAME=b'));
    const none = snapshotFromProcInfo({ ...withoutEnviron(record(531, '1', 'a')), exe: '', cwd: '', cgroup: '' }, 'h');
    assert.deepEqual([none.environ, none.exe, none.cwd, none.cgroup], ['', undefined, undefined, undefined]);
  });
});
