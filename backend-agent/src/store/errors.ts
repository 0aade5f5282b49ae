/**
 * Errors the span store throws on purpose. Both carry a one-line message meant
 * to be shown as-is to an operator (CLI output, /api/health), so callers never
 * have to dig through SQLite's error chain to explain what went wrong.
 */

/** The store could not be opened: missing/corrupt file, schema too new, bad path. */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  constructor(
    message: string,
    /** SQLite's error code when SQLite reported it (e.g. SQLITE_NOTADB). */
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * A write failed because the database cannot be written right now (read-only
 * store or file, disk full, I/O error, lock held too long). Reads keep working;
 * the ingest pipeline should count the dropped batch and surface `message` in
 * its health (`StoreHealth.writeError`).
 */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** SQLite result codes (as better-sqlite3 names them) that mean "cannot write here", not "bad data". */
const UNWRITABLE_CODE_PREFIXES = [
  'SQLITE_READONLY',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  'SQLITE_PERM',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
];

export function sqliteCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export function isUnwritableError(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== undefined && UNWRITABLE_CODE_PREFIXES.some((prefix) => code.startsWith(prefix));
}

/** First line of an error message: SQLite messages are one line, but be safe. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0]!.trim();
}
