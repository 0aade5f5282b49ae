/** The waterfall's keyboard map over the visible rows (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowKeyAction } from '../../src/panels/waterfall/keys.js';
import { visibleRows } from '../../src/panels/waterfall/view.js';
import { readWaterfall } from '../../src/panels/waterfall/tree.js';
import { syntheticTraceFrame } from '../../src/preview/synthetic.js';

const wf = readWaterfall([syntheticTraceFrame(50)]);
assert.ok(wf.ok);
const rows = wf.waterfall.rows;

test('Up/Down/Home/End/PageDown move within the visible rows and stop at the ends', () => {
  const none = new Set<string>();
  assert.deepEqual(rowKeyAction(rows, none, 0, 'ArrowDown'), { kind: 'move', to: 1 });
  assert.deepEqual(rowKeyAction(rows, none, 0, 'ArrowUp'), { kind: 'none' });
  assert.deepEqual(rowKeyAction(rows, none, 3, 'Home'), { kind: 'move', to: 0 });
  assert.deepEqual(rowKeyAction(rows, none, 3, 'End'), { kind: 'move', to: rows.length - 1 });
  assert.deepEqual(rowKeyAction(rows, none, rows.length - 1, 'ArrowDown'), { kind: 'none' });
  assert.deepEqual(rowKeyAction(rows, none, 0, 'PageDown', 10), { kind: 'move', to: 10 });
  assert.deepEqual(rowKeyAction([], none, 0, 'ArrowDown'), { kind: 'none' });
});

test('Left collapses an open parent, else goes to the parent; Right expands, else goes to the first child', () => {
  const parent = rows.find((r) => r.childCount > 0 && r.depth > 0)!;
  const none = new Set<string>();
  assert.deepEqual(rowKeyAction(rows, none, parent.index, 'ArrowLeft'), { kind: 'collapse', spanId: parent.spanId });
  assert.deepEqual(rowKeyAction(rows, none, parent.index, 'ArrowRight'), { kind: 'move', to: parent.index + 1 });
  const collapsed = new Set([parent.spanId]);
  const shown = visibleRows(rows, collapsed);
  const at = shown.findIndex((r) => r.spanId === parent.spanId);
  assert.deepEqual(rowKeyAction(shown, collapsed, at, 'ArrowRight'), { kind: 'expand', spanId: parent.spanId });
  // Collapsed: Left goes up to its parent, found among the visible rows.
  const up = rowKeyAction(shown, collapsed, at, 'ArrowLeft');
  assert.equal(up.kind, 'move');
  assert.equal(up.kind === 'move' && shown[up.to]!.index, parent.parentIndex);
  const leaf = rows.find((r) => r.childCount === 0)!;
  assert.deepEqual(rowKeyAction(rows, none, leaf.index, 'ArrowRight'), { kind: 'none' });
  assert.deepEqual(rowKeyAction(rows, none, 0, 'ArrowLeft'), rows[0]!.childCount > 0 ? { kind: 'collapse', spanId: rows[0]!.spanId } : { kind: 'none' });
});

test('Enter and Space open the row; other keys do nothing', () => {
  const none = new Set<string>();
  assert.deepEqual(rowKeyAction(rows, none, 2, 'Enter'), { kind: 'open', spanId: rows[2]!.spanId });
  assert.deepEqual(rowKeyAction(rows, none, 2, ' '), { kind: 'open', spanId: rows[2]!.spanId });
  assert.deepEqual(rowKeyAction(rows, none, 2, 'x'), { kind: 'none' });
});
