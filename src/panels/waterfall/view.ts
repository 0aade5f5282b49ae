/**
 * What the waterfall shows of its rows: collapsed subtrees hidden, search
 * matches found, and the window of rows that is in view (virtualisation:
 * only those are in the DOM). Pure, over the depth-first rows of tree.ts.
 */
import type { SpanRow } from './tree';

/** Rows not inside a collapsed subtree, in order. O(visible) thanks to subtree sizes. */
export function visibleRows(rows: readonly SpanRow[], collapsed: ReadonlySet<string>): SpanRow[] {
  if (collapsed.size === 0) return rows as SpanRow[];
  const out: SpanRow[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out.push(r);
    if (collapsed.has(r.spanId)) i += r.descendants;
  }
  return out;
}

/** Every span id with children: "collapse all". */
export function allParents(rows: readonly SpanRow[]): Set<string> {
  return new Set(rows.filter((r) => r.childCount > 0).map((r) => r.spanId));
}

/**
 * Span ids whose service, operation, id, kind, peer, link method or any
 * attribute (`key=value`) contains every whitespace-separated term of the
 * query, case-insensitively. Empty query: no matches.
 */
export function searchRows(rows: readonly SpanRow[], query: string): Set<string> {
  const terms = query.toLowerCase().split(/\s+/).filter((t) => t !== '');
  const out = new Set<string>();
  if (terms.length === 0) return out;
  for (const r of rows) if (terms.every((t) => r.searchText.includes(t))) out.add(r.spanId);
  return out;
}

/** The collapsed set minus every ancestor of a match, so that matches are in view. */
export function revealMatches(rows: readonly SpanRow[], collapsed: ReadonlySet<string>, matches: ReadonlySet<string>): Set<string> {
  const out = new Set(collapsed);
  if (out.size === 0 || matches.size === 0) return out;
  for (const r of rows) {
    if (!matches.has(r.spanId)) continue;
    for (let p = r.parentIndex; p >= 0 && out.size > 0; p = rows[p]!.parentIndex) out.delete(rows[p]!.spanId);
  }
  return out;
}

/** Matches hidden inside a collapsed row's subtree, for a count on the row. */
export function hiddenMatches(row: SpanRow, rows: readonly SpanRow[], matches: ReadonlySet<string>): number {
  if (matches.size === 0) return 0;
  let n = 0;
  for (let i = row.index + 1; i <= row.index + row.descendants; i++) if (matches.has(rows[i]!.spanId)) n++;
  return n;
}

export interface RowWindow {
  /** First and one-past-last index (into the visible rows) to put in the DOM. */
  first: number;
  last: number;
}

/** The rows intersecting the viewport plus `overscan` on each side, so fast scrolling shows no blank rows. */
export function rowWindow(count: number, rowHeight: number, scrollTop: number, viewportHeight: number, overscan = 8): RowWindow {
  // Clamped: after a collapse the scroll position can lie past the (now shorter) content.
  const first = Math.min(count, Math.max(0, Math.floor(scrollTop / rowHeight) - overscan));
  const last = Math.min(count, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return { first, last: Math.max(first, last) };
}
