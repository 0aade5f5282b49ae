/**
 * Static checks of provisioning/: there is no Grafana server here (and no
 * Docker engine), so what Grafana would reject or silently break is checked
 * from the files: data-source uids and types, panel types, variables, data
 * links, alert-rule schema, and every PromQL expression (parsed by the real
 * promtool, and naming only metrics the agent really exports).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, asArray, asRecord, asString, loadYaml, provisionedAlertQueries } from './load-yaml.js';
import { collect, loadDashboards, panelsOf, targetsOf, variablesOf } from './dashboards.js';
import { exportedMetricNames, metricNamesIn, withoutGrafanaVariables } from './promql.js';

const OUR_PLUGINS = {
  datasource: 'wiretrace-agent-datasource',
  panels: ['wiretrace-servicemap-panel', 'wiretrace-waterfall-panel'],
};
// Panel types that ship with Grafana.
const GRAFANA_PANELS = new Set([
  'timeseries', 'stat', 'gauge', 'bargauge', 'table', 'text', 'row', 'barchart', 'piechart', 'heatmap', 'histogram',
  'logs', 'nodeGraph', 'traces', 'state-timeline', 'status-history', 'alertlist', 'dashlist', 'news', 'xychart', 'flamegraph',
  'canvas', 'geomap', 'candlestick', 'trend', 'datagrid',
]);
const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

interface DataSource {
  uid: string;
  type: string;
}

function provisionedDataSources(): DataSource[] {
  const dir = path.join(REPO, 'provisioning/datasources');
  const out: DataSource[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => /\.ya?ml$/.test(x))) {
    const root = asRecord(loadYaml(path.join('provisioning/datasources', f)), f);
    assert.equal(root['apiVersion'], 1, `${f} apiVersion`);
    for (const ds of asArray(root['datasources'], `${f} datasources`)) {
      const d = asRecord(ds, 'datasource');
      out.push({ uid: asString(d['uid'], 'uid'), type: asString(d['type'], 'type') });
      asString(d['name'], 'name');
      // Prometheus has a URL; our data source lists its agents in jsonData.
      if (d['type'] === OUR_PLUGINS.datasource) {
        const json = asRecord(d['jsonData'], 'jsonData');
        const agents = asArray(json['agents'], 'jsonData.agents').map((a) => asString(asRecord(a, 'agent')['url'], 'agent url'));
        assert.ok(agents.length > 0, 'at least one agent');
        agents.forEach((url, i) => assert.equal(json[`agentUrl${String(i).padStart(2, '0')}`], url, 'proxy route URL mirrors the agent URL'));
      } else asString(d['url'], 'url');
    }
  }
  return out;
}

/** Every PromQL expression in the dashboards and alert rules, with where it comes from. */
function allPromQl(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const d of loadDashboards()) {
    for (const panel of panelsOf(d)) {
      for (const t of targetsOf(panel)) {
        const ds = asRecord(t['datasource'] ?? panel['datasource'], 'datasource');
        if (ds['uid'] === 'prometheus') out.push({ where: `${d.file} panel ${String(panel['id'])} ${String(t['refId'])}`, expr: asString(t['expr'], 'expr') });
      }
    }
    for (const v of variablesOf(d)) {
      if (v['type'] === 'query') out.push({ where: `${d.file} variable ${String(v['name'])}`, expr: asString(v['definition'], 'definition') });
    }
  }
  for (const a of provisionedAlertQueries()) out.push({ where: `alert ${a.ruleUid}`, expr: a.expr });
  return out;
}

describe('data sources', () => {
  test('wiretrace and Prometheus with fixed uids and the right types', () => {
    const sources = provisionedDataSources();
    assert.deepEqual(sources.find((s) => s.uid === 'wiretrace'), { uid: 'wiretrace', type: OUR_PLUGINS.datasource });
    assert.deepEqual(sources.find((s) => s.uid === 'prometheus'), { uid: 'prometheus', type: 'prometheus' });
    assert.equal(new Set(sources.map((s) => s.uid)).size, sources.length, 'uids are unique');
  });
});

