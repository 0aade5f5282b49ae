/**
 * Versioned schema migrations driven by `PRAGMA user_version`.
 *
 * Each migration moves the schema from `version - 1` to `version` inside one
 * transaction together with the user_version bump, so a crash mid-migration
 * leaves the previous version intact. A database whose version is higher than
 * the newest migration was written by a newer agent: we refuse to touch it.
 */
import type Database from 'better-sqlite3';
import { StoreOpenError } from './errors.js';

export interface Migration {
  /** Schema version after this migration; versions are 1, 2, 3... with no gaps. */
  version: number;
  description: string;
  /**
   * Work done before `up`'s transaction, committing as it goes: a migration
   * that rewrites every row would otherwise hold the whole rewrite in the
   * write-ahead log (as much free disk as the store, else it cannot finish
   * and the store cannot be opened). It must be safe to run again after a
   * crash part way; `up` then finishes the job.
   */
  before?(db: Database.Database): void;
  up(db: Database.Database): void;
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
}

/** Throws when the list is not 1..n in order: a programming error caught by tests. */
function checkOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order: index ${i} has version ${m.version}`);
  });
}

/**
 * Fails with a StoreOpenError when the database is newer than `migrations`
 * know. Used by read-only opens too, which cannot migrate.
 */
export function assertNotNewer(db: Database.Database, migrations: readonly Migration[], path: string): number {
  const current = schemaVersion(db);
  const latest = latestVersion(migrations);
  if (current > latest) {
    throw new StoreOpenError(
      `span store ${path} has schema version ${current}, newer than this agent supports (${latest}): upgrade wiretrace or use another --db path`,
    );
  }
  return current;
}

/**
 * Applies every migration above the current version, in order, each in its own
 * transaction. Returns the versions applied. `onApply` hears of each one before
 * it starts: some rewrite every row and take minutes on a big store.
 */
export function runMigrations(
  db: Database.Database,
  migrations: readonly Migration[],
  path: string,
  onApply?: (migration: Migration) => void,
): number[] {
  checkOrdered(migrations);
  const current = assertNotNewer(db, migrations, path);
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    onApply?.(migration);
    migration.before?.(db);
    db.transaction(() => {
      migration.up(db);
      // PRAGMA takes no bound parameters; the value is an integer from our own
      // migration list (checked above), never user input.
      db.pragma(`user_version = ${Math.trunc(migration.version)}`);
    }).immediate();
    applied.push(migration.version);
  }
  return applied;
}
