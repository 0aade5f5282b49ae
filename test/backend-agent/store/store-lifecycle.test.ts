import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore, StoreOpenError, StoreWriteError } from '../../../backend-agent/src/store/index.js';
import { runMigrations, schemaVersion, type Migration } from '../../../backend-agent/src/store/migrations.js';
import { SCHEMA_MIGRATIONS } from '../../../backend-agent/src/store/schema.js';
import { spanToRow, SPAN_COLUMNS } from '../../../backend-agent/src/store/span-row.js';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { T0_US, makeSpan, traceIdOf } from '../fixtures/spans.js';
import { openTempStore, removeStoreDir, tempDir, tempStorePath } from '../fixtures/temp-store.js';

const LATEST = SCHEMA_MIGRATIONS.length;

/** A store at schema v7 (before the identity keys) holding `spans`; the caller closes it. */
function writeV7Store(file: string, spans: readonly Span[]): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  runMigrations(db, SCHEMA_MIGRATIONS.slice(0, 7), file);
  const v7Columns = SPAN_COLUMNS.filter((c) => c !== 'trace_key' && c !== 'span_key');
  const insert = db.prepare(`INSERT INTO spans (${v7Columns.join(', ')}) VALUES (${v7Columns.map((c) => `@${c}`).join(', ')})`);
  for (const span of spans) {
    const { trace_key: _t, span_key: _s, ...v7Row } = spanToRow(span);
    insert.run(v7Row);
  }
  db.prepare("UPDATE counters SET value = ? WHERE name = 'spans'").run(spans.length);
  return db;
}