describe('dashboards', () => {
  const dashboards = loadDashboards();
  const sources = provisionedDataSources();
  const uids = new Set(dashboards.map((d) => asString(d.json['uid'], 'uid')));

  test('the dashboard provider points at the folder the JSON is mounted in', () => {
    const provider = asRecord(asArray(asRecord(loadYaml('provisioning/dashboards/wiretrace.yaml'), 'provider file')['providers'], 'providers')[0], 'provider');
    assert.equal(provider['type'], 'file');
    assert.equal(asRecord(provider['options'], 'options')['path'], '/etc/grafana/provisioning/dashboards/json');
    assert.ok(dashboards.length >= 2);
    assert.equal(uids.size, dashboards.length, 'dashboard uids are unique');
    assert.ok(uids.has('wiretrace-overview') && uids.has('wiretrace-edge'));
  });

  test('every data-source reference names a provisioned uid with its type', () => {
    for (const d of dashboards) {
      const refs = collect(d.json, 'datasource');
      assert.ok(refs.length > 0);
      for (const ref of refs) {
        const r = asRecord(ref, `${d.file} datasource ref`);
        const source = sources.find((s) => s.uid === r['uid']);
        assert.ok(source, `${d.file}: unknown data source uid ${String(r['uid'])}`);
        assert.equal(r['type'], source.type, `${d.file}: type of ${source.uid}`);
      }
    }
  });

  test('every panel type is ours or Grafana\'s, ids are unique, each panel has a place', () => {
    const ours = new Set(OUR_PLUGINS.panels);
    for (const d of dashboards) {
      const panels = panelsOf(d);
      assert.equal(new Set(panels.map((p) => p['id'])).size, panels.length, `${d.file}: panel ids unique`);
      for (const p of panels) {
        const type = asString(p['type'], 'type');
        assert.ok(ours.has(type) || GRAFANA_PANELS.has(type), `${d.file}: unknown panel type ${type}`);
        const grid = asRecord(p['gridPos'], 'gridPos');
        for (const k of ['x', 'y', 'w', 'h']) assert.equal(typeof grid[k], 'number', `${d.file} panel ${String(p['id'])} gridPos.${k}`);
      }
    }
  });

  test('our panel ids match the plugins\' plugin.json where they are built', () => {
    const found = spawnSync('sh', ['-c', 'find src dist -name plugin.json -not -path "*/node_modules/*" 2>/dev/null'], { cwd: REPO, encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    const ids = found.map((f) => asString(asRecord(JSON.parse(fs.readFileSync(path.join(REPO, f), 'utf8')), f)['id'], 'id'));
    // The plugins are built in parallel (issues #4 and #5); until then the ids are the contract from the issue.
    for (const id of ids.filter((x) => x.startsWith('wiretrace-'))) {
      assert.ok([OUR_PLUGINS.datasource, ...OUR_PLUGINS.panels].includes(id), `plugin ${id} is not referenced by provisioning`);
    }
  });

  test('wiretrace queries use query types the data source plugin defines', () => {
    // Read from the plugin's source rather than imported: the plugin builds with its own toolchain.
    const typesFile = path.join(REPO, 'src/datasource/types.ts');
    const declared = /QUERY_TYPES = \[([^\]]*)\]/.exec(fs.readFileSync(typesFile, 'utf8'))?.[1];
    assert.ok(declared, 'QUERY_TYPES in src/datasource/types.ts');
    const known = new Set([...declared.matchAll(/'(\w+)'/g)].map((m) => m[1]!));
    for (const d of dashboards) {
      for (const panel of panelsOf(d)) {
        for (const t of targetsOf(panel)) {
          if (asRecord(t['datasource'], 'datasource')['uid'] !== 'wiretrace') continue;
          assert.ok(known.has(String(t['queryType'])), `${d.file} panel ${String(panel['id'])}: queryType ${String(t['queryType'])} not in ${[...known].join(', ')}`);
        }
      }
    }
  });

  test('the service overview mixes Prometheus time series with the service map, a slowest-traces table and the waterfall', () => {
    const overview = dashboards.find((d) => d.json['uid'] === 'wiretrace-overview')!;
    const panels = panelsOf(overview);
    const ds = (p: Record<string, unknown>): unknown => asRecord(p['datasource'], 'datasource')['uid'];
    assert.ok(panels.some((p) => p['type'] === 'wiretrace-servicemap-panel' && ds(p) === 'wiretrace'));
    assert.ok(panels.some((p) => p['type'] === 'wiretrace-waterfall-panel' && ds(p) === 'wiretrace'));
    const table = panels.find((p) => p['type'] === 'table' && ds(p) === 'wiretrace');
    assert.ok(table, 'slowest-traces table');
    const series = panels.filter((p) => p['type'] === 'timeseries' && ds(p) === 'prometheus');
    const exprs = series.flatMap((p) => targetsOf(p).map((t) => String(t['expr'])));
    assert.ok(exprs.some((e) => e.includes('traces_service_graph_request_total')), 'rate per edge');
    assert.ok(exprs.some((e) => e.includes('traces_service_graph_request_failed_total')), 'errors per edge');
    assert.ok(exprs.some((e) => e.includes('histogram_quantile')), 'latency per edge');
    // The table sets traceId, and the waterfall reads it.
    const links = collect(table, 'url').map(String);
    assert.ok(links.some((u) => u.includes('var-traceId=${__value.raw}')), `table links: ${links.join(' ')}`);
    const waterfall = panels.find((p) => p['type'] === 'wiretrace-waterfall-panel')!;
    assert.ok(JSON.stringify(targetsOf(waterfall)).includes('${traceId}'));
  });

  test('variables used by panels and links are defined; data links point at provisioned dashboards', () => {
    for (const d of dashboards) {
      const defined = new Set(variablesOf(d).map((v) => asString(v['name'], 'variable name')));
      const panelsText = JSON.stringify(d.json['panels']);
      for (const m of panelsText.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)) {
        const name = m[1] ?? m[2]!;
        if (name.startsWith('__')) continue; // Grafana's own: $__rate_interval, ${__value.raw}...
        assert.ok(defined.has(name), `${d.file}: variable $${name} is not defined`);
      }
      for (const url of collect(d.json, 'url').map(String)) {
        const target = /^\/d\/([\w-]+)/.exec(url);
        if (target) assert.ok(uids.has(target[1]!), `${d.file}: link to unknown dashboard ${target[1]}`);
      }
    }
  });
});

