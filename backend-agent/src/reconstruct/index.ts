/** Trace reconstruction at query time (pure functions over a trace's spans). */
export { assembleTrace, DEFAULT_LAYERS } from './assemble.js';
export { headerLinks } from './header-links.js';
export { containmentLinks } from './containment-links.js';
export { canonicalOrder, compareSpans } from './canonical-order.js';
export type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';
