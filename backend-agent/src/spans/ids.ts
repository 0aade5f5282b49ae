/**
 * Span and trace ids the agent makes itself, for calls whose headers carry
 * none. They are derived from what identifies the exchange (connection,
 * position on it, side), not random, so re-processing the same capture gives
 * the same ids and a reconstructed trace is stable across queries.
 *
 * The digest is a fast non-cryptographic 128-bit hash (fast-hash.ts), not
 * sha256: the keys are the agent's own (session, connection, position), not
 * attacker-chosen, so only spread and determinism matter; sha256 through
 * node:crypto cost about twice as much per span on the ingest path.
 */
import { hash128Hex, hash128HexPair } from './fast-hash.js';

// Distinct seeds keep the ids of the two derivations independent even for the same key.
const SPAN_SEED = 0x5350414e; // "SPAN"
const TRACE_SEED = 0x54524143; // "TRAC"
const TRACE_SPAN_SEED = 0x49445321; // "IDS!"

export function derivedSpanId(key: string): string {
  return nonZero(hash128Hex(key, SPAN_SEED, 8));
}

/** Both ids of a header-less span from one key. */
export function derivedIds(key: string): { traceId: string; spanId: string } {
  const [traceHex, spanHex] = hash128HexPair(key, TRACE_SEED, TRACE_SPAN_SEED, 8);
  return { traceId: nonZero(traceHex), spanId: nonZero(spanHex) };
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** All-zero ids are invalid in every propagation format. */
function nonZero(hex: string): string {
  return hex === ZERO_TRACE || hex === ZERO_SPAN ? `${hex.slice(0, -1)}1` : hex;
}