describe('alert rules', () => {
  const file = 'provisioning/alerting/wiretrace-alert-rules.yaml';
  const root = asRecord(loadYaml(file), file);
  const dashboards = loadDashboards();

  test('follow Grafana\'s alert-rule provisioning schema', () => {
    assert.equal(root['apiVersion'], 1);
    for (const g of asArray(root['groups'], 'groups')) {
      const group = asRecord(g, 'group');
      assert.equal(typeof group['orgId'], 'number');
      asString(group['name'], 'group name');
      asString(group['folder'], 'group folder');
      assert.match(asString(group['interval'], 'interval'), /^\d+[smh]$/);
      for (const r of asArray(group['rules'], 'rules')) {
        const rule = asRecord(r, 'rule');
        const uid = asString(rule['uid'], 'uid');
        assert.match(uid, /^[a-zA-Z0-9_-]{1,40}$/, 'uid: at most 40 letters, digits, - and _');
        asString(rule['title'], 'title');
        const data = asArray(rule['data'], 'data').map((x) => asRecord(x, 'query'));
        const refIds = new Set(data.map((q) => asString(q['refId'], 'refId')));
        assert.ok(refIds.has(asString(rule['condition'], 'condition')), `${uid}: condition names a query`);
        for (const q of data) {
          const model = asRecord(q['model'], 'model');
          assert.equal(model['refId'], q['refId'], `${uid}: model.refId`);
          if (q['datasourceUid'] === '__expr__') {
            assert.ok(['reduce', 'threshold', 'math', 'classic_conditions', 'resample'].includes(String(model['type'])), `${uid}: expression type`);
            if (model['expression'] !== undefined) assert.ok(refIds.has(String(model['expression'])), `${uid}: expression input ${String(model['expression'])}`);
          } else {
            assert.equal(q['datasourceUid'], 'prometheus', `${uid}: queries go to Prometheus`);
            const range = asRecord(q['relativeTimeRange'], 'relativeTimeRange');
            assert.ok(typeof range['from'] === 'number' && typeof range['to'] === 'number');
            asString(model['expr'], 'expr');
          }
        }
        assert.ok(['Alerting', 'NoData', 'OK', 'KeepLast'].includes(String(rule['noDataState'])));
        assert.ok(['Alerting', 'Error', 'OK', 'KeepLast'].includes(String(rule['execErrState'])));
        assert.match(asString(rule['for'], 'for'), /^\d+[smh]$/);
        const annotations = asRecord(rule['annotations'], 'annotations');
        const dash = dashboards.find((d) => d.json['uid'] === annotations['__dashboardUid__']);
        assert.ok(dash, `${uid}: __dashboardUid__ names a provisioned dashboard`);
        assert.ok(panelsOf(dash).some((p) => String(p['id']) === annotations['__panelId__']), `${uid}: __panelId__ exists`);
      }
    }
  });

  test('one rule on p95 latency and one on error ratio per edge, thresholds documented', () => {
    const alerts = provisionedAlertQueries();
    const latency = alerts.find((a) => a.expr.includes('histogram_quantile(0.95') && a.expr.includes('traces_service_graph_request_server_seconds_bucket'));
    const errors = alerts.find((a) => a.expr.includes('traces_service_graph_request_failed_total'));
    assert.ok(latency && errors);
    for (const a of [latency, errors]) assert.match(a.expr, /by \(client, server(, le)?\)/, `${a.ruleUid} is per edge`);
    const doc = fs.readFileSync(path.join(REPO, 'provisioning/alerting/README.md'), 'utf8');
    assert.ok(doc.includes(String(latency.threshold.value)), 'latency threshold documented');
    assert.ok(doc.includes(String(errors.threshold.value)), 'error-ratio threshold documented');
  });

  test('a contact point to fill in, and the policy routes to it', () => {
    const cp = asRecord(loadYaml('provisioning/alerting/contact-points.yaml'), 'contact points');
    const points = asArray(cp['contactPoints'], 'contactPoints').map((x) => asRecord(x, 'contact point'));
    const names = new Set(points.map((p) => asString(p['name'], 'name')));
    for (const p of points) {
      for (const r of asArray(p['receivers'], 'receivers')) {
        const receiver = asRecord(r, 'receiver');
        asString(receiver['uid'], 'receiver uid');
        asString(receiver['type'], 'receiver type');
        assert.match(JSON.stringify(receiver['settings']), /\$\{WIRETRACE_ALERT_WEBHOOK_URL\}/, 'filled in from the environment');
      }
    }
    const policy = asRecord(asArray(cp['policies'], 'policies')[0], 'policy');
    assert.ok(names.has(asString(policy['receiver'], 'receiver')));
  });
});

