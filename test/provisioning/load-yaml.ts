/**
 * Parses YAML with Debian's python3-yaml (PyYAML, a complete YAML 1.1 parser)
 * rather than a new npm dependency: the files checked here are read by Go
 * programs (Grafana, Docker Compose, kubectl) that accept the same documents.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const TO_JSON = 'import sys, json, yaml\njson.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)';

/** Every document of a YAML file (multi-document files give several). */
export function loadYamlDocuments(file: string): unknown[] {
  const text = fs.readFileSync(path.resolve(REPO, file), 'utf8');
  const json = execFileSync('python3', ['-c', TO_JSON], { input: text, encoding: 'utf8' });
  return JSON.parse(json) as unknown[];
}

export function loadYaml(file: string): unknown {
  const docs = loadYamlDocuments(file);
  if (docs.length !== 1) throw new Error(`${file}: expected one YAML document, got ${docs.length}`);
  return docs[0];
}

/** Narrowing helpers: fail with the path of what was missing. */
export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not a mapping`);
  return value as Record<string, unknown>;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list`);
  return value;
}

export function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what} is not a string`);
  return value;
}

export interface AlertQuery {
  ruleUid: string;
  title: string;
  expr: string;
  /** The threshold node's evaluator: type (gt, lt...) and its first parameter. */
  threshold: { type: string; value: number };
}

/** The Prometheus expression and threshold of every provisioned alert rule. */
export function provisionedAlertQueries(file = 'provisioning/alerting/wiretrace-alert-rules.yaml'): AlertQuery[] {
  const root = asRecord(loadYaml(file), file);
  const out: AlertQuery[] = [];
  for (const group of asArray(root['groups'], 'groups')) {
    for (const rule of asArray(asRecord(group, 'group')['rules'], 'rules')) {
      const r = asRecord(rule, 'rule');
      const uid = asString(r['uid'], 'rule.uid');
      const data = asArray(r['data'], `${uid}.data`).map((d) => asRecord(d, `${uid}.data[]`));
      const prom = data.find((d) => d['datasourceUid'] === 'prometheus');
      const threshold = data.find((d) => asRecord(d['model'], 'model')['type'] === 'threshold');
      if (!prom || !threshold) throw new Error(`${uid}: needs a prometheus query and a threshold node`);
      const conditions = asArray(asRecord(threshold['model'], 'model')['conditions'], `${uid} conditions`);
      const evaluator = asRecord(asRecord(conditions[0], 'condition')['evaluator'], 'evaluator');
      const params = asArray(evaluator['params'], 'params');
      if (typeof params[0] !== 'number') throw new Error(`${uid}: threshold is not a number`);
      out.push({
        ruleUid: uid,
        title: asString(r['title'], `${uid}.title`),
        expr: asString(asRecord(prom['model'], 'model')['expr'], `${uid} expr`),
        threshold: { type: asString(evaluator['type'], 'evaluator.type'), value: params[0] },
      });
    }
  }
  return out;
}
