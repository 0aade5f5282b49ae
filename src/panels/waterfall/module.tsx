import { PanelPlugin } from '@grafana/data';
import { WaterfallPanel } from './WaterfallPanel';
import { DEFAULT_WATERFALL_OPTIONS, type WaterfallOptions } from './types';

export const plugin = new PanelPlugin<WaterfallOptions>(WaterfallPanel).setPanelOptions((builder) =>
  builder
    .addNumberInput({ path: 'rowHeight', name: 'Row height (px)', defaultValue: DEFAULT_WATERFALL_OPTIONS.rowHeight, settings: { min: 14, max: 60 } })
    .addNumberInput({ path: 'labelWidth', name: 'Label column width (px)', defaultValue: DEFAULT_WATERFALL_OPTIONS.labelWidth, settings: { min: 120, max: 800 } }),
);
