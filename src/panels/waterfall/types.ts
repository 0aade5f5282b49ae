export interface WaterfallOptions {
  /** Height of one span row, px. */
  rowHeight: number;
  /** Width of the service/operation column, px. */
  labelWidth: number;
}

export const DEFAULT_WATERFALL_OPTIONS: WaterfallOptions = { rowHeight: 24, labelWidth: 320 };
