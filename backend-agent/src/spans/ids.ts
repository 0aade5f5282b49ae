/**
 * Span and trace ids the agent makes itself, for calls whose headers carry
 * none. They are derived from what identifies the exchange (connection,
 * position on it, side), not random, so re-processing the same capture gives
 * the same ids and a reconstructed trace is stable across queries.
 */
import { createHash } from 'node:crypto';

function digestHex(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function derivedSpanId(key: string): string {
  return nonZero(digestHex(`span|${key}`).slice(0, 16));
}

/** Both ids of a header-less span from one digest (the common case: one hash per span, not two). */
export function derivedIds(key: string): { traceId: string; spanId: string } {
  const hex = digestHex(`ids|${key}`);
  return { traceId: nonZero(hex.slice(0, 32)), spanId: nonZero(hex.slice(32, 48)) };
}

/** All-zero ids are invalid in every propagation format. */
function nonZero(hex: string): string {
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}
