import { ErrorCode, RingbusError } from '../errors.js';
import { MAX_FRAME_BYTES } from '../limits.js';
import { MAX_VARINT_BYTES, VarintError, varintByteError, varintByteValue } from './varint.js';

/** Decoder states; an error is terminal and kept in {@link FrameDecoder.error}. */
const State = { LENGTH: 0, BODY: 1 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Incremental decoder for the framing of docs/protocol.md §1: a varint length, then that many body
 * bytes. Feed it transport chunks of any size; it calls `onFrame` once per complete frame, in order.
 *
 * @remarks
 * Zero-copy: a body that lies inside one chunk is delivered as `chunk.subarray(…)`, so the view
 * aliases the caller's chunk and keeps its whole buffer alive. If the transport reuses the chunk's
 * buffer, or the body is retained past the callback, copy it (`body.slice()`). Only a body that
 * straddles chunks is copied, into a buffer of exactly its length.
 *
 * Peer errors are never thrown: `push` and `end` return a {@link RingbusError} (`ERR_PROTOCOL` or
 * `ERR_FRAME_TOO_LARGE`), and the decoder stays errored, ignoring later input. An exception thrown
 * by `onFrame` is not caught: it propagates out of `push`, the rest of that chunk is not parsed,
 * and the decoder should be discarded. `onFrame` must not call `push` on the same decoder.
 *
 * Cost: O(chunk length) per push; no allocation per frame beyond the body view (and the copy
 * buffer for a straddling body).
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, (body) => handle(body));
 * socket.on('data', (chunk) => {
 *   const err = decoder.push(chunk);
 *   if (err) socket.destroy(err);
 * });
 * socket.on('end', () => decoder.end());
 * ```
 */
export class FrameDecoder {
  /** The terminal error, once the stream was found malformed; later pushes return it unchanged. */
  error: RingbusError | undefined;

  /** Largest body accepted; a link lowers it until the handshake is done. */
  maxFrameBytes: number;
  private readonly onFrame: (body: Uint8Array) => void;
  private state: State;
  /** Index of the next length byte within the current varint. */
  private varintIndex: number;
  /** The current frame's declared body length (being summed while in LENGTH). */
  private length: number;
  /** Copy buffer of a body that straddles chunks, allocated once its first part arrives. */
  private body: Uint8Array | undefined;
  /** Body bytes received so far for the current frame (in `body` once it is allocated). */
  private filled: number;
  /** Stream offset of the current chunk's first byte, for error messages. */
  private streamOffset: number;

  /**
   * @param maxFrameBytes - largest body accepted; a longer declared length is
   *   `ERR_FRAME_TOO_LARGE` before any body byte is buffered
   * @param onFrame - called with each complete body, in stream order (see the remarks on aliasing)
   * @throws RangeError if `maxFrameBytes` is not an integer in [0, 2^32 − 1]
   */
  constructor(maxFrameBytes: number, onFrame: (body: Uint8Array) => void) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_FRAME_BYTES) {
      throw new RangeError(
        `maxFrameBytes must be an integer in [0, ${MAX_FRAME_BYTES}] (got ${maxFrameBytes})`
      );
    }
    this.error = undefined;
    this.maxFrameBytes = maxFrameBytes;
    this.onFrame = onFrame;
    this.state = State.LENGTH;
    this.varintIndex = 0;
    this.length = 0;
    this.body = undefined;
    this.filled = 0;
    this.streamOffset = 0;
  }

  /** Bytes held for a body that straddles chunks (0 when no copy is in progress), for backpressure. */
  get bufferedBytes(): number {
    return this.body === undefined ? 0 : this.filled;
  }

  /**
   * Parses `chunk`, calling `onFrame` for every frame it completes.
   *
   * @param chunk - the next bytes of the stream; bodies inside it are delivered as views of it
   * @returns `undefined`, or the terminal {@link RingbusError} (`ERR_PROTOCOL`,
   *   `ERR_FRAME_TOO_LARGE`) if the stream is malformed now or was before
   */
  push(chunk: Uint8Array): RingbusError | undefined {
    if (this.error !== undefined) return this.error;
    const base = this.streamOffset;
    const end = chunk.length;
    // Advanced up front so the offset stays right even if onFrame throws mid-chunk.
    this.streamOffset = base + end;
    let i = 0;
    while (i < end) {
      if (this.state === State.LENGTH) {
        const byte = chunk[i];
        if (byte < 0x80 && this.varintIndex === 0) {
          // A one-byte length, the common case of small frames: nothing to validate or sum.
          this.length = byte;
          i++;
        } else {
          const problem = varintByteError(byte, this.varintIndex);
          if (problem !== VarintError.NONE) return this.varintError(problem, byte, base + i);
          this.length += varintByteValue(byte, this.varintIndex);
          i++;
          if ((byte & 0x80) !== 0) {
            this.varintIndex++;
            continue;
          }
        }
        // docs/protocol.md §1.2: the limit is checked before any body byte is buffered.
        if (this.length > this.maxFrameBytes) {
          return this.fail(
            ErrorCode.FRAME_TOO_LARGE,
            `frame length ${this.length} exceeds maxFrameBytes ${this.maxFrameBytes} (length prefix ends at byte offset ${base + i - 1})`
          );
        }
        this.state = State.BODY;
        this.varintIndex = 0;
        this.filled = 0;
      }
      const need = this.length - this.filled;
      if (this.body === undefined && end - i >= need) {
        // The whole body lies in this chunk (need is the full length): deliver a view, no copy.
        const start = i;
        i += need;
        this.reset();
        this.emit(chunk, start, i);
        continue;
      }
      // Nothing of the body here yet: wait, so a body that arrives whole in the next chunk is
      // still delivered zero-copy.
      if (i === end) break;
      this.body ??= new Uint8Array(this.length);
      const take = Math.min(need, end - i);
      this.body.set(chunk.subarray(i, i + take), this.filled);
      this.filled += take;
      i += take;
      if (this.filled === this.length) {
        const body = this.body;
        this.reset();
        this.emit(body, 0, body.length);
      }
    }
    return undefined;
  }

  /**
   * Declares the end of the stream.
   *
   * @returns `undefined` if the stream ended on a frame boundary; otherwise `ERR_PROTOCOL`
   *   "truncated frame" (ended inside a length prefix or a body), or the earlier terminal error
   */
  end(): RingbusError | undefined {
    if (this.error !== undefined) return this.error;
    if (this.state === State.LENGTH && this.varintIndex > 0) {
      return this.fail(
        ErrorCode.PROTOCOL,
        `truncated frame: stream ended at byte offset ${this.streamOffset} inside a length prefix`
      );
    }
    if (this.state === State.BODY) {
      return this.fail(
        ErrorCode.PROTOCOL,
        `truncated frame: stream ended at byte offset ${this.streamOffset} after ${this.filled} of ${this.length} body bytes`
      );
    }
    return undefined;
  }

  /**
   * Hands over the body `bytes[start, end)`. A link's decoder overrides this to read the range
   * in place, saving the view allocation per frame.
   */
  protected emit(bytes: Uint8Array, start: number, end: number): void {
    this.onFrame(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  }

  private reset(): void {
    this.state = State.LENGTH;
    this.length = 0;
    this.filled = 0;
    this.body = undefined;
  }

  private varintError(problem: VarintError, byte: number, offset: number): RingbusError {
    const hex = `0x${byte.toString(16).padStart(2, '0')}`;
    switch (problem) {
      case VarintError.TOO_LONG:
        return this.fail(
          ErrorCode.PROTOCOL,
          `length varint longer than ${MAX_VARINT_BYTES} bytes (byte ${hex} at offset ${offset} has the continuation bit set)`
        );
      case VarintError.TOO_LARGE:
        return this.fail(
          ErrorCode.PROTOCOL,
          `length varint above 2^32 - 1 (5th byte ${hex} at offset ${offset} exceeds 0x0f)`
        );
      case VarintError.OVERLONG:
      case VarintError.NONE:
        return this.fail(
          ErrorCode.PROTOCOL,
          `overlong length varint (final byte 0x00 at offset ${offset}; each length has one encoding)`
        );
    }
  }

  /** The one error factory (STYLE.md 2.3): builds the error, makes it terminal, returns it. */
  private fail(code: ErrorCode, message: string): RingbusError {
    const error = new RingbusError(code, message);
    this.error = error;
    this.body = undefined;
    return error;
  }
}

/**
 * A {@link FrameDecoder} that hands over each body as a range of the chunk it lies in (or of its
 * copy buffer), sparing a view allocation per frame: the decoder of links. @internal
 */
export class RangeFrameDecoder extends FrameDecoder {
  private readonly onRange: (bytes: Uint8Array, start: number, end: number) => void;

  constructor(
    maxFrameBytes: number,
    onRange: (bytes: Uint8Array, start: number, end: number) => void
  ) {
    super(maxFrameBytes, () => undefined);
    this.onRange = onRange;
  }

  protected override emit(bytes: Uint8Array, start: number, end: number): void {
    this.onRange(bytes, start, end);
  }
}
