// Bundles the preview page's host (src/preview/host.tsx: React, @grafana/data,
// @grafana/ui, @grafana/runtime and rxjs, which the built panels import as AMD
// externals) into preview/build/host.js. The panels themselves are NOT bundled
// here: the page loads them from dist/ as Grafana does (npm run build:plugin).
//
// Run: node preview/build.mjs   (server.mjs runs it when the bundle is missing)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function buildHost() {
  const compiler = webpack({
    mode: 'production',
    context: ROOT,
    target: 'web',
    devtool: false,
    entry: './src/preview/host.tsx',
    output: { path: path.join(ROOT, 'preview', 'build'), filename: 'host.js', clean: true },
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
                parser: { syntax: 'typescript', tsx: true },
                transform: { react: { runtime: 'classic' } },
              },
            },
          },
        },
        // Some @grafana/ui dependencies import CSS or fonts; the preview does not need them styled.
        { test: /\.(css|scss|woff2?|ttf|eot|svg|png)$/, type: 'asset/source' },
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
      ],
    },
    resolve: { extensions: ['.ts', '.tsx', '.mjs', '.js', '.jsx'], extensionAlias: { '.js': ['.ts', '.js'] } },
    performance: { hints: false },
    optimization: { minimize: false },
    // One file: the server serves host.js alone, and the page has no lazy loading to speed up.
    plugins: [new webpack.optimize.LimitChunkCountPlugin({ maxChunks: 1 })],
  });
  return new Promise((resolve, reject) => {
    compiler.run((err, stats) => {
      compiler.close(() => {});
      if (err) return reject(err);
      if (stats.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })));
      // webpack skips rewriting an unchanged file; the server's staleness check reads this mtime.
      const now = new Date();
      fs.utimesSync(path.join(ROOT, 'preview', 'build', 'host.js'), now, now);
      resolve(stats.toString({ all: false, warnings: true, errorsCount: true }));
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const summary = await buildHost();
  process.stdout.write(`${summary}\npreview/build/host.js built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
