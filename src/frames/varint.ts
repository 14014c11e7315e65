/**
 * Unsigned LEB128 varints for frame lengths (docs/protocol.md §1.1): 7 value bits per byte, least
 * significant group first, 0x80 as the continuation bit, 1–5 bytes, values 0 … 2^32 − 1, exactly
 * one encoding per value.
 */

/** Longest varint accepted: 5 bytes carry 35 bits, of which only the low 32 are allowed. */
export const MAX_VARINT_BYTES = 5;

/** Largest value a varint may carry (2^32 − 1). */
export const MAX_VARINT_VALUE = 0xffff_ffff;

/** Why {@link varintByteError} rejected a byte; `NONE` means the byte is acceptable. */
export const VarintError = {
  /** The byte is acceptable. */
  NONE: 0,
  /** The 5th byte has the continuation bit set (the varint would be 6 bytes or longer). */
  TOO_LONG: 1,
  /** The 5th byte's value bits exceed 0x0f, so the value would exceed 2^32 − 1. */
  TOO_LARGE: 2,
  /** A multi-byte varint ends in 0x00: a shorter encoding of the same value exists. */
  OVERLONG: 3
} as const;

/** One of the values of {@link VarintError}. */
export type VarintError = (typeof VarintError)[keyof typeof VarintError];

/** 2^(7·i): the weight of byte i. Multiplication, because `<< 28` overflows JS's signed 32 bits. */
const WEIGHTS = [1, 2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28] as const;

function assertVarintValue(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_VARINT_VALUE) {
    throw new RangeError(
      `varint value must be an integer in [0, ${MAX_VARINT_VALUE}] (got ${value})`
    );
  }
}

/**
 * Number of bytes {@link encodeVarint} writes for `value`.
 *
 * @param value - an integer in [0, 2^32 − 1]
 * @returns 1 to 5
 * @throws RangeError if `value` is not an integer in [0, 2^32 − 1]
 */
export function varintLength(value: number): number {
  assertVarintValue(value);
  let bytes = 1;
  while (bytes < MAX_VARINT_BYTES && value >= WEIGHTS[bytes]) bytes++;
  return bytes;
}

/**
 * Writes `value` as an unsigned LEB128 varint into `into` at `offset`.
 *
 * @param value - an integer in [0, 2^32 − 1]
 * @param into - the destination; needs {@link varintLength}(value) bytes from `offset`
 * @param offset - where the first byte goes
 * @returns the number of bytes written (1 to 5)
 * @throws RangeError if `value` is out of range or not an integer, or `into` is too short
 * @remarks O(1), no allocation.
 */
export function encodeVarint(value: number, into: Uint8Array, offset: number): number {
  // One byte (bodies under 128 bytes, most of a small-message stream): small enough to inline.
  if (value >>> 0 === value && value < 0x80 && offset >= 0 && offset < into.length) {
    into[offset] = value;
    return 1;
  }
  return encodeLongVarint(value, into, offset);
}

function encodeLongVarint(value: number, into: Uint8Array, offset: number): number {
  const bytes = varintLength(value);
  if (offset < 0 || offset + bytes > into.length) {
    throw new RangeError(
      `varint needs ${bytes} bytes at offset ${offset} (buffer has ${into.length})`
    );
  }
  // `>>> 7` treats the operand as unsigned 32-bit, so values ≥ 2^31 shift correctly.
  let rest = value >>> 0;
  for (let i = 0; i < bytes - 1; i++) {
    into[offset + i] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  into[offset + bytes - 1] = rest;
  return bytes;
}

/**
 * Checks byte number `index` (0-based) of a varint against the decoding rules of
 * docs/protocol.md §1.1; the incremental decoder calls it once per length byte.
 *
 * @param byte - the byte, 0 … 255
 * @param index - its position in the varint, 0 … {@link MAX_VARINT_BYTES} − 1
 * @returns `VarintError.NONE`, or why the byte makes the stream malformed
 * @remarks O(1), no allocation.
 */
export function varintByteError(byte: number, index: number): VarintError {
  if (index === MAX_VARINT_BYTES - 1) {
    if ((byte & 0x80) !== 0) return VarintError.TOO_LONG;
    if (byte > 0x0f) return VarintError.TOO_LARGE;
  }
  // Only the last byte can be 0x00 with the continuation bit clear; past the first byte it adds
  // nothing to the value, so the encoding is overlong.
  if (index > 0 && byte === 0) return VarintError.OVERLONG;
  return VarintError.NONE;
}

/**
 * The amount byte number `index` (0-based) adds to the varint's value; sum it over the bytes.
 *
 * @param byte - the byte, already accepted by {@link varintByteError}
 * @param index - its position in the varint, 0 … {@link MAX_VARINT_BYTES} − 1
 * @returns `(byte & 0x7f) · 2^(7·index)`, exact for every accepted varint
 * @remarks O(1), no allocation.
 */
export function varintByteValue(byte: number, index: number): number {
  return (byte & 0x7f) * WEIGHTS[index];
}