describe('PromQL', () => {
  const exprs = allPromQl();

  test('every expression names only metrics the agent exports', () => {
    const exported = exportedMetricNames();
    assert.ok(exported.has('traces_service_graph_request_server_seconds_bucket'));
    assert.ok(exprs.length >= 10);
    for (const { where, expr } of exprs) {
      const names = metricNamesIn(withoutGrafanaVariables(expr).replace(/^label_values\((\w+),.*\)$/, '$1'));
      assert.ok(names.length > 0, `${where}: no metric found in ${expr}`);
      for (const n of names) assert.ok(exported.has(n), `${where}: ${n} is not exported by the agent`);
    }
  });

  test('promtool parses every expression', { skip: promtool ? false : 'promtool is not installed (scripts/setup.sh installs it)' }, () => {
    // As recording rules in a rules file: `promtool check rules` parses each expr.
    const rules = exprs
      .filter(({ expr }) => !expr.startsWith('label_values('))
      .map(({ expr }, i) => `      - record: wiretrace:check:${i}\n        expr: ${JSON.stringify(withoutGrafanaVariables(expr))}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-promql-'));
    const file = path.join(dir, 'rules.yml');
    fs.writeFileSync(file, `groups:\n  - name: provisioning\n    rules:\n${rules.join('\n')}\n`);
    const result = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(result.status, 0, `promtool check rules: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  test('the metric-name extraction finds names and skips functions, labels and variables', () => {
    assert.deepEqual(
      metricNamesIn(withoutGrafanaVariables('histogram_quantile(0.95, sum by (client, le) (rate(a_bucket{client=~"$client"}[$__rate_interval]))) / on (x) b_total > 0.1')),
      ['a_bucket', 'b_total'],
    );
  });
});
