import { PanelPlugin } from '@grafana/data';
import { WaterfallPanel } from './WaterfallPanel';
import { DEFAULT_WATERFALL_OPTIONS as D, type WaterfallOptions } from './types';

export const plugin = new PanelPlugin<WaterfallOptions>(WaterfallPanel).setPanelOptions((builder) =>
  builder
    .addBooleanSwitch({
      path: 'showCriticalPath',
      name: 'Critical path',
      description: 'Highlight the chain of spans that determines the trace end-to-end latency',
      defaultValue: D.showCriticalPath,
    })
    .addBooleanSwitch({
      path: 'showNetworkGaps',
      name: 'Network gaps',
      description: "Draw each call's client side behind its server side, with the time spent on the network before and after",
      defaultValue: D.showNetworkGaps,
    })
    .addNumberInput({ path: 'rowHeight', name: 'Row height (px)', category: ['Layout'], defaultValue: D.rowHeight, settings: { min: 16, max: 60 } })
    .addNumberInput({ path: 'labelWidth', name: 'Label column width (px)', category: ['Layout'], defaultValue: D.labelWidth, settings: { min: 120, max: 800 } })
    .addNumberInput({ path: 'detailsHeight', name: 'Details pane height (px)', category: ['Layout'], defaultValue: D.detailsHeight, settings: { min: 80, max: 800 } }),
);
