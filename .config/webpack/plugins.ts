/**
 * Finds the plugins to bundle: the data source (src/datasource -> dist/) and
 * any nested panel plugins (src/panels/<name> -> dist/panels/<name>/), each a
 * folder with plugin.json and module.ts(x). Grafana discovers nested
 * plugin.json files inside an installed plugin directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NESTED_PLUGINS_DIR, ROOT_PLUGIN_DIR } from './constants.ts';

export interface PluginSource {
  /** Folder holding plugin.json and module.ts(x), relative to the repo root. */
  dir: string;
  /** Output folder relative to dist/ ('' for the root plugin). */
  outDir: string;
  module: string;
  id: string;
}

function moduleFile(dir: string): string | undefined {
  return ['module.ts', 'module.tsx'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
}

function pluginId(dir: string): string {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'plugin.json'), 'utf8')) as { id?: unknown };
  if (typeof json.id !== 'string') throw new Error(`${dir}/plugin.json has no id`);
  return json.id;
}

export function findPlugins(root: string): PluginSource[] {
  const out: PluginSource[] = [];
  const rootDir = path.join(root, ROOT_PLUGIN_DIR);
  const rootModule = moduleFile(rootDir);
  if (!rootModule) throw new Error(`${ROOT_PLUGIN_DIR}/module.ts is missing`);
  out.push({ dir: rootDir, outDir: '', module: rootModule, id: pluginId(rootDir) });
  const nested = path.join(root, NESTED_PLUGINS_DIR);
  if (fs.existsSync(nested)) {
    for (const name of fs.readdirSync(nested).sort()) {
      const dir = path.join(nested, name);
      const module = moduleFile(dir);
      if (module && fs.existsSync(path.join(dir, 'plugin.json'))) {
        out.push({ dir, outDir: path.join('panels', name), module, id: pluginId(dir) });
      }
    }
  }
  return out;
}
