// Ground truth for tests: reads the services' state files and the load
// generator's output from a state directory and returns the call count of
// every client -> server edge, checked three ways (what clients counted, what
// servers counted, and what topology.mjs predicts from the paths sent).
// `node demo/run.mjs --expect --state-dir DIR` prints this as JSON.

import fs from 'node:fs';
import path from 'node:path';
import { SERVICES, edgesFor, edgeKey, isFailure, predictEdges } from './topology.mjs';

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const sum = (byStatus, skip = []) =>
  Object.entries(byStatus ?? {}).reduce((n, [k, v]) => (skip.includes(k) ? n : n + v), 0);
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const sorted = (o) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v).sort());

/**
 * @param {string} stateDir  the runner's --state-dir
 * @param {string} [loadgenFile]  defaults to <stateDir>/loadgen.json
 */
export function computeExpectations(stateDir, loadgenFile = path.join(stateDir, 'loadgen.json')) {
  const problems = [];
  const notes = [];
  const states = {};
  for (const s of SERVICES) {
    const file = path.join(stateDir, `${s.name}.json`);
    if (!fs.existsSync(file)) { problems.push(`missing ${file}`); continue; }
    states[s.name] = readJson(file);
    if (!states[s.name].final) notes.push(`${s.name}: state is not final (service still running?)`);
  }
  const load = fs.existsSync(loadgenFile) ? readJson(loadgenFile) : null;
  if (!load) notes.push(`no load generator output at ${loadgenFile}`);
  // run.json says whether the runner started PostgreSQL and Redis (and whether
  // this was a --no-propagation run); without it, assume neither.
  let run = {};
  try { run = readJson(path.join(stateDir, 'run.json')); } catch { /* no run.json */ }
  const databases = Boolean(run.databases);
  if (!databases) notes.push('PostgreSQL and Redis did not run: no datastore edges');
  const EDGES = edgesFor({ databases });

  // Observed edges: the load generator's records, then each service's outbound counters.
  const observed = {};
  if (load) {
    const byStatus = {};
    for (const r of load.requests) byStatus[r.status ?? 'error'] = (byStatus[r.status ?? 'error'] ?? 0) + 1;
    observed[edgeKey('loadgen', 'frontend')] = byStatus;
  }
  for (const [client, st] of Object.entries(states)) {
    for (const [server, byStatus] of Object.entries(st.outbound ?? {})) observed[edgeKey(client, server)] = byStatus;
  }
  const predicted = load ? predictEdges(load.requests, { databases }) : { edges: {}, unanswered: 0 };

  const edges = EDGES.map((e) => {
    const key = edgeKey(e.client, e.server);
    const byStatus = observed[key] ?? {};
    const calls = sum(byStatus);
    // HTTP: 5xx or no response; gRPC: the server-fault codes; datastores: 'error'.
    const errors = sum(Object.fromEntries(Object.entries(byStatus).filter(([k]) => isFailure(e, k))));
    const pred = predicted.edges[key] ?? { calls: 0, byStatus: {} };
    if (load && predicted.unanswered === 0 && !same(byStatus, pred.byStatus)) {
      problems.push(`${key}: observed ${JSON.stringify(sorted(byStatus))}, predicted ${JSON.stringify(sorted(pred.byStatus))}`);
    }
    return { ...e, calls, byStatus, errors, predicted: pred };
  });

  // Outbound calls to a target that is no designed edge (a datastore counted
  // when run.json says none ran, a typo in a service) are a problem too.
  for (const key of Object.keys(observed)) {
    if (!EDGES.some((e) => edgeKey(e.client, e.server) === key)) problems.push(`${key}: calls on an edge that is not in the topology`);
  }

  // What each server saw must equal what its clients say they got (the
  // datastores keep no counters: their edges are checked against the prediction only).
  for (const s of SERVICES) {
    const st = states[s.name];
    if (!st) continue;
    const into = edges.filter((e) => e.server === s.name && (e.client !== 'loadgen' || load));
    const merged = {};
    for (const e of into) for (const [k, v] of Object.entries(e.byStatus)) if (k !== 'error') merged[k] = (merged[k] ?? 0) + v;
    if (!same(merged, st.inbound.byStatus)) {
      problems.push(`${s.name}: served ${JSON.stringify(sorted(st.inbound.byStatus))}, clients got ${JSON.stringify(sorted(merged))}`);
    }
  }

  // Trace headers: who should have received a traceparent.
  const tp = (name) => states[name]?.inbound;
  const edge = (c, s) => edges.find((e) => e.client === c && e.server === s);
  // A --no-propagation run (run.json) sends no trace header on any edge.
  const propagation = run.propagation !== false;
  const checkTp = (name, withTp, withoutTp) => {
    const i = tp(name);
    if (!propagation) [withTp, withoutTp] = [0, withTp + withoutTp];
    if (i && (i.withTraceparent !== withTp || i.withoutTraceparent !== withoutTp)) {
      problems.push(`${name}: ${i.withTraceparent} requests with traceparent / ${i.withoutTraceparent} without, expected ${withTp} / ${withoutTp}`);
    }
  };
  if (load) {
    const answered = load.requests.filter((r) => r.status != null);
    checkTp('frontend', answered.filter((r) => r.traceId).length, answered.filter((r) => !r.traceId).length);
  }
  checkTp('orders', sum(edge('frontend', 'orders').byStatus, ['error']), 0);
  checkTp('inventory', sum(edge('orders', 'inventory').byStatus, ['error']), 0);
  checkTp('payments', sum(edge('orders', 'payments').byStatus, ['error']), 0);
  checkTp('shipping', sum(edge('frontend', 'shipping').byStatus, ['error']), 0);
  checkTp('rates', sum(edge('orders', 'rates').byStatus, ['error']), 0);
  checkTp('catalog', sum(edge('frontend', 'catalog').byStatus, ['error']), sum(edge('inventory', 'catalog').byStatus, ['error']));

  // The designed errors must show up once there is enough traffic.
  if (load && load.requests.length >= 50) {
    const lf = edge('loadgen', 'frontend').byStatus;
    for (const code of ['404', '402', '409', '502']) if (!lf[code]) problems.push(`no ${code} from frontend`);
    if (!edge('orders', 'payments').byStatus['500']) problems.push('no 500 from payments');
  }

  return {
    stateDir,
    loadgenFile: load ? loadgenFile : null,
    ok: problems.length === 0,
    databases,
    counts: Object.fromEntries(edges.map((e) => [edgeKey(e.client, e.server), e.calls])),
    edges,
    services: Object.fromEntries(Object.entries(states).map(([name, st]) => [name, {
      pid: st.pid, port: st.port, final: st.final, healthz: st.healthz, connections: st.connections,
      inbound: st.inbound, outbound: st.outbound,
    }])),
    loadgen: load && { pid: load.pid, ...load.totals, startedAtUs: load.startedAtUs, endedAtUs: load.endedAtUs },
    predictedUnanswered: predicted.unanswered,
    problems,
    notes,
  };
}
