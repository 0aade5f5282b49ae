/** The query editor: the query type, then the fields that type uses. */
import React, { useEffect, useState, type ChangeEvent } from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup, Select } from '@grafana/ui';
import type { WiretraceDataSource } from '../datasource';
import { EDGE_METRICS, type EdgeMetric, type KindFilter, type QueryType, type StatusFilter, type WiretraceOptions, type WiretraceQuery } from '../types';

export type WiretraceQueryEditorProps = QueryEditorProps<WiretraceDataSource, WiretraceQuery, WiretraceOptions>;

export const QUERY_TYPE_OPTIONS: Array<SelectableValue<QueryType>> = [
  { label: 'Search', value: 'search' },
  { label: 'Trace by ID', value: 'trace' },
  { label: 'Service graph', value: 'serviceGraph' },
  { label: 'Edge metrics', value: 'edgeMetrics' },
  { label: 'Raw spans', value: 'spans' },
];

const STATUS_OPTIONS: Array<SelectableValue<StatusFilter>> = [
  { label: 'error', value: 'error' },
  { label: 'ok', value: 'ok' },
  { label: 'unset', value: 'unset' },
];
const KIND_OPTIONS: Array<SelectableValue<KindFilter>> = [
  { label: 'client', value: 'client' },
  { label: 'server', value: 'server' },
];
const METRIC_LABELS: Record<EdgeMetric, string> = { rate: 'Rate', errorRatio: 'Error ratio', p50: 'p50 latency', p95: 'p95 latency', p99: 'p99 latency' };
const METRIC_OPTIONS: Array<SelectableValue<EdgeMetric>> = EDGE_METRICS.map((m) => ({ label: METRIC_LABELS[m], value: m }));

const W = 14;

function toOptions(values: string[]): Array<SelectableValue<string>> {
  return values.map((v) => ({ label: v, value: v }));
}

/** Loads a list for a picker; failures leave it empty (the field still takes typed values). */
function useList(load: () => Promise<string[]>, deps: unknown[]): string[] {
  const [values, setValues] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => live && setValues(v),
      () => live && setValues([]),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return values;
}

export function QueryEditor({ query, datasource, onChange, onRunQuery }: WiretraceQueryEditorProps) {
  const type: QueryType = query.queryType ?? 'search';
  const set = (patch: Partial<WiretraceQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) onRunQuery();
  };
  const text = (key: 'traceId' | 'tags' | 'minDuration' | 'maxDuration' | 'edge') => ({
    value: query[key] ?? '',
    onChange: (e: ChangeEvent<HTMLInputElement>) => set({ [key]: e.currentTarget.value }, false),
    onBlur: () => onRunQuery(),
  });
  const services = useList(() => datasource.services(), [datasource]);
  const operations = useList(() => (query.service ? datasource.operations(query.service) : Promise.resolve([])), [datasource, query.service]);
  const usesFilters = type === 'search' || type === 'spans';

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={W}>
          <RadioButtonGroup<QueryType> options={QUERY_TYPE_OPTIONS} value={type} onChange={(v) => set({ queryType: v })} />
        </InlineField>
      </InlineFieldRow>
      {type === 'trace' && (
        <InlineFieldRow>
          <InlineField label="Trace ID" labelWidth={W}>
            <Input aria-label="Trace ID" width={40} placeholder="4bf92f3577b34da6a3ce929d0e0e4736" {...text('traceId')} />
          </InlineField>
        </InlineFieldRow>
      )}
      {usesFilters && (
        <>
          <InlineFieldRow>
            <InlineField label="Service" labelWidth={W}>
              <Select
                aria-label="Service"
                width={28}
                isClearable
                allowCustomValue
                options={toOptions(services)}
                value={query.service ?? null}
                onChange={(v: SelectableValue<string> | null) => set({ service: v?.value, operation: undefined })}
              />
            </InlineField>
            <InlineField label="Operation" labelWidth={W}>
              <Select
                aria-label="Operation"
                width={32}
                isClearable
                allowCustomValue
                options={toOptions(operations)}
                value={query.operation ?? null}
                onChange={(v: SelectableValue<string> | null) => set({ operation: v?.value })}
              />
            </InlineField>
          </InlineFieldRow>
          <InlineFieldRow>
            <InlineField label="Tags" labelWidth={W} tooltip='logfmt, e.g. http.response.status_code=500 url.path="/a b"'>
              <Input aria-label="Tags" width={40} placeholder="http.response.status_code=500" {...text('tags')} />
            </InlineField>
            <InlineField label="Status" labelWidth={W}>
              <Select
                aria-label="Status"
                width={14}
                isClearable
                options={STATUS_OPTIONS}
                value={query.status ?? null}
                onChange={(v: SelectableValue<StatusFilter> | null) => set({ status: v?.value })}
              />
            </InlineField>
          </InlineFieldRow>
          <InlineFieldRow>
            <InlineField label="Min duration" labelWidth={W} tooltip="Go duration: 250us, 1.2ms, 3s">
              <Input aria-label="Min duration" width={12} placeholder="100ms" {...text('minDuration')} />
            </InlineField>
            <InlineField label="Max duration" labelWidth={W}>
              <Input aria-label="Max duration" width={12} placeholder="5s" {...text('maxDuration')} />
            </InlineField>
            <InlineField label="Limit" labelWidth={W}>
              <Input
                aria-label="Limit"
                type="number"
                width={10}
                min={1}
                value={query.limit ?? ''}
                onChange={(e: ChangeEvent<HTMLInputElement>) => {
                  const n = Number.parseInt(e.currentTarget.value, 10);
                  set({ limit: Number.isFinite(n) && n > 0 ? n : undefined }, false);
                }}
                onBlur={() => onRunQuery()}
              />
            </InlineField>
            {type === 'spans' && (
              <InlineField label="Kind" labelWidth={W}>
                <Select
                  aria-label="Kind"
                  width={14}
                  isClearable
                  options={KIND_OPTIONS}
                  value={query.kind ?? null}
                  onChange={(v: SelectableValue<KindFilter> | null) => set({ kind: v?.value })}
                />
              </InlineField>
            )}
          </InlineFieldRow>
        </>
      )}
      {type === 'edgeMetrics' && (
        <InlineFieldRow>
          <InlineField label="Metric" labelWidth={W}>
            <Select
              aria-label="Metric"
              width={20}
              options={METRIC_OPTIONS}
              value={query.metric ?? 'rate'}
              onChange={(v: SelectableValue<EdgeMetric>) => set({ metric: v.value ?? 'rate' })}
            />
          </InlineField>
          <InlineField label="Edge" labelWidth={W} tooltip="Only this edge, e.g. frontend->orders or $edge (edges() variable); empty for all">
            <Input aria-label="Edge" width={32} placeholder="all edges" {...text('edge')} />
          </InlineField>
        </InlineFieldRow>
      )}
    </>
  );
}
