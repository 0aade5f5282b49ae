/**
 * A minimal protobuf (proto3 wire format) writer: just what the OTLP trace
 * request needs (varints, fixed64, doubles, bytes, strings, nested messages).
 * Hand-written so the agent needs no runtime dependency for export; the tests
 * decode its output with the official .proto files through protobufjs.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  /** An unsigned varint of a non-negative safe integer (up to 2^53). */
  private rawVarint(value: number): void {
    this.ensure(10);
    let v = value;
    // Bitwise operators work on 32 bits: divide for the high part.
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** uint32/uint64/enum/bool field; proto3 omits defaults (zero). */
  uint(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
  }

  bool(field: number, value: boolean, always = false): void {
    if (!value && !always) return;
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value ? 1 : 0);
  }

  /** int64 field: negatives are ten-byte two's complement varints. */
  int64(field: number, value: number, always = false): void {
    if (value === 0 && !always) return;
    this.tag(field, WIRE_VARINT);
    if (value >= 0) {
      this.rawVarint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed64(field: number, value: bigint): void {
    if (value === 0n) return;
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, value), this.pos);
    this.pos += 8;
  }

  double(field: number, value: number, always = false): void {
    if (value === 0 && !Object.is(value, -0) && !always) return;
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  bytes(field: number, value: Uint8Array): void {
    if (value.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.rawVarint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** `always`: write an empty string too (inside a oneof, presence is the value). */
  string(field: number, value: string, always = false): void {
    if (value.length === 0 && !always) return;
    const len = Buffer.byteLength(value, 'utf8');
    this.tag(field, WIRE_LEN);
    this.rawVarint(len);
    this.ensure(len);
    this.pos += this.buf.write(value, this.pos, len, 'utf8');
  }

  /**
   * A nested message, written even when empty (an empty AnyValue still marks
   * presence). Written in place: one byte is reserved for the length and the
   * body is moved only when its length needs more (bodies over 127 bytes),
   * so nesting allocates nothing.
   */
  message(field: number, write: (w: ProtoWriter) => void): void {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    const at = this.pos++;
    write(this);
    const len = this.pos - at - 1;
    const size = varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    let v = len;
    let p = at;
    while (v > 0x7f) {
      this.buf[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[p] = v;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
