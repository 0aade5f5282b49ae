/**
 * A trace across two nodes with no trace headers at all: each node's agent
 * (real agents, seeded by replay, named by --host-name) holds its own piece,
 * and node-b's clock runs 40 ms ahead of node-a's. The data source must
 * follow the hop between the nodes from either end and return one trace
 * whose cross-node link is a socket join with the right network time.
 *
 *   node-a: edge -> web (8080)          header-less, one connection per call
 *           web  -> 10.0.0.2:9090       the caller side of the cross-node hop
 *   node-b: api  <- 10.0.0.1 (9090)     the callee side, clock +40 ms
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { DataFrame, TraceKeyValuePair, TraceSpanRow } from '@grafana/data';
import type { AgentRef } from '../../../src/datasource/agents/agent-settings.js';
import { NativeApi } from '../../../src/datasource/agents/native-api.js';
import { runQuery, type QueryContext } from '../../../src/datasource/query/run-query.js';
import { DEFAULT_STITCH_LIMITS, stitchAcrossAgents } from '../../../src/datasource/query/stitch-hosts.js';
import { DataFrameView } from '../fixtures/grafana-data.js';
import { CaptureFile, type Call, type Proc } from '../fixtures/capture-file.js';
import { directFetch, startReplayAgent, type ReplayAgent } from '../fixtures/replay-agent.js';
import { tempDir } from '../../integration/helpers.js';

const EDGE: Proc = { pid: 4_100_101, comm: 'edge' };
const WEB: Proc = { pid: 4_100_202, comm: 'web' };
const API: Proc = { pid: 4_100_303, comm: 'api' };
const SKEW_MS = 40;
const TRACES = 5;

function calls(i: number): { inbound: Call; outbound: Call } {
  const atMs = i * 30;
  return {
    inbound: {
      atMs, caller: EDGE, callee: WEB, from: { address: '10.0.0.1', port: 51000 + i }, to: { address: '10.0.0.1', port: 8080 },
      method: 'GET', path: `/page/${i}`, status: 200, clientUs: 20_000, serverUs: 18_000,
    },
    outbound: {
      atMs: atMs + 3, caller: WEB, from: { address: '10.0.0.1', port: 52000 + i }, to: { address: '10.0.0.2', port: 9090 },
      method: 'GET', path: `/data/${i}`, status: 200, clientUs: 12_000, serverUs: 10_000,
    },
  };
}

function rows(frame: DataFrame): TraceSpanRow[] {
  return new DataFrameView<TraceSpanRow>(frame).toArray().map((r) => ({ ...r }));
}

const tag = (pairs: TraceKeyValuePair[] | undefined, key: string): unknown => pairs?.find((p) => p.key === key)?.value;

describe('one trace across two nodes without headers (real agents, clock skew)', () => {
  let dir: string;
  let agentA: ReplayAgent;
  let agentB: ReplayAgent;
  let nodeA: AgentRef;
  let nodeB: AgentRef;
  let ctx: QueryContext;
  let baseMs: number;

  before(async () => {
    baseMs = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    dir = tempDir('wiretrace-cross-node-');
    const fileA = new CaptureFile(baseMs);
    // node-b's clock is ahead: its capture says every moment is SKEW_MS later.
    const fileB = new CaptureFile(baseMs + SKEW_MS);
    for (let i = 0; i < TRACES; i++) {
      const { inbound, outbound } = calls(i);
      fileA.call(inbound).call(outbound);
      fileB.call({ ...outbound, caller: undefined, callee: API });
    }
    fileA.write(path.join(dir, 'a.wtcap'));
    fileB.write(path.join(dir, 'b.wtcap'));
    [agentA, agentB] = await Promise.all([
      startReplayAgent(path.join(dir, 'a.wtcap'), TRACES * 3, ['--host-name', 'node-a']),
      startReplayAgent(path.join(dir, 'b.wtcap'), TRACES, ['--host-name', 'node-b']),
    ]);
    nodeA = { index: 0, name: 'node-a', url: agentA.url };
    nodeB = { index: 1, name: 'node-b', url: agentB.url };
    ctx = { agents: [nodeA, nodeB], fetch: directFetch(), timeoutMs: 5000, fromMs: baseMs - 1000, toMs: baseMs + 2000, intervalMs: 100, datasource: { uid: 'ds', name: 'wiretrace' } };
  });
  after(async () => {
    await Promise.all([agentA?.stop(), agentB?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function traceIdOf(agent: AgentRef, service: string, pathSuffix: string): Promise<string> {
    const api = new NativeApi(directFetch(), 5000);
    const spans = await api.searchSpans(agent, { service, limit: 100, range: { startUs: (baseMs - 1000) * 1000, endUs: (baseMs + 2000) * 1000 } });
    const span = spans.find((s) => String(s.attributes['url.path']).endsWith(pathSuffix));
    assert.ok(span, `${service} span for ${pathSuffix}`);
    return span.traceId;
  }

  for (const from of ['node-a (the root)', 'node-b (the downstream piece)'] as const) {
    test(`asked from ${from}, each trace comes back whole, joined by socket across the skew`, async () => {
      for (let i = 0; i < TRACES; i++) {
        const traceId = from.startsWith('node-a') ? await traceIdOf(nodeA, 'edge', `/page/${i}`) : await traceIdOf(nodeB, 'api', `/data/${i}`);
        const { frames, errors } = await runQuery({ refId: 'A', queryType: 'trace', traceId }, ctx);
        assert.deepEqual(errors, []);
        const r = rows(frames[0]!);
        assert.equal(r.length, 4, `trace ${i}: edge client, web server, web client, api server: ${r.map((x) => `${x.serviceName}/${x.kind}`).join(', ')}`);
        assert.equal(new Set(r.map((x) => x.traceID)).size, 1, 'one trace id for the whole trace');
        const byRole = (service: string, kind: string): TraceSpanRow => {
          const found = r.find((x) => x.serviceName === service && x.kind === kind);
          assert.ok(found, `${service} ${kind}`);
          return found;
        };
        const webClient = byRole('web', 'client');
        const apiServer = byRole('api', 'server');
        assert.equal(apiServer.parentSpanID, webClient.spanID, `trace ${i}: api's server span hangs under web's call to it`);
        assert.equal(tag(apiServer.tags, 'wiretrace.link.method'), 'socket-join');
        assert.ok(Number(tag(apiServer.tags, 'wiretrace.link.confidence')) >= 0.9);
        assert.equal(byRole('web', 'client').parentSpanID, byRole('web', 'server').spanID, 'in-process link on node-a kept');
        assert.equal(byRole('web', 'server').parentSpanID, byRole('edge', 'client').spanID, 'same-host socket join on node-a kept');
        assert.equal(tag(apiServer.serviceTags, 'host.name'), 'node-b');
        assert.equal(tag(webClient.serviceTags, 'host.name'), 'node-a');
        assert.equal(path.basename(String(tag(apiServer.tags, 'url.path'))), String(i), 'paired with its own call, not a neighbour 30 ms away');
      }
    });
  }

  test('the cross-node link keeps the network time: client-observed minus server-observed, whatever the clocks', async () => {
    const api = new NativeApi(directFetch(), 5000);
    const traceId = await traceIdOf(nodeB, 'api', '/data/2');
    const seed = await Promise.all([nodeA, nodeB].map(async (agent) => ({ agent, spans: await api.trace(agent, traceId) })));
    const { spans, lookups, joined, errors } = await stitchAcrossAgents(seed, [nodeA, nodeB], api);
    assert.deepEqual(errors, []);
    assert.equal(joined, 1, 'one cross-node hop');
    assert.ok(lookups >= 1 && lookups <= DEFAULT_STITCH_LIMITS.maxLookups, `lookups ${lookups}`);
    const apiServer = spans.find((s) => s.service === 'api');
    const link = apiServer?.parentLink;
    assert.equal(link?.method, 'socket-join');
    // The capture's client call lasts 12 ms and the server's 10 ms (syscall edges of 1 µs aside).
    assert.ok(link?.networkTimeNs !== undefined && Math.abs(link.networkTimeNs - 2_000_000) <= 2_000, `network time ${link?.networkTimeNs}`);
  });

  test('with one agent only, the trace is that node\'s piece, unchanged', async () => {
    const traceId = await traceIdOf(nodeA, 'edge', '/page/0');
    const { frames, errors } = await runQuery({ refId: 'A', queryType: 'trace', traceId }, { ...ctx, agents: [nodeA] });
    assert.deepEqual(errors, []);
    assert.equal(rows(frames[0]!).length, 3);
  });
});
