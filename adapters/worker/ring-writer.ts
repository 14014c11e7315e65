import { ErrorCode, RingbusError } from '../../src/errors.js';
import { RingClosed, RingEnd, RingWord, closeRing, ring } from './shared-ring.js';
import { assertTimeout, sleep, sleepAsync } from './ring-wait.js';

/**
 * The producing side of a shared ring (see shared-ring.ts for the layout): appends records, each
 * one or more complete frames written contiguously, and publishes them to the reader.
 *
 * A record is either copied in with {@link RingWriter.write}, or encoded in place: `reserve`
 * returns an offset in {@link RingWriter.data} with room for `maxBytes`, the caller writes its
 * frames there, and `commit` says how many bytes it wrote. Between `cork()` and `uncork()`,
 * committed records are staged and published together with one index store.
 *
 * @remarks One writer per ring, used from one thread. `reserve`, `commit` and `write` are O(1)
 * and allocate nothing. They read the reader's index only when the last one they saw leaves too
 * little room, and notify the reader only when it sleeps. A full ring is a return value (-1 or
 * false), never an exception: wait with {@link RingWriter.waitForSpace} or apply a policy.
 *
 * @example
 * ```ts
 * const writer = new RingWriter(ring);
 * const at = writer.reserve(5 + body.length);
 * if (at >= 0) {
 *   const prefix = encodeVarint(body.length, writer.data, at);
 *   writer.data.set(body, at + prefix);
 *   writer.commit(prefix + body.length);
 * }
 * ```
 */
export class RingWriter extends RingEnd {
  /** Free-running index one past the last committed byte, published or staged. */
  private pending: number;
  /** The value last stored in WRITE. */
  private published: number;
  /** READ as last loaded. */
  private readLoaded: number;
  /** The same, moved past the padding when the reader stands at it: all before it is free. */
  private readSeen: number;
  /** Bytes the current reservation allows `commit` (0 when there is none). */
  private reserved: number;
  private corked: boolean;