/** The store at `file` is at v8, every row has its keys and the identity index is on them; then it is removed. */
function assertMigratedToV8(file: string): void {
  const after = new Database(file, { readonly: true });
  try {
    assert.equal(schemaVersion(after), 8);
    assert.equal(after.prepare('SELECT count(*) FROM spans WHERE trace_key IS NULL OR span_key IS NULL').pluck().get(), 0);
    const indexed = after.prepare("SELECT name FROM pragma_index_info('spans_identity') ORDER BY seqno").pluck().all();
    assert.deepEqual(indexed, ['trace_key', 'span_key']);
  } finally {
    after.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

describe('opening the store', () => {
  // synchronous=NORMAL and the busy timeout are per connection, so only the persistent settings are checked here.
  test('a new store uses WAL, incremental auto-vacuum and the latest schema', () => {
    const store = openTempStore();
    store.close();
    const db = new Database(store.path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'INCREMENTAL');
      assert.equal(schemaVersion(db), LATEST);
    } finally {
      db.close();
      removeStoreDir(store);
    }
  });

  test('a new store gets 8 KiB pages; an existing store keeps its page size', () => {
    const fresh = openTempStore();
    fresh.close();
    const file = tempStorePath();
    // A store made by an older agent, with SQLite's default 4 KiB pages.
    const old = new Database(file);
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    runMigrations(old, SCHEMA_MIGRATIONS, file);
    old.close();
    const reopened = openStore({ path: file, retention: {} });
    reopened.insertSpans([makeSpan({ traceId: traceIdOf(1) })]);
    reopened.close();
    const pageSize = (f: string): number => {
      const db = new Database(f, { readonly: true });
      try {
        return db.pragma('page_size', { simple: true }) as number;
      } finally {
        db.close();
      }
    };
    try {
      assert.equal(pageSize(fresh.path), 8192);
      assert.equal(pageSize(file), 4096);
    } finally {
      removeStoreDir(fresh);
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  test('creates the parent directory of the database file', () => {
    const dir = tempDir();
    const store = openStore({ path: path.join(dir, 'a', 'b', 'spans.db'), retention: {} });
    assert.ok(fs.existsSync(path.join(dir, 'a', 'b', 'spans.db')));
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a file that is not SQLite fails with a one-line StoreOpenError', () => {
    const file = tempStorePath();
    fs.writeFileSync(file, 'this is not a database, just some text that is long enough to look like a header...'.repeat(20));
    assert.throws(
      () => openStore({ path: file, retention: {} }),
      (err: unknown) => {
        assert.ok(err instanceof StoreOpenError);
        assert.match(err.message, /^cannot open span store .*spans\.db: file is not a SQLite database/);
        assert.equal(err.message.includes('\n'), false);
        assert.equal(err.code, 'SQLITE_NOTADB');
        return true;
      },
    );
    assert.throws(() => openStore({ path: file, retention: {}, readonly: true }), StoreOpenError);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  test('a SQLite database that is not a span store is refused, not modified', () => {
    const file = tempStorePath();
    const other = new Database(file);
    other.exec('CREATE TABLE notes (text TEXT)');
    other.close();
    assert.throws(() => openStore({ path: file, retention: {} }), /not a wiretrace span store/);
    const check = new Database(file, { readonly: true });
    assert.equal(schemaVersion(check), 0);
    check.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  test('a database from a newer agent is refused with a clear error', () => {
    const store = openTempStore();
    store.close();
    const db = new Database(store.path);
    db.pragma(`user_version = ${LATEST + 1}`);
    db.close();
    assert.throws(
      () => openStore({ path: store.path, retention: {} }),
      (err: unknown) =>
        err instanceof StoreOpenError &&
        err.message.includes(`schema version ${LATEST + 1}, newer than this agent supports (${LATEST})`),
    );
    assert.throws(() => openStore({ path: store.path, retention: {}, readonly: true }), /newer than this agent supports/);
    removeStoreDir(store);
  });

  test('a read-only open of a missing file fails clearly', () => {
    const file = path.join(tempDir(), 'missing.db');
    assert.throws(() => openStore({ path: file, retention: {}, readonly: true }), /cannot open span store .*missing\.db: cannot open the file/);
    assert.equal(fs.existsSync(file), false, 'read-only open must not create the file');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});

describe('schema migrations', () => {
  test('a version 1 database (no catalogs) is migrated, keeping its spans and backfilling catalogs', () => {
    const file = tempStorePath();
    const db = new Database(file);
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    runMigrations(db, SCHEMA_MIGRATIONS.slice(0, 1), file);
    assert.equal(schemaVersion(db), 1);
    // Columns added by later migrations did not exist in version 1.
    const v1Columns = SPAN_COLUMNS.filter((c) => !['request_bytes', 'response_bytes', 'trace_key', 'span_key'].includes(c));
    const insert = db.prepare(`INSERT INTO spans (${v1Columns.join(', ')}) VALUES (${v1Columns.map((c) => `@${c}`).join(', ')})`);
    const old = [
      makeSpan({ traceId: traceIdOf(1), service: 'legacy', name: 'GET /old', startTimeUs: T0_US }),
      makeSpan({ traceId: traceIdOf(2), service: 'legacy', name: 'GET /old', kind: 'client', startTimeUs: T0_US + 5 }),
    ];
    // Stores of that age held plain JSON (span-codec.ts reads both forms).
    for (const span of old) insert.run({ ...spanToRow(span), span_json: JSON.stringify(span) });
    db.close();

    const store = openStore({ path: file, retention: {} });
    try {
      assert.equal(store.stats().spanCount, 2);
      assert.deepEqual(store.services(), ['legacy']);
      assert.deepEqual(store.operations('legacy'), [
        { name: 'GET /old', spanKind: 'client' },
        { name: 'GET /old', spanKind: 'server' },
      ]);
      assert.deepEqual(store.getTrace(traceIdOf(1)), [old[0]]);
      const [edge] = store.dependencyStats(T0_US - 1, T0_US + 10);
      assert.equal(edge?.requestBytes, old[1]?.network.requestBytes, 'v4 backfilled sizes from the JSON');
      assert.equal(edge?.responseBytes, old[1]?.network.responseBytes);
      store.insertSpans([makeSpan({ traceId: traceIdOf(3), service: 'legacy' })]);
      assert.equal(store.stats().spanCount, 3, 'counter trigger works after migration');
    } finally {
      store.close();
    }
    const check = new Database(file, { readonly: true });
    assert.equal(schemaVersion(check), LATEST);
    // v6: the catalogs are kept by the writer, not by triggers; the rollup was filled from the old spans.
    assert.equal(check.prepare("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger'").pluck().get(), 0);
    assert.equal(check.prepare('SELECT SUM(spans) FROM edge_minutes').pluck().get(), 3);
    assert.equal(check.prepare("SELECT value FROM counters WHERE name = 'spans'").pluck().get(), 3);
    check.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  test('a version 7 database gets its identity keys (v8): traces, replacements and new spans work as before', () => {
    const file = tempStorePath();
    const old = [
      makeSpan({ traceId: traceIdOf(1), service: 'legacy', name: 'GET /a', startTimeUs: T0_US }),
      makeSpan({ traceId: traceIdOf(1), service: 'legacy', name: 'GET /a', kind: 'client', startTimeUs: T0_US + 5 }),
      makeSpan({ traceId: traceIdOf(2), service: 'legacy', name: 'GET /b', startTimeUs: T0_US + 9 }),
    ];
    writeV7Store(file, old).close();

    const announced: number[] = [];
    const store = openStore({ path: file, retention: {}, onMigration: (m) => announced.push(m.version) });
    try {
      // The agent logs each migration before it runs: v8 rewrites every row.
      assert.deepEqual(announced, [8]);
      assert.deepEqual(store.getTrace(traceIdOf(1)), [old[0], old[1]]);
      assert.deepEqual([...store.getTraces([traceIdOf(1), traceIdOf(2)]).keys()].sort(), [traceIdOf(1), traceIdOf(2)]);
      assert.deepEqual(store.searchSpans({ traceId: traceIdOf(2), limit: 10 }), [old[2]]);
      // A replayed copy of a stored span replaces it; a new span is added.
      store.insertSpans([{ ...old[2]!, name: 'GET /b2' }, makeSpan({ traceId: traceIdOf(2), kind: 'client', service: 'legacy', name: 'GET /c', startTimeUs: T0_US + 20 })]);
      assert.equal(store.stats().spanCount, 4);
      assert.deepEqual(store.getTrace(traceIdOf(2)).map((s) => s.name), ['GET /b2', 'GET /c']);
    } finally {
      store.close();
    }
    assertMigratedToV8(file);
  });

  test('a v8 migration stopped part way (some rows with keys, no new index) finishes at the next start', () => {
    const file = tempStorePath();
    const old = [1, 2, 3].map((i) => makeSpan({ traceId: traceIdOf(i), service: 'legacy', name: `GET /${i}`, startTimeUs: T0_US + i }));
    const db = writeV7Store(file, old);
    // What a crash during the committed batches leaves: the key columns, the first row's keys, still version 7.
    db.exec('ALTER TABLE spans ADD COLUMN trace_key INTEGER; ALTER TABLE spans ADD COLUMN span_key INTEGER');
    const first = spanToRow(old[0]!);
    db.prepare('UPDATE spans SET trace_key = ?, span_key = ? WHERE trace_id = ?').run(first.trace_key, first.span_key, first.trace_id);
    assert.equal(schemaVersion(db), 7);
    db.close();

    const store = openStore({ path: file, retention: {} });
    try {
      for (const [i, span] of old.entries()) assert.deepEqual(store.getTrace(traceIdOf(i + 1)), [span]);
      store.insertSpans([{ ...old[0]!, name: 'GET /1 again' }]);
      assert.equal(store.stats().spanCount, 3, 'a replayed copy of a row keyed before the crash replaces it');
    } finally {
      store.close();
    }
    assertMigratedToV8(file);
  });

  test('a read-only open of an older schema asks for a read-write open instead of migrating', () => {
    const file = tempStorePath();
    const db = new Database(file);
    runMigrations(db, SCHEMA_MIGRATIONS.slice(0, 1), file);
    db.close();
    assert.throws(() => openStore({ path: file, retention: {}, readonly: true }), /schema version 1 is older than \d+; open it read-write once/);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  test('each migration is atomic: a failing one leaves the previous version intact', () => {
    const db = new Database(':memory:');
    const migrations: Migration[] = [
      { version: 1, description: 'ok', up: (d) => void d.exec('CREATE TABLE a (x INTEGER)') },
      {
        version: 2,
        description: 'fails half way',
        up: (d) => {
          d.exec('CREATE TABLE b (x INTEGER)');
          throw new Error('boom');
        },
      },
    ];
    assert.throws(() => runMigrations(db, migrations, ':memory:'), /boom/);
    assert.equal(schemaVersion(db), 1);
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    assert.deepEqual(tables, ['a']);
    assert.deepEqual(runMigrations(db, migrations.slice(0, 1), ':memory:'), [], 'nothing left to apply');
    db.close();
  });

  test('an out-of-order migration list is a programming error', () => {
    const db = new Database(':memory:');
    assert.throws(() => runMigrations(db, [{ version: 2, description: 'x', up: () => {} }], ':memory:'), /out of order/);
    db.close();
  });
});

describe('write failures', () => {
  test('a read-only store serves queries and refuses writes with StoreWriteError', () => {
    const writer = openTempStore();
    writer.insertSpans([makeSpan({ traceId: traceIdOf(1), service: 'svc' })]);
    writer.close();

    const reader = openStore({ path: writer.path, retention: { maxAgeMs: 1 }, readonly: true });
    try {
      assert.equal(reader.readonly, true);
      assert.equal(reader.getTrace(traceIdOf(1)).length, 1);
      assert.deepEqual(reader.findTraces({ service: 'svc', limit: 5 }), [traceIdOf(1)]);
      assert.deepEqual(reader.services(), ['svc']);
      assert.equal(reader.stats().spanCount, 1);
      assert.throws(
        () => reader.insertSpans([makeSpan({ traceId: traceIdOf(2) })]),
        (err: unknown) => err instanceof StoreWriteError && /open read-only/.test(err.message) && !err.message.includes('\n'),
      );
      assert.match(reader.health().writeError ?? '', /open read-only/);
      assert.throws(() => reader.applyRetention(T0_US * 2), StoreWriteError);
      assert.equal(reader.getTrace(traceIdOf(1)).length, 1, 'still readable after failed writes');
    } finally {
      reader.close();
      removeStoreDir(writer);
    }
  });

  test('a write that cannot get the lock is a StoreWriteError; reads continue; the error clears after a good write', () => {
    const store = openStore({ path: tempStorePath(), retention: {}, busyTimeoutMs: 50 });
    store.insertSpans([makeSpan({ traceId: traceIdOf(1), service: 'svc' })]);
    // Another process holds the write lock (e.g. a stuck writer).
    const other = new Database(store.path, { timeout: 50 });
    other.exec('BEGIN IMMEDIATE');
    try {
      assert.throws(
        () => store.insertSpans([makeSpan({ traceId: traceIdOf(2), service: 'svc' })]),
        (err: unknown) => err instanceof StoreWriteError && err.code === 'SQLITE_BUSY' && /^cannot write to span store /.test(err.message),
      );
      assert.match(store.writeError() ?? '', /SQLITE_BUSY/);
      assert.equal(store.health().writeError, store.writeError());
      // WAL: readers are not blocked by the writer.
      assert.deepEqual(store.findTraces({ service: 'svc', limit: 10 }), [traceIdOf(1)]);
      assert.deepEqual(store.getTrace(traceIdOf(2)), [], 'the failed batch was not partly stored');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    store.insertSpans([makeSpan({ traceId: traceIdOf(2), service: 'svc' })]);
    assert.equal(store.writeError(), undefined);
    assert.equal(store.stats().spanCount, 2);
    store.close();
    removeStoreDir(store);
  });

  test('a bad span (programming error) is not reported as an unwritable store', () => {
    const store = openTempStore();
    const bad = makeSpan({ kind: 'internal' as unknown as 'client' });
    assert.throws(() => store.insertSpans([bad]), (err: unknown) => !(err instanceof StoreWriteError));
    assert.equal(store.writeError(), undefined);
    store.close();
    removeStoreDir(store);
  });
});
