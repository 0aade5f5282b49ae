export interface WaterfallOptions {
  /** Height of one span row, px. */
  rowHeight: number;
  /** Width of the service/operation column, px. */
  labelWidth: number;
  /** Highlight the chain of spans that sets the trace's end-to-end latency. */
  showCriticalPath: boolean;
  /** Draw each RPC's client side behind its server side, with the network gap before and after. */
  showNetworkGaps: boolean;
  /** Height of the span details pane when a span is selected, px. */
  detailsHeight: number;
}

export const DEFAULT_WATERFALL_OPTIONS: WaterfallOptions = {
  rowHeight: 24,
  labelWidth: 340,
  showCriticalPath: true,
  showNetworkGaps: true,
  detailsHeight: 240,
};
