/**
 * Trace ids on the wire: Jaeger accepts 1 to 32 hex digits (64-bit ids are
 * often written without leading zeros); the store keys traces by the model's
 * canonical form, 32 lowercase hex digits.
 */
const TRACE_ID = /^[0-9a-fA-F]{1,32}$/;

/** The canonical 32-digit form, or undefined when `text` is not a trace id. */
export function normalizeTraceId(text: string): string | undefined {
  return TRACE_ID.test(text) ? text.toLowerCase().padStart(32, '0') : undefined;
}
