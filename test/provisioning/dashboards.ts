/** Reads the provisioned dashboards and walks their panels, targets and links. */
import fs from 'node:fs';
import path from 'node:path';
import { REPO, asArray, asRecord } from './load-yaml.js';

export const DASHBOARD_DIR = 'provisioning/dashboards/json';

export interface Dashboard {
  file: string;
  json: Record<string, unknown>;
}

export function loadDashboards(): Dashboard[] {
  const dir = path.join(REPO, DASHBOARD_DIR);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, json: asRecord(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), f) }));
}

/** Panels, including those nested in rows. */
export function panelsOf(d: Dashboard): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const p of asArray(d.json['panels'], `${d.file} panels`)) {
    const panel = asRecord(p, `${d.file} panel`);
    out.push(panel);
    if (Array.isArray(panel['panels'])) out.push(...panel['panels'].map((x) => asRecord(x, 'nested panel')));
  }
  return out;
}

export function targetsOf(panel: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(panel['targets']) ? panel['targets'].map((t) => asRecord(t, 'target')) : [];
}

export function variablesOf(d: Dashboard): Record<string, unknown>[] {
  return asArray(asRecord(d.json['templating'], 'templating')['list'], 'templating.list').map((v) => asRecord(v, 'variable'));
}

/** Every value under `key` anywhere in a JSON tree (data-link urls, datasource refs...). */
export function collect(tree: unknown, key: string): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === key) out.push(v);
        walk(v);
      }
    }
  };
  walk(tree);
  return out;
}
