/** Sampling and the decision window between the pipeline and the store/exporter. */
export { SamplingPolicy, keepAtRate, traceRandomness } from './policy.js';
export type { Decision, KeepReason, SamplingPolicyConfig, ServiceSampling } from './policy.js';
export { TraceWindow } from './trace-window.js';
export type { PartDecider, TracePart, TraceWindowOptions } from './trace-window.js';
export { TraceOutputs } from './trace-outputs.js';
export type { SpanExporter, TraceOutputsOptions } from './trace-outputs.js';
