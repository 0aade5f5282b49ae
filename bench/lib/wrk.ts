/** Runs Debian's wrk against a loopback URL and returns its measurements. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'wrk', 'report.lua');

export interface WrkResult {
  requests: number;
  durationSec: number;
  rps: number;
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export interface WrkOptions {
  url: string;
  seconds: number;
  connections: number;
  threads?: number;
  /** Per-connection pause between requests, ms: paces the load instead of saturating. */
  delayMs?: number;
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [`-t${o.threads ?? 1}`, `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '5s', '-s', SCRIPT, o.url];
  if (o.delayMs !== undefined) args.push('--', String(o.delayMs));
  const env = { ...process.env, WRK_PACED: o.delayMs !== undefined ? '1' : '0' };
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { env, timeout: (o.seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
      const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (!line) return reject(new Error(`wrk printed no result:\n${stdout}\n${stderr}`));
      const j = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
      const durationSec = j.duration_us! / 1e6;
      resolve({
        requests: j.requests!,
        durationSec,
        rps: j.requests! / durationSec,
        errors: j.errors!,
        non2xx: j.non2xx!,
        p50Ms: j.p50_us! / 1000,
        p99Ms: j.p99_us! / 1000,
        meanMs: j.mean_us! / 1000,
      });
    });
  });
}
