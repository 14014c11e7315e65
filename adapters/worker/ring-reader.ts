import { ErrorCode, RingbusError } from '../../src/errors.js';
import { RingClosed, RingEnd, RingWord, closeRing, ring } from './shared-ring.js';
import { assertTimeout, sleep, sleepAsync } from './ring-wait.js';

/**
 * The consuming side of a shared ring (see shared-ring.ts for the layout): hands out the
 * published bytes in place, as runs of whole records, and frees them when told.
 *
 * `available()` returns how many bytes lie contiguous at {@link RingReader.readOffset} in
 * {@link RingReader.data}: complete frames, never padding, often many records. Consume them
 * (feed a `FrameDecoder`, which delivers bodies as views of them), then `release` what was
 * consumed; only then may the writer reuse that space.
 *
 * @remarks One reader per ring, used from one thread. `available` and `release` are O(1) and
 * allocate nothing; `peek` allocates one view per call, however many records it covers. A run
 * ends at the writer's index or where a lap's data ends, so it may be shorter than what is
 * published: call `available` again after releasing it.
 *
 * @example
 * ```ts
 * const reader = new RingReader(ring);
 * const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, handle);
 * for (;;) {
 *   const n = reader.available();
 *   if (n === 0) {
 *     reader.waitForData(1000);
 *     continue;
 *   }
 *   decoder.push(reader.data.subarray(reader.readOffset, reader.readOffset + n));
 *   reader.release(n);
 * }
 * ```
 */
export class RingReader extends RingEnd {
  /** Free-running index of the first unread byte. */
  private read: number;
  /** Free-running index one past the run `available` last handed out. */
  private end: number;

  /**
   * Attaches to a ring and continues from its read index.
   *
   * @param buffer - a SharedArrayBuffer from `createSharedRing`
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if `buffer` is not such a ring
   */
  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.read = Atomics.load(this.header, RingWord.READ);
    this.end = this.read;
  }

  /** Offset in {@link RingReader.data} of the first unread byte. */
  get readOffset(): number {
    return this.read & this.mask;
  }

  /**
   * Bytes published and contiguous at {@link RingReader.readOffset}: whole records, padding
   * skipped.
   *
   * @returns 0 when the ring is empty
   * @remarks O(1), no allocation; one atomic load (two at the end of a lap).
   */
  available(): number {
    const written = Atomics.load(this.header, RingWord.WRITE);
    for (;;) {
      const read = this.read;
      const unread = (written - read) | 0;
      const toEnd = this.capacity - (read & this.mask);
      if (unread < toEnd) {
        this.end = written;
        return unread;
      }
      // The writer has reached the end of this lap, so it has stored where the lap's data ends
      // (before storing WRITE, which this thread loaded first).
      const dataEnd = Atomics.load(this.header, RingWord.WRAP + ((read >>> this.lapShift) & 1));
      const n = (dataEnd - read) | 0;
      if (n > 0) {
        this.end = dataEnd;
        return n;
      }
      // Only padding is left in this lap. The writer counts it free once READ reaches it.
      this.read = (read + toEnd) | 0;
    }
  }

  /**
   * The bytes {@link RingReader.available} reports, as a view of {@link RingReader.data}: valid
   * until they are released.
   *
   * @returns an empty view when the ring is empty
   */
  peek(): Uint8Array {
    const n = this.available();
    const at = this.read & this.mask;
    return this.data.subarray(at, at + n);
  }

  /**
   * Frees the first `bytes` of the run `available` handed out, for the writer to reuse; the
   * caller must not read them afterwards.
   *
   * @param bytes - at most what the last `available` (or `peek`) reported, less what was released
   *   since
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if that is exceeded, or `bytes` is negative
   *   or not an integer
   * @remarks O(1), no allocation; one atomic store (and a notify only if the writer sleeps).
   */
  release(bytes: number): void {
    const handedOut = (this.end - this.read) | 0;
    if (!(bytes >= 0 && bytes <= handedOut && (bytes | 0) === bytes)) {
      throw releaseError(bytes, handedOut);
    }
    const read = (this.read = (this.read + bytes) | 0);
    Atomics.store(this.header, RingWord.READ, read);
    if (Atomics.load(this.header, RingWord.WRITER_WAITING) !== 0) {
      ring(this.header, RingWord.WRITER_BELL);
    }
  }

  /**
   * True once the writer has ended the ring ({@link RingWriter.end}): when `available()` then
   * returns 0, nothing more will come. Look at it before `available()`: the end is raised after
   * the last record is published.
   */
  get ended(): boolean {
    return (Atomics.load(this.header, RingWord.CLOSED) & RingClosed.ENDED) !== 0;
  }

  /** Reads no more: the writer's waits return, and what it writes is not read. Idempotent. */
  detach(): void {
    closeRing(this.header, RingClosed.DETACHED);
  }

  /**
   * Blocks until data is published, at most `timeoutMs`. For worker threads (and Node's main
   * thread); a browser's main thread must use {@link RingReader.waitForDataAsync}.
   *
   * @param timeoutMs - the longest wait; `Infinity` for none
   * @returns true if `available()` is now above 0, false on timeout or once the ring is closed
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` for a negative `timeoutMs`
   * @remarks Sleeps in `Atomics.wait`; the writer wakes it when it publishes. One wait at a time.
   */
  waitForData(timeoutMs: number): boolean {
    if (this.available() > 0) return true;
    assertTimeout(timeoutMs);
    const header = this.header;
    const deadline = performance.now() + timeoutMs;
    let hasData = false;
    for (;;) {
      const bell = Atomics.load(header, RingWord.READER_BELL);
      Atomics.store(header, RingWord.READER_WAITING, 1);
      // Look again with the flag up: a publish before it was raised did not notify.
      if (this.available() > 0) {
        hasData = true;
        break;
      }
      const remaining = deadline - performance.now();
      if (Atomics.load(header, RingWord.CLOSED) !== 0) break;
      if (remaining <= 0) break;
      sleep(header, RingWord.READER_BELL, bell, remaining);
    }
    Atomics.store(header, RingWord.READER_WAITING, 0);
    return hasData;
  }

  /**
   * {@link RingReader.waitForData} without blocking the thread, for a main thread.
   *
   * @returns a promise of true if `available()` is now above 0, false on timeout
   * @remarks Uses `Atomics.waitAsync`. One wait at a time.
   */
  async waitForDataAsync(timeoutMs: number): Promise<boolean> {
    if (this.available() > 0) return true;
    assertTimeout(timeoutMs);
    const header = this.header;
    const deadline = performance.now() + timeoutMs;
    try {
      for (;;) {
        const bell = Atomics.load(header, RingWord.READER_BELL);
        Atomics.store(header, RingWord.READER_WAITING, 1);
        if (this.available() > 0) return true;
        const remaining = deadline - performance.now();
        if (remaining <= 0 || Atomics.load(header, RingWord.CLOSED) !== 0) return false;
        await sleepAsync(header, RingWord.READER_BELL, bell, remaining);
      }
    } finally {
      Atomics.store(header, RingWord.READER_WAITING, 0);
    }
  }
}

function releaseError(bytes: number, handedOut: number): RingbusError {
  return new RingbusError(
    ErrorCode.INVALID_OPTIONS,
    `bytes must be an integer in [0, ${handedOut}], what available() handed out and was not released (got ${String(bytes)})`
  );
}
