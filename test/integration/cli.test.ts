/**
 * What a user sees when capture cannot start: one line naming what is
 * missing, a non-zero exit, no stack trace. Runs the real CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_BIN, requireBuilt, run, tempDir } from './helpers.js';

function assertOneLine(stderr: string, re: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0] ?? '', re);
  assert.doesNotMatch(stderr, /\bat .*\.js:\d+/, 'no stack trace');
}

test('--help lists the flags with their environment variables', async () => {
  requireBuilt();
  const p = run('node', [AGENT_BIN, '--help']);
  assert.equal(await p.exited, 0);
  for (const flag of ['--db', '--listen', '--token', '--capture', '--pid', '--port', '--retention-age', '--retention-size']) {
    assert.ok(p.stdout().includes(flag), flag);
  }
  assert.match(p.stdout(), /WIRETRACE_LISTEN/);
});

test('without root: one line naming the missing privilege', async () => {
  requireBuilt();
  const db = path.join(tempDir('wiretrace-cli-'), 'x.db');
  // As root, drop to nobody for real; as a normal user we already lack the capabilities.
  const asNobody = process.getuid?.() === 0 ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', 'node']] : ['node', []];
  const [cmd, pre] = asNobody as [string, string[]];
  const p = run(cmd, [...pre, AGENT_BIN, '--db', db]);
  assert.equal(await p.exited, 2);
  assertOneLine(p.stderr(), /^wiretrace-agent: error: missing privilege: .*CAP_BPF/);
});

test('without BTF: one line naming the missing BTF file', { skip: process.getuid?.() === 0 ? false : 'needs root to get past the privilege check' }, async () => {
  requireBuilt();
  const db = path.join(tempDir('wiretrace-cli-'), 'x.db');
  const p = run('node', [AGENT_BIN, '--db', db], { WIRETRACE_BTF_PATH: '/nonexistent/vmlinux' });
  assert.equal(await p.exited, 2);
  assertOneLine(p.stderr(), /^wiretrace-agent: error: missing BTF: \/nonexistent\/vmlinux not found/);
});

test('a bad flag is one line, exit 2', async () => {
  requireBuilt();
  const p = run('node', [AGENT_BIN, '--listen', 'nowhere']);
  assert.equal(await p.exited, 2);
  assertOneLine(p.stderr(), /^wiretrace-agent: error: --listen must be HOST:PORT/);
});

test('a file that is not a store is one line, exit 2', async () => {
  requireBuilt();
  const file = path.join(tempDir('wiretrace-cli-'), 'not-a-store.db');
  fs.writeFileSync(file, 'this is not SQLite '.repeat(100));
  const p = run('node', [AGENT_BIN, '--capture', 'off', '--db', file]);
  assert.equal(await p.exited, 2);
  assertOneLine(p.stderr(), /^wiretrace-agent: error: .*not-a-store\.db/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'this is not SQLite '.repeat(100), 'the file is left untouched');
});
