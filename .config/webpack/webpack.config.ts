/**
 * Builds the Grafana plugins under src/ into dist/ the way @grafana/create-plugin
 * lays them out: one AMD module.js per plugin, Grafana's shared libraries left
 * external (Grafana provides them at runtime), TypeScript compiled by SWC
 * (typechecking is `tsc -p .config/tsconfig.json`, run separately), and
 * plugin.json, README.md and img/ copied next to each module.js.
 *
 * Run: npm run build:plugin  (webpack -c .config/webpack/webpack.config.ts --env production)
 */
import fs from 'node:fs';
import path from 'node:path';
import CopyWebpackPlugin from 'copy-webpack-plugin';
import type { Configuration } from 'webpack';
import { DIST_DIR } from './constants.ts';
import { findPlugins } from './plugins.ts';

const ROOT = process.cwd();

interface PackageJson {
  version: string;
}

/** Shared with Grafana at runtime: bundling them would load a second, incompatible copy. */
const EXTERNALS = [
  'react',
  'react-dom',
  'rxjs',
  'lodash',
  'moment',
  '@emotion/css',
  '@emotion/react',
  /^@grafana\/ui/i,
  /^@grafana\/runtime/i,
  /^@grafana\/data/i,
  /^@grafana\/schema/i,
];

export default function config(env: Record<string, string | boolean>): Configuration {
  const production = Boolean(env.production);
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson).version;
  const today = new Date().toISOString().slice(0, 10);
  const plugins = findPlugins(ROOT);
  const stamp = (content: Buffer) =>
    content.toString('utf8').replace(/%VERSION%/g, version).replace(/%TODAY%/g, today);

  return {
    mode: production ? 'production' : 'development',
    context: ROOT,
    devtool: production ? 'source-map' : 'eval-source-map',
    entry: Object.fromEntries(plugins.map((p) => [path.join(p.outDir, 'module'), `./${path.relative(ROOT, p.module)}`])),
    externals: EXTERNALS,
    module: {
      rules: [
        {
          test: /\.[tj]sx?$/,
          exclude: /node_modules/,
          use: {
            loader: 'swc-loader',
            options: {
              jsc: {
                target: 'es2020',
                parser: { syntax: 'typescript', tsx: true, decorators: false, dynamicImport: true },
                transform: { react: { runtime: 'classic' } },
              },
            },
          },
        },
      ],
    },
    output: {
      path: path.join(ROOT, DIST_DIR),
      filename: '[name].js',
      library: { type: 'amd' },
      // One file per plugin and no lazy chunks, so a fixed public path is enough.
      publicPath: `public/plugins/${plugins[0]!.id}/`,
      uniqueName: plugins[0]!.id,
      clean: true,
    },
    plugins: [
      new CopyWebpackPlugin({
        patterns: plugins.flatMap((p) => [
          { from: path.join(p.dir, 'plugin.json'), to: path.join(p.outDir, 'plugin.json'), transform: stamp },
          { from: path.join(p.dir, 'README.md'), to: path.join(p.outDir, 'README.md'), transform: stamp, noErrorOnMissing: true },
          { from: path.join(p.dir, 'img'), to: path.join(p.outDir, 'img'), noErrorOnMissing: true },
        ]),
      }),
    ],
    resolve: {
      extensions: ['.ts', '.tsx', '.js', '.jsx'],
      // Agent modules (imported for types only) use NodeNext's '.js' suffixes.
      extensionAlias: { '.js': ['.ts', '.js'] },
    },
    performance: { hints: false },
  };
}
