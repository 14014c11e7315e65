import { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES } from '../limits.js';
import { encodeVarint, varintLength } from './varint.js';

const utf8 = new TextEncoder();

/**
 * First buffer of a {@link FrameEncoder}. Each next one doubles up to 64 KiB (a busy link renews
 * its buffer every few hundred frames, an idle one keeps 4 KiB), or is sized for a larger frame.
 */
const INITIAL_BYTES = 4096;
const STEADY_BYTES = 64 * 1024;
/** Writes one flush may be cut into by shared frames; past it they are copied. */
const MAX_CHUNKS = 16;
/** Longest string field whose encoding is kept for the next write of the same string. */
const CACHED_STR_MAX = 128;

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
 * @remarks `frame` is amortised O(body length). `takeChunks` hands out views and never copies:
 * the encoder goes on writing after them and starts a new buffer when one is full, so bytes it
 * handed out are never written again (a transport may hold them until the write completes).
 * Whole frames another encoder wrote can be appended by reference with `share`: a fan-out writes
 * the same bytes to every link.
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
  /** Offset of the first byte not yet taken. */
  private taken = 0;
  /** Views cut off for the transport, in order, before the run and the own bytes from `taken`. */
  private readonly chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /** Frames shared from another encoder's target, `run[runStart, runEnd)`, not copied. */
  private run: Uint8Array | undefined = undefined;
  private runStart = 0;
  private runEnd = 0;
  /** The last ASCII string field written, and its encoding (length prefix and bytes). */
  private lastStr = '';
  private lastField = new Uint8Array(1);
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
    return this.chunkBytes + (this.runEnd - this.runStart) + (this.used - this.taken);
  }

  /**
   * Appends one frame: the varint length of `body`, then `body` (copied).
   *
   * @param body - the frame body; the caller may reuse it as soon as this returns
   * @throws RangeError if `body` is longer than `maxFrameBytes` (nothing is appended)
   */
  frame(body: Uint8Array): void {
    assertBodySize(body, this.maxFrameBytes);
    if (this.run !== undefined) this.cutRun();
    this.ensure(varintLength(body.length) + body.length);
    this.used += encodeVarint(body.length, this.buffer, this.used);
    this.buffer.set(body, this.used);
    this.used += body.length;
  }

  /**
   * Appends whole frames another encoder wrote, `bytes[start, end)`, by reference: they go out as
   * they are, with no copy when they continue the frames shared just before (the same fan-out in
   * the same order). `bytes` must never change (an encoder's {@link FrameEncoder.target} never
   * does for frames it ended).
   */
  share(bytes: Uint8Array, start: number, end: number): void {
    if (bytes === this.run && start === this.runEnd) {
      this.runEnd = end;
      return;
    }
    if (this.run !== undefined) this.cutRun();
    if (this.chunks.length >= MAX_CHUNKS) {
      // Interleaved with frames of our own: copy rather than cut the flush into many writes.
      this.ensure(end - start);
      this.buffer.set(bytes.subarray(start, end), this.used);
      this.used += end - start;
      return;
    }
    if (this.used > this.taken) this.cut(this.buffer.subarray(this.taken, this.used));
    this.taken = this.used;
    this.run = bytes;
    this.runStart = start;
    this.runEnd = end;
  }

  /** The array being written; the bytes of a frame once ended are never written again. */
  get target(): Uint8Array {
    return this.buffer;
  }

  /** Offset in {@link FrameEncoder.target} where the next byte goes. */
  get position(): number {
    return this.used;
  }

  /** Offset in {@link FrameEncoder.target} of the frame begun last; after `end` it ends at `position`. */
  get frameStart(): number {
    return this.start;
  }

  /**
   * Starts a frame written in place with the field writers below and finished by
   * {@link FrameEncoder.end}: no body buffer, no copy unless the body outgrows `estimate`.
   *
   * @param estimate - expected body length; the length prefix is sized for it and moved once if
   *   the body turns out longer
   */
  begin(estimate: number): void {
    if (this.run !== undefined) this.cutRun();
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
    this.ensure(MAX_UINT_BYTES);
    this.used = writeUint(this.buffer, this.used, value);
  }

  /**
   * Makes room for `bytes` more bytes of the current frame and returns where they start in
   * {@link FrameEncoder.target}: a hot frame's fields are written there directly, then
   * {@link FrameEncoder.advance} says how far.
   */
  room(bytes: number): number {
    this.ensure(bytes);
    return this.used;
  }

  /** Marks the bytes up to `position` of {@link FrameEncoder.target} written (after `room`). */
  advance(position: number): void {
    this.used = position;
  }

  /** Writes a string field: its UTF-8 byte length as a field integer, then the bytes. */
  str(value: string): void {
    const n = value.length;
    this.ensure(8 + n);
    const b = this.buffer;
    if (value === this.lastStr) {
      // A link sends one topic many times in a row: copy its field, length included.
      const field = this.lastField;
      const at = this.used;
      for (let i = 0; i < field.length; i++) b[at + i] = field[i];
      this.used = at + field.length;
      return;
    }
    // ASCII fast path: byte length = string length, known before writing.
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
      if (n <= CACHED_STR_MAX) {
        this.lastStr = value;
        this.lastField = b.slice(at, p);
      }
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
   * Returns the bytes written since the last call, in order, and empties the encoder.
   *
   * @returns views owned by the caller: the encoder never writes those bytes again, so they stay
   *   valid while the encoder is reused (a transport may hold them until the write completes);
   *   empty if nothing was written
   */
  takeChunks(): Uint8Array[] {
    if (this.run !== undefined) this.cutRun();
    const out = this.chunks.slice();
    if (this.used > this.taken) out.push(this.buffer.subarray(this.taken, this.used));
    this.taken = this.used;
    this.chunks.length = 0;
    this.chunkBytes = 0;
    return out;
  }

  /** {@link FrameEncoder.takeChunks} as one array (a copy when there are several). */
  take(): Uint8Array {
    const chunks = this.takeChunks();
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private cutRun(): void {
    this.cut(this.run!.subarray(this.runStart, this.runEnd));
    this.run = undefined;
    this.runStart = this.runEnd = 0;
  }

  private cut(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
  }

  private ensure(more: number): void {
    if (this.used + more > this.buffer.length) this.renew(more);
  }

  /**
   * Starts a new buffer with room for `more`: the complete frames not taken yet stay where they
   * are as a chunk of the old one (no copy, and a transport holding them pins only that), a frame
   * in progress moves.
   */
  private renew(more: number): void {
    // `start` is that frame's offset; outside a frame it is stale and moving from it is harmless.
    const from = Math.max(this.start, this.taken);
    if (from > this.taken) this.cut(this.buffer.subarray(this.taken, from));
    const moving = this.used - from;
    const next = new Uint8Array(
      Math.max(Math.min(2 * this.buffer.length, STEADY_BYTES), 2 * (moving + more))
    );
    next.set(this.buffer.subarray(from, this.used));
    this.start -= from;
    this.used = moving;
    this.taken = 0;
    this.buffer = next;
  }
}

/** Longest field integer: 53 bits take 8 bytes. */
export const MAX_UINT_BYTES = 8;

/**
 * Writes an unsigned LEB128 field integer (docs/protocol.md §2.1) at `at`, which must have
 * {@link MAX_UINT_BYTES} of room; returns the offset after it.
 *
 * @param value - an integer in [0, 2^53 − 1]; the caller guarantees it (ids and counters)
 */
export function writeUint(into: Uint8Array, at: number, value: number): number {
  let v = value;
  let i = at;
  if (v <= 0xffffffff) {
    // Integer ops while they are exact: ids and counters almost always fit 32 bits.
    while (v > 0x7f) {
      into[i++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
  } else {
    while (v >= 0x80) {
      into[i++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
  }
  into[i] = v;
  return i + 1;
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
