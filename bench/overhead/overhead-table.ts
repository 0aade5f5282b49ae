/** Turns overhead run records into the ratio table: medians per configuration, costs against the baseline. */
import { costPct, fmtNum, fmtPct, markdownTable, summarize } from '../lib/stats.js';
import type { Mode, RunRecord } from './run-overhead.js';

export interface OverheadRow {
  service: string;
  /** 'wiretrace agent', 'wiretrace agent, nice N' or 'OpenTelemetry SDK'. */
  tracer: string;
  baseRps: number;
  withRps: number;
  throughputCostPct: number;
  baseP99Ms: number;
  withP99Ms: number;
  p99CostPct: number;
  /** Tracer's own processes, cores (agent + loader, or the OTLP receiver). */
  tracerCores: number;
  tracerPeakRssMiB?: number;
  /** Share of requests whose both sides the agent stored, or OTel spans per request. */
  capturedPct: number;
  kernelDrops?: number;
  /** CPU the service itself spent per request, µs: probes run inside its syscalls, so their cost shows here. */
  baseServiceUsPerReq: number;
  withServiceUsPerReq: number;
  runs: number;
}

function agentLabel(r: RunRecord): string {
  return r.nice ? `wiretrace agent, nice ${r.nice}` : 'wiretrace agent';
}

function serviceUsPerReq(r: RunRecord): number {
  return ((r.serviceCores * r.wrk.durationSec) / r.wrk.requests) * 1e6;
}

function median(records: RunRecord[], f: (r: RunRecord) => number): number {
  return summarize(records.map(f)).median;
}

export function overheadRows(all: RunRecord[]): OverheadRow[] {
  const rows: OverheadRow[] = [];
  // Saturating runs only; the paced ones have their own table.
  const records = all.filter((r) => r.offeredRps === undefined);
  const services = [...new Set(records.map((r) => r.service))];
  for (const service of services) {
    const of = (mode: Mode): RunRecord[] => records.filter((r) => r.service === service && r.mode === mode);
    const base = of('base');
    if (base.length === 0) continue;
    const baseRps = median(base, (r) => r.wrk.rps);
    const baseP99 = median(base, (r) => r.wrk.p99Ms);
    for (const mode of ['agent', 'agent-nice'] as const) {
      const agent = of(mode);
      if (!agent.length) continue;
      const withRps = median(agent, (r) => r.wrk.rps);
      const withP99 = median(agent, (r) => r.wrk.p99Ms);
      rows.push({
        service,
        tracer: agentLabel(agent[0]!),
        baseRps,
        withRps,
        throughputCostPct: costPct(baseRps, withRps, true),
        baseP99Ms: baseP99,
        withP99Ms: withP99,
        p99CostPct: costPct(baseP99, withP99, false),
        tracerCores: median(agent, (r) => (r.agentCores ?? 0) + (r.loaderCores ?? 0)),
        tracerPeakRssMiB: Math.max(...agent.map((r) => (r.agentPeakRssMiB ?? 0) + (r.loaderPeakRssMiB ?? 0))),
        capturedPct: median(agent, (r) => ((r.exchanges ?? 0) / (2 * r.wrk.requests)) * 100),
        kernelDrops: agent.reduce((a, r) => a + (r.kernelDrops ?? 0), 0),
        baseServiceUsPerReq: median(base, serviceUsPerReq),
        withServiceUsPerReq: median(agent, serviceUsPerReq),
        runs: agent.length,
      });
    }
    const otel = of('otel');
    if (otel.length) {
      const withRps = median(otel, (r) => r.wrk.rps);
      const withP99 = median(otel, (r) => r.wrk.p99Ms);
      rows.push({
        service,
        tracer: 'OpenTelemetry SDK',
        baseRps,
        withRps,
        throughputCostPct: costPct(baseRps, withRps, true),
        baseP99Ms: baseP99,
        withP99Ms: withP99,
        p99CostPct: costPct(baseP99, withP99, false),
        tracerCores: median(otel, (r) => r.otelSinkCores ?? 0),
        capturedPct: median(otel, (r) => ((r.otelSpans ?? 0) / r.wrk.requests) * 100),
        baseServiceUsPerReq: median(base, serviceUsPerReq),
        withServiceUsPerReq: median(otel, serviceUsPerReq),
        runs: otel.length,
      });
    }
  }
  return rows;
}

