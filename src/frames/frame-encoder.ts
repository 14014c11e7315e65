import { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES } from '../limits.js';
import { encodeVarint, varintLength } from './varint.js';

const utf8 = new TextEncoder();

/** Initial capacity of a {@link FrameEncoder}'s buffer; it doubles as needed. */
const INITIAL_BYTES = 4096;

function assertMaxFrameBytes(maxFrameBytes: number): void {
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_FRAME_BYTES) {
    throw new RangeError(
      `maxFrameBytes must be an integer in [0, ${MAX_FRAME_BYTES}] (got ${maxFrameBytes})`
    );
  }
}

function assertBodySize(body: Uint8Array, maxFrameBytes: number): void {
  if (body.length > maxFrameBytes) {
    throw new RangeError(
      `frame body of ${body.length} bytes exceeds maxFrameBytes ${maxFrameBytes}`
    );
  }
}

/**
 * Appends frames (docs/protocol.md §1) to one growable buffer, so many frames leave as one write:
 * the write-coalescing unit of a link.
 *
 * @remarks `frame` is amortised O(body length) and allocates only when the buffer grows (it
 * doubles and is kept across `take` calls); `take` allocates the returned copy.
 *
 * @example
 * ```ts
 * const encoder = new FrameEncoder();
 * encoder.frame(a);
 * encoder.frame(b);
 * socket.write(encoder.take()); // both frames, one write
 * ```
 */
export class FrameEncoder {
  /** Largest body {@link FrameEncoder.frame} accepts. */
  readonly maxFrameBytes: number;

  private buffer: Uint8Array;
  private used: number;
  /** Offset of the frame being written in place, and the bytes reserved for its prefix. */
  private start = 0;
  private prefix = 1;

  /**
   * @param maxFrameBytes - largest body accepted
   * @defaultValue `maxFrameBytes`: `DEFAULT_MAX_FRAME_BYTES` (1 MiB)
   * @throws RangeError if `maxFrameBytes` is not an integer in [0, 2^32 − 1]
   */
  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    assertMaxFrameBytes(maxFrameBytes);
    this.maxFrameBytes = maxFrameBytes;
    this.buffer = new Uint8Array(INITIAL_BYTES);
    this.used = 0;
  }

  /** Bytes written since the last {@link FrameEncoder.take} (length prefixes included). */
  get size(): number {
    return this.used;
  }

  /**
   * Appends one frame: the varint length of `body`, then `body` (copied).
   *
   * @param body - the frame body; the caller may reuse it as soon as this returns
   * @throws RangeError if `body` is longer than `maxFrameBytes` (nothing is appended)
   */
  frame(body: Uint8Array): void {
    assertBodySize(body, this.maxFrameBytes);
    const needed = this.used + varintLength(body.length) + body.length;
    if (needed > this.buffer.length) this.grow(needed);
    this.used += encodeVarint(body.length, this.buffer, this.used);
    this.buffer.set(body, this.used);
    this.used += body.length;
  }

  /**
   * Starts a frame written in place with the field writers below and finished by
   * {@link FrameEncoder.end}: no body buffer, no copy unless the body outgrows `estimate`.
   *
   * @param estimate - expected body length; the length prefix is sized for it and moved once if
   *   the body turns out longer
   */
  begin(estimate: number): void {
    this.start = this.used;
    this.prefix = estimate < 0x80 ? 1 : varintLength(Math.min(estimate, MAX_FRAME_BYTES));
    this.ensure(this.prefix + estimate);
    this.used += this.prefix;
  }

  /** Writes one byte of the current frame. */
  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.used++] = value;
  }

  /**
   * Writes an unsigned LEB128 integer field of up to 53 bits (docs/protocol.md §2.1).
   *
   * @param value - an integer in [0, 2^53 − 1]; the caller guarantees it (ids and counters)
   */
  uint(value: number): void {
    this.ensure(8);
    const b = this.buffer;
    let v = value;
    while (v >= 0x80) {
      b[this.used++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.used++] = v;
  }

  /** Writes a string field: its UTF-8 byte length as a field integer, then the bytes. */
  str(value: string): void {
    const n = value.length;
    // ASCII fast path: byte length = string length, known before writing.
    this.ensure(8 + n);
    const b = this.buffer;
    const at = this.used;
    let p = at + (n < 0x80 ? 1 : varintLength(n));
    let i = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) break;
      b[p++] = c;
    }
    if (i === n) {
      this.uint(n);
      this.used = p;
      return;
    }
    const bytes = utf8.encode(value);
    this.uint(bytes.length);
    this.bytes(bytes);
  }

  /** Writes raw bytes (no length: the caller's layout says how many). */
  bytes(value: Uint8Array): void {
    this.ensure(value.length);
    this.buffer.set(value, this.used);
    this.used += value.length;
  }

  /** Writes `value` as UTF-8 with no length (the rest of the frame). */
  utf8(value: string): void {
    this.ensure(value.length * 3);
    this.used += utf8.encodeInto(value, this.buffer.subarray(this.used)).written;
  }

  /**
   * Finishes the frame begun by {@link FrameEncoder.begin}: writes its length prefix.
   *
   * @throws RangeError if the body exceeds `maxFrameBytes`; the frame is removed
   */
  end(): void {
    const bodyStart = this.start + this.prefix;
    const length = this.used - bodyStart;
    if (length > this.maxFrameBytes) {
      this.used = this.start;
      throw new RangeError(
        `frame body of ${length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`
      );
    }
    if (length < 0x80 && this.prefix === 1) {
      this.buffer[this.start] = length; // the common case: a one-byte prefix as reserved
      return;
    }
    const prefix = varintLength(length);
    if (prefix !== this.prefix) {
      // Sized for a smaller estimate (or a larger one): move the body so the prefix is canonical.
      this.ensure(prefix - this.prefix);
      this.buffer.copyWithin(this.start + prefix, bodyStart, this.used);
      this.used += prefix - this.prefix;
    }
    encodeVarint(length, this.buffer, this.start);
  }

  /** Drops a frame begun by {@link FrameEncoder.begin} (a field could not be encoded). */
  abort(): void {
    this.used = this.start;
  }

  /**
   * Returns the bytes written since the last call and empties the encoder.
   *
   * @returns a copy, owned by the caller: it stays valid while the encoder is reused (a transport
   *   may hold it until the write completes); empty if nothing was written
   */
  take(): Uint8Array {
    const out = this.buffer.slice(0, this.used);
    this.used = 0;
    return out;
  }

  private ensure(more: number): void {
    if (this.used + more > this.buffer.length) this.grow(this.used + more);
  }

  private grow(needed: number): void {
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.used));
    this.buffer = next;
  }
}

/**
 * Encodes one frame into a new array: the varint length of `body`, then `body`.
 *
 * @param body - the frame body
 * @param maxFrameBytes - largest body accepted
 * @defaultValue `maxFrameBytes`: `DEFAULT_MAX_FRAME_BYTES` (1 MiB)
 * @returns a new array holding the whole frame
 * @throws RangeError if `body` is longer than `maxFrameBytes`
 */
export function encodeFrame(
  body: Uint8Array,
  maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES
): Uint8Array {
  assertBodySize(body, maxFrameBytes);
  const out = new Uint8Array(varintLength(body.length) + body.length);
  out.set(body, encodeVarint(body.length, out, 0));
  return out;
}
