/** Trace reconstruction at query time (pure functions over a trace's spans). */
export { assembleTrace, DEFAULT_LAYERS } from './assemble.js';
export { headerLinks } from './header-links.js';
export { socketJoinLinks } from './socket-join-links.js';
export { inProcessLinks, createInProcessLinks, isEventLoop } from './in-process-links.js';
export type { InProcessOptions } from './in-process-links.js';
export { canonicalOrder, compareSpans } from './canonical-order.js';
export type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';
export { buildTrace, buildTraces, DEFAULT_BUILD_OPTIONS } from './trace-builder.js';
export type { BuiltTrace, BuildOptions, CandidateSource } from './trace-builder.js';
export { traceComponents } from './trace-components.js';
export type { TraceTree } from './trace-components.js';
