/**
 * `node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]`
 * Summarises a V8 CPU profile (from `node --cpu-prof`): self time per
 * function and per source file, and total time (self plus callees) per
 * function name, so the hot spots of the agent's ingest path can be read
 * without opening DevTools. Under tsx every function reports line 1 (the
 * transpiled module is one line); profile the output of
 * `npx tsc -p backend-agent/tsconfig.json --outDir DIR` for real lines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { markdownTable } from './lib/stats.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  name: string;
  where: string;
  selfMs: number;
  selfPct: number;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const p = url.replace(/^file:\/\//, '');
  const i = p.indexOf('/backend-agent/');
  if (i >= 0) return p.slice(i + 1);
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) return p.slice(nm + 14);
  return p.startsWith('node:') ? p : path.basename(p);
}

export function summarizeProfile(profile: CpuProfile): { byFunction: Hotspot[]; byFile: Hotspot[]; inclusive: Hotspot[]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    totalUs += dt;
  });
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const file = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const where = shortUrl(f.url);
    const name = f.functionName || '(anonymous)';
    const key = `${name}@${where}:${f.lineNumber + 1}`;
    const e = fn.get(key) ?? { name, where: f.url ? `${where}:${f.lineNumber + 1}` : where, us: 0 };
    e.us += us;
    fn.set(key, e);
    file.set(where, (file.get(where) ?? 0) + us);
  }
  const pct = (us: number): number => (totalUs ? (us / totalUs) * 100 : 0);
  const byFunction = [...fn.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, selfPct: pct(e.us) }));
  const byFile = [...file.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([where, us]) => ({ name: where, where, selfMs: us / 1000, selfPct: pct(us) }));
  return { byFunction, byFile, inclusive: inclusiveTimes(profile, byId, selfUs, totalUs), totalMs: totalUs / 1000 };
}

/** Per function name: the time of every sample with that function on its stack (counted once per sample, recursion included). */
function inclusiveTimes(profile: CpuProfile, byId: Map<number, ProfileNode>, selfUs: Map<number, number>, totalUs: number): Hotspot[] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)!.callFrame.functionName || '(anonymous)';
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + us);
    }
  }
  return [...total.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ name, where: '', selfMs: us / 1000, selfPct: totalUs ? (us / totalUs) * 100 : 0 }));
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--top N]');
  const topIdx = process.argv.indexOf('--top');
  const top = topIdx > 0 ? Number(process.argv[topIdx + 1]) : 15;
  const s = summarizeProfile(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile);
  console.log(`\nCPU profile ${path.basename(file)}: ${s.totalMs.toFixed(0)} ms sampled`);
  console.log(markdownTable(['self %', 'function', 'where'], s.byFunction.slice(0, top).map((h) => [h.selfPct.toFixed(1), h.name, h.where])));
  console.log(`\nTotal time (self + callees) by function name:`);
  console.log(markdownTable(['total %', 'function'], s.inclusive.slice(0, top).map((h) => [h.selfPct.toFixed(1), h.name])));
  console.log(`\nBy file:`);
  console.log(markdownTable(['self %', 'file'], s.byFile.slice(0, 10).map((h) => [h.selfPct.toFixed(1), h.name])));
}
