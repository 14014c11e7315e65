import { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES } from '../limits.js';
import { encodeVarint, varintLength } from './varint.js';

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
