/**
 * Keyboard navigation of the waterfall's rows (a tree grid): what a key does
 * at the focused row. Pure, over the rows in view (collapsed subtrees
 * hidden), so it is testable without a browser.
 */
import type { SpanRow } from './tree';

export type RowKeyAction =
  | { kind: 'move'; to: number }
  | { kind: 'collapse'; spanId: string }
  | { kind: 'expand'; spanId: string }
  | { kind: 'open'; spanId: string }
  | { kind: 'none' };

/**
 * `shown`: the visible rows; `at`: index of the focused one in `shown`;
 * `page`: rows per screen (PageUp/PageDown). Left on an open parent collapses
 * it, else goes to the parent; Right on a collapsed row expands it, else goes
 * to its first child (the tree-view convention of file managers and ARIA's
 * treegrid).
 */
export function rowKeyAction(shown: readonly SpanRow[], collapsed: ReadonlySet<string>, at: number, key: string, page = 10): RowKeyAction {
  const n = shown.length;
  if (n === 0) return { kind: 'none' };
  const i = Math.max(0, Math.min(n - 1, at));
  const row = shown[i]!;
  const move = (to: number): RowKeyAction => {
    const t = Math.max(0, Math.min(n - 1, to));
    return t === i ? { kind: 'none' } : { kind: 'move', to: t };
  };
  switch (key) {
    case 'ArrowDown':
      return move(i + 1);
    case 'ArrowUp':
      return move(i - 1);
    case 'PageDown':
      return move(i + page);
    case 'PageUp':
      return move(i - page);
    case 'Home':
      return move(0);
    case 'End':
      return move(n - 1);
    case 'ArrowLeft': {
      if (row.childCount > 0 && !collapsed.has(row.spanId)) return { kind: 'collapse', spanId: row.spanId };
      if (row.parentIndex < 0) return { kind: 'none' };
      // The parent is always shown when its child is (a collapsed parent hides its children).
      for (let j = i - 1; j >= 0; j--) if (shown[j]!.index === row.parentIndex) return move(j);
      return { kind: 'none' };
    }
    case 'ArrowRight':
      if (row.childCount === 0) return { kind: 'none' };
      if (collapsed.has(row.spanId)) return { kind: 'expand', spanId: row.spanId };
      return move(i + 1);
    case 'Enter':
    case ' ':
      return { kind: 'open', spanId: row.spanId };
    default:
      return { kind: 'none' };
  }
}