export function overheadTable(rows: OverheadRow[]): string {
  return markdownTable(
    ['service', 'tracer', 'req/s without', 'req/s with', 'throughput cost', 'p99 without', 'p99 with', 'p99 cost', 'service CPU/req without -> with', 'tracer CPU (cores)', 'tracer peak RSS', 'traced', 'kernel drops'],
    rows.map((r) => [
      r.service,
      r.tracer,
      fmtNum(r.baseRps),
      fmtNum(r.withRps),
      fmtPct(r.throughputCostPct),
      `${r.baseP99Ms.toFixed(2)} ms`,
      `${r.withP99Ms.toFixed(2)} ms`,
      fmtPct(r.p99CostPct),
      `${r.baseServiceUsPerReq.toFixed(0)} -> ${r.withServiceUsPerReq.toFixed(0)} µs`,
      r.tracerCores.toFixed(2),
      r.tracerPeakRssMiB !== undefined ? `${r.tracerPeakRssMiB.toFixed(0)} MiB` : 'n/a',
      `${r.capturedPct.toFixed(1)}%`,
      r.kernelDrops !== undefined ? String(r.kernelDrops) : 'n/a',
    ]),
  );
}

/** The comparison: agent cost as a fraction of the OpenTelemetry SDK's cost on the same service. */
export function agentVsOtel(rows: OverheadRow[]): string[] {
  const out: string[] = [];
  for (const service of new Set(rows.map((r) => r.service))) {
    const o = rows.find((r) => r.service === service && r.tracer === 'OpenTelemetry SDK');
    if (!o) continue;
    for (const a of rows.filter((r) => r.service === service && r.tracer.startsWith('wiretrace agent'))) {
    // A cost at or below zero is within noise: a ratio of it would mean nothing.
    const ratio = (x: number, y: number): string =>
      y <= 0 ? 'n/a (no OTel cost measured)' : x <= 0 ? '0x (no agent cost measured)' : `${(x / y).toFixed(2)}x`;
      out.push(
        `${service}: ${a.tracer} throughput cost / OTel SDK throughput cost = ${ratio(a.throughputCostPct, o.throughputCostPct)}; p99 cost ratio = ${ratio(a.p99CostPct, o.p99CostPct)} (target: at most 0.33x)`,
      );
    }
  }
  return out;
}

const MODE_LABEL: Record<Mode, string> = {
  base: 'no capture',
  probes: 'probes only (loader > /dev/null)',
  'probes-ref': 'probes only, reference loader',
  agent: 'full agent',
  'agent-nice': 'full agent, niced',
  otel: 'OpenTelemetry SDK',
};

/**
 * Where the cost comes from, one line per configuration of one service:
 * probes only = what the kernel programs cost the service's syscalls (plus
 * the loader draining the ring buffers); full agent adds parsing and storage
 * competing for the same cores. `rate` selects the paced runs.
 */
export function breakdownTable(all: RunRecord[], service: string, rate?: number): string | undefined {
  const records = all.filter((r) => r.service === service && r.offeredRps === rate);
  const base = records.filter((r) => r.mode === 'base');
  if (!base.length) return undefined;
  const baseRps = median(base, (r) => r.wrk.rps);
  const baseP99 = median(base, (r) => r.wrk.p99Ms);
  const rows: string[][] = [];
  for (const mode of ['base', 'probes-ref', 'probes', 'agent', 'agent-nice', 'otel'] as const) {
    const rs = records.filter((r) => r.mode === mode);
    if (!rs.length) continue;
    const rps = median(rs, (r) => r.wrk.rps);
    const p99 = median(rs, (r) => r.wrk.p99Ms);
    const agentish = mode === 'agent' || mode === 'agent-nice';
    rows.push([
      mode === 'agent-nice' ? `full agent, nice ${rs[0]!.nice}` : MODE_LABEL[mode],
      fmtNum(rps),
      mode === 'base' ? '' : fmtPct(costPct(baseRps, rps, true)),
      `${p99.toFixed(2)} ms`,
      mode === 'base' ? '' : fmtPct(costPct(baseP99, p99, false)),
      `${median(rs, serviceUsPerReq).toFixed(1)} µs`,
      mode === 'probes' || mode === 'probes-ref' || agentish ? median(rs, (r) => r.loaderCores ?? 0).toFixed(3) : '',
      agentish ? median(rs, (r) => r.agentCores ?? 0).toFixed(2) : mode === 'otel' ? `${median(rs, (r) => r.otelSinkCores ?? 0).toFixed(2)} (sink)` : '',
      agentish ? `${median(rs, (r) => ((r.exchanges ?? 0) / (2 * r.wrk.requests)) * 100).toFixed(1)}%` : '',
      agentish ? String(rs.reduce((a, r) => a + (r.kernelDrops ?? 0), 0)) : '',
      String(rs.length),
    ]);
  }
  return markdownTable(
    [rate ? `${service} @ ${fmtNum(rate)} req/s offered` : `${service} saturated`, 'req/s', 'throughput cost', 'p99', 'p99 cost', 'service CPU/req', 'loader cores', 'agent cores', 'traced', 'kernel drops', 'runs'],
    rows,
  );
}

/** Offered rates of the paced runs of a service. */
export function fixedRates(all: RunRecord[], service: string): number[] {
  return [...new Set(all.filter((r) => r.service === service && r.offeredRps !== undefined).map((r) => r.offeredRps!))];
}
