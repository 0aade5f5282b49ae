/**
 * Reads for query-time trace building (reconstruct/trace-builder.ts) that the
 * general lookups do not cover.
 *
 * The builder reads every span starting in a time window, then the whole of
 * each header trace seen there. Most of those traces' spans were in the
 * window already, and decoding a span is most of a lookup's cost, so the
 * second read asks only for the spans outside the window. Between rounds the
 * window moves (to the tree's extent) but mostly overlaps the last one, so a
 * WindowReader reads only the part not read before.
 */
import type Database from 'better-sqlite3';
import type { Span } from '../model/span.js';
import { rowToSpan } from './span-row.js';
import { traceKey } from './row-keys.js';

/** Bound parameters per IN (...) list, well under SQLite's limit. */
const MAX_IN_PARAMS = 500;

interface StartedRow {
  start_us: number;
  span_json: string;
}

export interface WindowReader {
  /** The spans spansStartingBetween(startUs, endUs, limit) returns, in no particular order. */
  read(startUs: number, endUs: number, limit: number): Span[];
}

export class TraceReads {
  /** One statement per IN-list length (powers of two): only the number of placeholders varies. */
  private readonly outsideStatements = new Map<number, Database.Statement<unknown[], string>>();
  /** spansStartingBetween's query with the stored start, which says whether a span is inside a later window. */
  private readonly startingBetween: Database.Statement<[number, number, number], StartedRow>;

  constructor(private readonly db: Database.Database) {
    this.startingBetween = db.prepare<[number, number, number], StartedRow>(
      'SELECT start_us, span_json FROM spans WHERE start_us >= ? AND start_us <= ? ORDER BY start_us, span_id, kind LIMIT ?',
    );
  }

  /** A reader for one trace build: it remembers what it read, so overlapping windows are read once. */
  windowReader(): WindowReader {
    return new OverlapReader((a, b, limit) => this.startingBetween.all(a, b, limit).map((r) => ({ startUs: r.start_us, span: rowToSpan(r.span_json) })));
  }

  /**
   * Spans of `traceIds` starting before `startUs` or after `endUs`: what a
   * trace lookup adds to a read of spansStartingBetween(startUs, endUs) (the
   * same rounding of the bounds, so the two reads never overlap or leave a gap).
   */
  spansOfTracesOutside(traceIds: readonly string[], startUs: number, endUs: number): Span[] {
    const unique = [...new Set(traceIds)];
    const out: Span[] = [];
    for (let i = 0; i < unique.length; i += MAX_IN_PARAMS) {
      const chunk = unique.slice(i, i + MAX_IN_PARAMS);
      // Padded with its last id to a power of two: a few statement shapes, and a repeated id in IN (...) changes nothing.
      const size = Math.min(MAX_IN_PARAMS, 2 ** Math.ceil(Math.log2(chunk.length)));
      while (chunk.length < size) chunk.push(chunk[chunk.length - 1]!);
      for (const text of this.outside(size).all(...chunk.map(traceKey), ...chunk, Math.floor(startUs), Math.ceil(endUs))) out.push(rowToSpan(text));
    }
    return out;
  }

  private outside(n: number): Database.Statement<unknown[], string> {
    let stmt = this.outsideStatements.get(n);
    if (!stmt) {
      const placeholders = Array.from({ length: n }, () => '?').join(', ');
      // The identity index finds each trace's rows by key (the ids drop a colliding trace's); start_us is then read from
      // the row, and only rows outside the window are decoded.
      stmt = this.db
        .prepare<unknown[], string>(
          `SELECT span_json FROM spans WHERE trace_key IN (${placeholders}) AND trace_id IN (${placeholders}) AND (start_us < ? OR start_us > ?)`,
        )
        .pluck();
      this.outsideStatements.set(n, stmt);
    }
    return stmt;
  }
}

interface Started {
  /** The stored start_us (the column the window's bounds are compared with). */
  startUs: number;
  span: Span;
}

/**
 * Keeps every span of the last window [from, to] (when the read was not cut
 * short by the limit). A window overlapping it reads just the parts outside;
 * when the window holds `limit` spans or more, it is read whole, as the limit
 * then decides which spans are returned.
 */
class OverlapReader implements WindowReader {
  private from = 0;
  private to = -1;
  private held: Started[] = [];

  constructor(private readonly readRange: (startUs: number, endUs: number, limit: number) => Started[]) {}

  read(startUs: number, endUs: number, limit: number): Span[] {
    const n = Math.max(0, Math.floor(limit));
    if (n === 0) return [];
    const a = Math.floor(startUs);
    const b = Math.ceil(endUs);
    if (b < a) return [];
    if (this.to >= this.from && a <= this.to + 1 && b >= this.from - 1) {
      const before = a < this.from ? this.readRange(a, this.from - 1, n) : [];
      const after = b > this.to ? this.readRange(this.to + 1, b, n) : [];
      const inside = this.held.filter((r) => r.startUs >= a && r.startUs <= b);
      if (before.length + after.length + inside.length < n) {
        // Only this window is kept (fewer than `limit` spans): the next one overlaps it, and memory stays bounded.
        this.held = [...before, ...inside, ...after];
        this.from = a;
        this.to = b;
        return this.held.map((r) => r.span);
      }
    }
    const rows = this.readRange(a, b, n);
    if (rows.length < n) {
      this.held = rows;
      this.from = a;
      this.to = b;
    } else {
      this.from = 0;
      this.to = -1;
      this.held = [];
    }
    return rows.map((r) => r.span);
  }
}
