/**
 * Data source settings: the agents to fan out to, the bearer token (kept in
 * secureJsonData: Grafana's proxy adds it, the browser never gets it back)
 * and the proxy timeout.
 */
import React, { type ChangeEvent } from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Alert, Button, FieldSet, IconButton, InlineField, InlineFieldRow, Input, SecretInput } from '@grafana/ui';
import { DEFAULT_TIMEOUT_SECONDS, MAX_AGENTS, validateAgents, withAgents } from '../agents/agent-settings';
import { withLogsLink, withMetricsLink } from '../agents/trace-links';
import type { AgentEndpoint, WiretraceOptions, WiretraceSecureOptions } from '../types';

export type ConfigEditorProps = DataSourcePluginOptionsEditorProps<WiretraceOptions, WiretraceSecureOptions>;

const LABEL_WIDTH = 16;

export function ConfigEditor({ options, onOptionsChange }: ConfigEditorProps) {
  const { jsonData, secureJsonFields } = options;
  const agents: AgentEndpoint[] = jsonData.agents && jsonData.agents.length > 0 ? jsonData.agents : [{ url: '' }];
  const problems = validateAgents(agents.filter((a) => a.url.trim() !== '' || (a.name ?? '') !== ''));

  const setAgents = (next: AgentEndpoint[]) => onOptionsChange({ ...options, jsonData: withAgents(jsonData, next) });
  const updateAgent = (i: number, patch: Partial<AgentEndpoint>) => setAgents(agents.map((a, j) => (j === i ? { ...a, ...patch } : a)));

  return (
    <>
      <FieldSet label="Agents">
        {agents.map((agent, i) => (
          <InlineFieldRow key={i}>
            <InlineField label={`Agent ${i + 1} URL`} labelWidth={LABEL_WIDTH} tooltip="Base URL of one wiretrace agent, e.g. http://10.0.0.5:9797">
              <Input
                aria-label={`Agent ${i + 1} URL`}
                width={40}
                placeholder="http://127.0.0.1:9797"
                value={agent.url}
                onChange={(e: ChangeEvent<HTMLInputElement>) => updateAgent(i, { url: e.currentTarget.value })}
              />
            </InlineField>
            <InlineField label="Name" labelWidth={8} tooltip="Shown in errors and health reports (default: the URL)">
              <Input
                aria-label={`Agent ${i + 1} name`}
                width={20}
                placeholder="node-a"
                value={agent.name ?? ''}
                onChange={(e: ChangeEvent<HTMLInputElement>) => updateAgent(i, { name: e.currentTarget.value })}
              />
            </InlineField>
            <IconButton
              name="trash-alt"
              tooltip={`Remove agent ${i + 1}`}
              disabled={agents.length === 1}
              onClick={() => setAgents(agents.filter((_, j) => j !== i))}
            />
          </InlineFieldRow>
        ))}
        <Button variant="secondary" icon="plus" disabled={agents.length >= MAX_AGENTS} onClick={() => setAgents([...agents, { url: '' }])}>
          Add agent
        </Button>
        {problems.length > 0 && (
          <Alert severity="warning" title="Agent settings">
            {problems.join('; ')}
          </Alert>
        )}
      </FieldSet>
      <FieldSet label="Connection">
        <InlineField label="Bearer token" labelWidth={LABEL_WIDTH} tooltip="The agents' --token; sent by Grafana's server, never to the browser">
          <SecretInput
            aria-label="Bearer token"
            width={40}
            isConfigured={secureJsonFields?.token === true}
            value={options.secureJsonData?.token ?? ''}
            placeholder="agent token"
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              onOptionsChange({ ...options, secureJsonData: { ...options.secureJsonData, token: e.currentTarget.value } })
            }
            onReset={() =>
              onOptionsChange({
                ...options,
                secureJsonFields: { ...secureJsonFields, token: false },
                secureJsonData: { ...options.secureJsonData, token: '' },
              })
            }
          />
        </InlineField>
        <InlineField label="Timeout (s)" labelWidth={LABEL_WIDTH} tooltip="How long Grafana waits for an agent's answer">
          <Input
            aria-label="Timeout"
            type="number"
            width={10}
            min={1}
            placeholder={String(DEFAULT_TIMEOUT_SECONDS)}
            value={jsonData.timeout ?? ''}
            onChange={(e: ChangeEvent<HTMLInputElement>) => {
              const n = Number(e.currentTarget.value);
              const next: WiretraceOptions = { ...jsonData };
              if (e.currentTarget.value === '' || !Number.isFinite(n) || n <= 0) delete next.timeout;
              else next.timeout = n;
              onOptionsChange({ ...options, jsonData: next });
            }}
          />
        </InlineField>
      </FieldSet>
      <FieldSet label="Links from spans">
        <InlineField label="Logs data source" labelWidth={LABEL_WIDTH} tooltip="UID of a logs data source (e.g. Loki): each span gets a link to its service's logs around the span">
          <Input
            aria-label="Logs data source UID"
            width={40}
            placeholder="loki-uid"
            value={jsonData.tracesToLogsV2?.datasourceUid ?? ''}
            onChange={(e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, jsonData: withLogsLink(jsonData, e.currentTarget.value) })}
          />
        </InlineField>
        <InlineField label="Metrics data source" labelWidth={LABEL_WIDTH} tooltip="UID of a metrics data source (e.g. Prometheus)">
          <Input
            aria-label="Metrics data source UID"
            width={40}
            placeholder="prometheus-uid"
            value={jsonData.tracesToMetrics?.datasourceUid ?? ''}
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              onOptionsChange({
                ...options,
                jsonData: withMetricsLink(jsonData, e.currentTarget.value, jsonData.tracesToMetrics?.queries[0]?.query ?? ''),
              })
            }
          />
        </InlineField>
        {/* InlineField passes `disabled` down to its input (and would override the input's own). */}
        <InlineField
          label="Metrics query"
          labelWidth={LABEL_WIDTH}
          disabled={!jsonData.tracesToMetrics}
          tooltip="Query for the metrics link; $__tags is replaced by the span's service filter"
        >
          <Input
            aria-label="Metrics query"
            width={60}
            placeholder="sum(rate(http_requests_total{$__tags}[5m]))"
            value={jsonData.tracesToMetrics?.queries[0]?.query ?? ''}
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              onOptionsChange({
                ...options,
                jsonData: withMetricsLink(jsonData, jsonData.tracesToMetrics?.datasourceUid ?? '', e.currentTarget.value),
              })
            }
          />
        </InlineField>
      </FieldSet>
    </>
  );
}
