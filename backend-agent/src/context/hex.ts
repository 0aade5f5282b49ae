/** Character-level checks on hex ids, written as loops so they run in linear time with no allocation. */

/** True when `value[start, end)` is non-empty and only `0-9a-f`. */
export function isLowerHex(value: string, start = 0, end = value.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** True when `value` is non-empty and only `0-9a-f` / `A-F`. */
export function isHexAnyCase(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return false;
  }
  return true;
}

/** True when every character is `0` (ids made only of zeros mean "absent" in every format). */
export function isAllZeros(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) !== 0x30) return false;
  }
  return true;
}

/** Left-pads a hex id with zeros to `width` (64-bit ids become 128-bit ones this way). */
export function padHex(value: string, width: number): string {
  return value.length >= width ? value : value.padStart(width, '0');
}
