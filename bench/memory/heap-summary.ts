/**
 * Self size of a V8 heap snapshot grouped by node type and name (the
 * constructor for objects, "(closure)" names for functions...): enough to
 * see which per-connection objects dominate without opening DevTools.
 */
import fs from 'node:fs';

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  type: string;
  name: string;
  count: number;
  selfBytes: number;
}

export function summarizeSnapshot(file: string, top = 25): HeapGroup[] {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotFile;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + typeAt] as number] ?? '?';
    // Strings and numbers are grouped by type only: their names are their contents.
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' ? '' : (snap.strings[nodes[i + nameAt] as number] ?? '?');
    const key = `${type}\u0000${name}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { type, name: name.length > 60 ? `${name.slice(0, 57)}...` : name, count: 0, selfBytes: 0 }));
    g.count++;
    g.selfBytes += nodes[i + sizeAt] as number;
  }
  return [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top);
}
