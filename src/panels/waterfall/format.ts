/** Short human formats shared by the waterfall's rows and details. */
export function fmtMs(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (a >= 10) return `${ms.toFixed(0)} ms`;
  if (a >= 1) return `${ms.toFixed(2)} ms`;
  if (a >= 0.001) return `${(ms * 1000).toFixed(0)} µs`;
  return `${(ms * 1e6).toFixed(0)} ns`;
}

export function fmtBytes(b: number): string {
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b} B`;
}

export function fmtPercent(r: number): string {
  return `${Math.round(r * 100)}%`;
}
