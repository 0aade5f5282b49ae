import { PanelPlugin } from '@grafana/data';
import { ServiceMapPanel } from './ServiceMapPanel';
import { DEFAULT_OPTIONS, type ServiceMapOptions } from './types';

export const plugin = new PanelPlugin<ServiceMapOptions>(ServiceMapPanel).setPanelOptions((builder) =>
  builder
    .addNumberInput({
      path: 'latencyWarnMs',
      name: 'Latency warning (ms)',
      description: 'Edges whose p95 latency reaches this are drawn amber',
      category: ['Edge thresholds'],
      defaultValue: DEFAULT_OPTIONS.latencyWarnMs,
      settings: { min: 0 },
    })
    .addNumberInput({
      path: 'latencyCritMs',
      name: 'Latency critical (ms)',
      description: 'Edges whose p95 latency reaches this are drawn red',
      category: ['Edge thresholds'],
      defaultValue: DEFAULT_OPTIONS.latencyCritMs,
      settings: { min: 0 },
    })
    .addNumberInput({
      path: 'errorWarnRatio',
      name: 'Error ratio warning (0–1)',
      category: ['Edge thresholds'],
      defaultValue: DEFAULT_OPTIONS.errorWarnRatio,
      settings: { min: 0, max: 1, step: 0.01 },
    })
    .addNumberInput({
      path: 'errorCritRatio',
      name: 'Error ratio critical (0–1)',
      category: ['Edge thresholds'],
      defaultValue: DEFAULT_OPTIONS.errorCritRatio,
      settings: { min: 0, max: 1, step: 0.01 },
    })
    .addBooleanSwitch({
      path: 'showEdgeLabels',
      name: 'Edge labels',
      description: 'Show p95 latency, rate and error ratio on each edge',
      defaultValue: DEFAULT_OPTIONS.showEdgeLabels,
    })
    .addTextInput({
      path: 'edgeLink',
      name: 'Edge link',
      description: 'Opened when an edge is clicked; ${client} and ${server} are replaced, dashboard variables too',
      defaultValue: DEFAULT_OPTIONS.edgeLink,
    })
    .addTextInput({
      path: 'nodeLink',
      name: 'Node link',
      description: 'Opened when a node is clicked; ${service} is replaced, dashboard variables too',
      defaultValue: DEFAULT_OPTIONS.nodeLink,
    }),
);