  /**
   * Attaches to a ring and continues from its write index.
   *
   * @param buffer - a SharedArrayBuffer from `createSharedRing`
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if `buffer` is not such a ring
   */
  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.pending = Atomics.load(this.header, RingWord.WRITE);
    this.published = this.pending;
    this.readLoaded = Atomics.load(this.header, RingWord.READ);
    this.readSeen = this.readLoaded;
    this.reserved = 0;
    this.corked = false;
  }

  /**
   * Reserves room for a record of at most `maxBytes` bytes, contiguous in {@link RingWriter.data}.
   * Write the record there, then {@link RingWriter.commit} it; a new `reserve` replaces an
   * uncommitted one.
   *
   * @param maxBytes - the most the record may take, in [0, capacity]
   * @returns the record's offset in `data`, or -1 if the ring has no room for it yet (staged
   *   records are then published, so the reader can free space)
   * @throws {@link RingbusError} `ERR_FRAME_TOO_LARGE` if `maxBytes` exceeds the capacity;
   *   `ERR_INVALID_OPTIONS` if it is negative or not an integer
   * @remarks O(1), no allocation.
   */
  reserve(maxBytes: number): number {
    this.assertSize(maxBytes);
    const at = this.place(maxBytes);
    this.reserved = at < 0 ? 0 : maxBytes;
    return at;
  }

  /**
   * Ends the reserved record: its first `bytesWritten` bytes become part of the ring, published
   * now, or at `uncork()` when corked. `commit(0)` drops the reservation.
   *
   * @param bytesWritten - bytes the record took, at most the `maxBytes` reserved
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if that is more than reserved, or negative
   *   or not an integer
   * @remarks O(1), no allocation; one atomic store (and a notify only if the reader sleeps).
   */
  commit(bytesWritten: number): void {
    if (!(
      bytesWritten >= 0 &&
      bytesWritten <= this.reserved &&
      (bytesWritten | 0) === bytesWritten
    )) {
      throw commitError(bytesWritten, this.reserved);
    }
    this.reserved = 0;
    if (bytesWritten === 0) return;
    const pending = (this.pending = (this.pending + bytesWritten) | 0);
    if ((pending & this.mask) === 0) {
      // The record ends exactly at the end of the data: its lap ends here, with no padding.
      const lap = ((pending - 1) >>> this.lapShift) & 1;
      Atomics.store(this.header, RingWord.WRAP + lap, pending);
    }
    if (!this.corked) this.publish();
  }

  /**
   * Copies `bytes` in as one record (`reserve` + `set` + `commit`).
   *
   * @param bytes - one or more complete frames
   * @returns false, and nothing written, if the ring has no room for it yet
   * @throws {@link RingbusError} `ERR_FRAME_TOO_LARGE` if `bytes` is longer than the capacity
   */
  write(bytes: Uint8Array): boolean {
    const n = bytes.length;
    const at = this.reserve(n);
    if (at < 0) return false;
    this.data.set(bytes, at);
    this.commit(n);
    return true;
  }

  /** Stages the records committed from now on instead of publishing each. */
  cork(): void {
    this.corked = true;
  }

  /** Publishes the staged records with one index store, and publishes each commit again. */
  uncork(): void {
    this.corked = false;
    this.publish();
  }

  /**
   * Writes no more: the reader reads what is published, then sees the end
   * ({@link RingReader.ended}). Publishes what is staged; idempotent.
   */
  end(): void {
    this.publish();
    closeRing(this.header, RingClosed.ENDED);
  }

  /** True once either side is done with the ring: nothing written now is read. */
  get closed(): boolean {
    return Atomics.load(this.header, RingWord.CLOSED) !== 0;
  }

  /**
   * Blocks until `reserve(maxBytes)` would succeed, at most `timeoutMs`. For worker threads (and
   * Node's main thread); a browser's main thread must use {@link RingWriter.waitForSpaceAsync}.
   *
   * @param maxBytes - the reservation to wait for, in [0, capacity]
   * @param timeoutMs - the longest wait; `Infinity` for none
   * @returns true if there is room, false on timeout or once the ring is closed
   * @throws {@link RingbusError} `ERR_FRAME_TOO_LARGE` or `ERR_INVALID_OPTIONS` as `reserve`, and
   *   `ERR_INVALID_OPTIONS` for a negative `timeoutMs`
   * @remarks Sleeps in `Atomics.wait`; the reader wakes it when it frees space. Staged records are
   * published first. One wait at a time. Space only grows while the writer waits (there is one
   * writer), so the `reserve` that follows a true succeeds.
   */
  waitForSpace(maxBytes: number, timeoutMs: number): boolean {
    this.assertSize(maxBytes);
    if (this.place(maxBytes) >= 0) return true;
    assertTimeout(timeoutMs);
    const header = this.header;
    const deadline = performance.now() + timeoutMs;
    let hasRoom = false;
    for (;;) {
      const bell = Atomics.load(header, RingWord.WRITER_BELL);
      Atomics.store(header, RingWord.WRITER_WAITING, 1);
      // Look again with the flag up: a release before it was raised did not notify.
      if (this.place(maxBytes) >= 0) {
        hasRoom = true;
        break;
      }
      const remaining = deadline - performance.now();
      if (this.closed) break;
      if (remaining <= 0) break;
      sleep(header, RingWord.WRITER_BELL, bell, remaining);
    }
    Atomics.store(header, RingWord.WRITER_WAITING, 0);
    return hasRoom;
  }

  /**
   * {@link RingWriter.waitForSpace} without blocking the thread, for a main thread.
   *
   * @returns a promise of true if there is room, false on timeout
   * @remarks Uses `Atomics.waitAsync`. One wait at a time: don't write while it is pending.
   */
  async waitForSpaceAsync(maxBytes: number, timeoutMs: number): Promise<boolean> {
    this.assertSize(maxBytes);
    if (this.place(maxBytes) >= 0) return true;
    assertTimeout(timeoutMs);
    const header = this.header;
    const deadline = performance.now() + timeoutMs;
    try {
      for (;;) {
        const bell = Atomics.load(header, RingWord.WRITER_BELL);
        Atomics.store(header, RingWord.WRITER_WAITING, 1);
        if (this.place(maxBytes) >= 0) return true;
        const remaining = deadline - performance.now();
        if (remaining <= 0 || this.closed) return false;
        await sleepAsync(header, RingWord.WRITER_BELL, bell, remaining);
      }
    } finally {
      Atomics.store(header, RingWord.WRITER_WAITING, 0);
    }
  }

  /**
   * Finds room for `maxBytes` at the write position, or at the start of the next lap after
   * padding: returns its offset, or -1.
   */
  private place(maxBytes: number): number {
    let pending = this.pending;
    const toEnd = this.capacity - (pending & this.mask);
    if (maxBytes > toEnd) {
      // Records never straddle the end: the rest of this lap becomes padding.
      const lapEnd = (pending + toEnd) | 0;
      if (!this.hasRoom(lapEnd)) return this.refuse();
      // Stored before WRITE passes the lap end, which is when the reader looks at it.
      Atomics.store(this.header, RingWord.WRAP + ((pending >>> this.lapShift) & 1), pending);
      pending = this.pending = lapEnd;
    }
    if (!this.hasRoom((pending + maxBytes) | 0)) return this.refuse();
    return pending & this.mask;
  }

  /** True when everything up to `end` (free-running) fits: at most a capacity ahead of the reader. */
  private hasRoom(end: number): boolean {
    if (((end - this.readSeen) | 0) <= this.capacity) return true;
    const loaded = (this.readLoaded = Atomics.load(this.header, RingWord.READ));
    // A reader standing where its lap's data ends has nothing left to read before the lap end,
    // so the padding is free. Until this writer ends that lap, the word holds the end of the lap
    // two before, which READ cannot equal (an offset-0 READ maps to itself).
    const lapDataEnd = Atomics.load(this.header, RingWord.WRAP + ((loaded >>> this.lapShift) & 1));
    const read = (this.readSeen =
      loaded === lapDataEnd
        ? (loaded + ((this.capacity - (loaded & this.mask)) & this.mask)) | 0
        : loaded);
    return ((end - read) | 0) <= this.capacity;
  }

  private assertSize(maxBytes: number): void {
    if (!(maxBytes >= 0 && maxBytes <= this.capacity && (maxBytes | 0) === maxBytes)) {
      throw sizeError(maxBytes, this.capacity);
    }
  }

  /** No room: publish what is staged, since the reader can only free space for what it sees. */
  private refuse(): number {
    this.publish();
    return -1;
  }

  private publish(): void {
    const pending = this.pending;
    if (pending === this.published) return;
    this.published = pending;
    Atomics.store(this.header, RingWord.WRITE, pending);
    // A notify is a futex call: only a reader that announced it sleeps needs one.
    if (Atomics.load(this.header, RingWord.READER_WAITING) !== 0) {
      ring(this.header, RingWord.READER_BELL);
    }
  }
}

function sizeError(maxBytes: number, capacity: number): RingbusError {
  if (maxBytes > capacity && Number.isInteger(maxBytes)) {
    return new RingbusError(
      ErrorCode.FRAME_TOO_LARGE,
      `record of ${maxBytes} bytes exceeds the ring capacity of ${capacity} bytes: create the ring with a larger capacityBytes or send the frames in smaller records`
    );
  }
  return new RingbusError(
    ErrorCode.INVALID_OPTIONS,
    `maxBytes must be an integer in [0, ${capacity}] (got ${String(maxBytes)})`
  );
}

function commitError(bytesWritten: number, reserved: number): RingbusError {
  return new RingbusError(
    ErrorCode.INVALID_OPTIONS,
    `bytesWritten must be an integer in [0, ${reserved}], the bytes reserve() granted (got ${String(bytesWritten)})`
  );
}
