import { ErrorCode, RingbusError } from '../../src/errors.js';
import { MAX_RING_BYTES, MIN_RING_BYTES } from '../../src/limits.js';
import { type SharedRingOptions, parseSharedRingOptions } from './options.js';

/**
 * The layout of a single-producer single-consumer byte ring in a SharedArrayBuffer: a 192-byte
 * header of Int32 words, then `capacity` bytes of data (a power of two).
 *
 * ```
 *  byte 0            64                         128                  192             192 + capacity
 *  | MAGIC CAPACITY  | WRITE WRAP[0] WRAP[1]    | READ WW WB         | data ...                   |
 *  | CLOSED          | RW RB                      |                    |
 *    set at creation   written by the writer      written by the reader
 * ```
 *
 * - WRITE and READ are free-running byte counters that wrap at 2^32; a byte's offset in the data
 *   is `index & (capacity - 1)`. The ring holds `WRITE - READ` bytes, so it is empty when they are
 *   equal and full when they are `capacity` apart, and no byte is wasted telling the two apart.
 * - Each index sits in its own 64-byte cache line, with the flag its owner reads after storing it:
 *   RW (READER_WAITING, 1 while the reader sleeps) next to WRITE, WW (WRITER_WAITING) next to READ.
 *   RB and WB are the doorbells each side sleeps on (see {@link ring}).
 *   A store then costs the other side a cache miss only on the line it must read anyway.
 * - Records never straddle the end of the data. When a record does not fit in what is left of
 *   the current pass over the data (a lap), the writer leaves the rest as padding, continues at
 *   offset 0, and stores where the lap's data ended in WRAP[lap & 1], where `lap` is
 *   `index >>> log2(capacity)`. A record that ends exactly at the end of the data stores the lap
 *   end there (no padding). That word is the padding marker; the padding bytes themselves are
 *   never written or read.
 *
 * ```
 *  lap L    [ a a a b b b b . . ]    record c (4 bytes) does not fit in the 2 bytes left
 *  lap L+1  [ c c c c . . . . . ]    WRAP[L & 1] = index of the first '.' of lap L
 * ```
 *
 * Why out of band: the reader hands out runs of many records without parsing them, so it never
 * stands where an in-band marker would be; and every byte value may start a frame (a varint's
 * first byte), so a marker byte would be ambiguous. Two WRAP words, by lap parity, because the
 * writer may finish the next lap while the reader still stands at the padding of this one.
 */

/** Indices of the header words in the ring's Int32Array. @internal */
export const RingWord = {
  /** {@link RING_MAGIC}: tells a ring buffer from any other SharedArrayBuffer. */
  MAGIC: 0,
  /** The data capacity in bytes. */
  CAPACITY: 1,
  /**
   * {@link RingClosed} bits: set once a side is done with the ring. Every wait returns when it
   * changes, so neither side sleeps on a peer that is gone.
   */
  CLOSED: 2,
  /** Free-running index one past the last published byte. Cache line 1. */
  WRITE: 16,
  /** Where the data of an even lap ended; WRAP + 1 for odd laps. */
  WRAP: 17,
  /** 1 while the reader sleeps: the writer rings its bell only then. */
  READER_WAITING: 19,
  /** The reader's doorbell: a counter the reader sleeps on, bumped by the writer and by a close. */
  READER_BELL: 20,
  /** Free-running index of the first unread byte. Cache line 2. */
  READ: 32,
  /** 1 while the writer sleeps (the ring was full): the reader rings its bell only then. */
  WRITER_WAITING: 33,
  /** The writer's doorbell, as READER_BELL. */
  WRITER_BELL: 34
} as const;

/** Bits of the CLOSED word. @internal */
export const RingClosed = {
  /** The writer wrote its last record: the reader reads what is left, then sees the end. */
  ENDED: 1,
  /** The reader reads no more: the writer's records have nowhere to go. */
  DETACHED: 2
} as const;

/**
 * Wakes the side sleeping on `bell`. Sleepers wait on a bell, not on the index they wait for:
 * a close changes no index, and a futex wait only notices a change of the word it sleeps on.
 * The bump makes a sleep that starts after it return at once; the notify ends one already begun.
 *
 * @internal
 */
export function ring(header: Int32Array, bell: number): void {
  Atomics.add(header, bell, 1);
  Atomics.notify(header, bell);
}

/**
 * Sets `bit` in the ring's CLOSED word and wakes both sides' waits, which return on it.
 *
 * @internal
 */
export function closeRing(header: Int32Array, bit: number): void {
  Atomics.or(header, RingWord.CLOSED, bit);
  ring(header, RingWord.READER_BELL);
  ring(header, RingWord.WRITER_BELL);
}

/** Bytes before the data: three 64-byte cache lines. */
export const RING_HEADER_BYTES = 192;

/** 'RBR1': ringbus ring, layout version 1. A new layout takes a new magic. @internal */
export const RING_MAGIC = 0x52425231;

/** The parts of an attached ring both sides use. @internal */
export interface SharedRingView {
  /** The header words, indexed by {@link RingWord}. */
  readonly header: Int32Array;
  /** The data bytes, `capacity` long. */
  readonly data: Uint8Array;
  readonly capacity: number;
}

function invalid(message: string): RingbusError {
  return new RingbusError(ErrorCode.INVALID_OPTIONS, message);
}

function hasSharedMemory(): boolean {
  return typeof SharedArrayBuffer === 'function';
}

/**
 * Allocates an empty ring: pass the buffer to the other thread (`postMessage`, `workerData`) and
 * attach a `RingWriter` on one side and a `RingReader` on the other. Use one ring
 * per direction.
 *
 * @param options - `capacityBytes`, a power of two
 * @returns a SharedArrayBuffer of `192 + capacityBytes` bytes
 * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if `capacityBytes` is not a power of two in
 *   [16, 2^30], or SharedArrayBuffer is unavailable (browsers need cross-origin isolation)
 *
 * @example
 * ```ts
 * const toWorker = createSharedRing({ capacityBytes: 1 << 16 });
 * const worker = new Worker(url, { workerData: { ring: toWorker } });
 * const writer = new RingWriter(toWorker); // the worker does `new RingReader(workerData.ring)`
 * ```
 */
export function createSharedRing(options?: SharedRingOptions): SharedArrayBuffer {
  const { capacityBytes } = parseSharedRingOptions(options);
  if (!hasSharedMemory()) {
    throw invalid(
      'SharedArrayBuffer is not available here; browsers provide it only to cross-origin isolated pages (COOP and COEP headers)'
    );
  }
  const buffer = new SharedArrayBuffer(RING_HEADER_BYTES + capacityBytes);
  const header = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
  header[RingWord.MAGIC] = RING_MAGIC;
  header[RingWord.CAPACITY] = capacityBytes;
  return buffer;
}

/**
 * Checks that `buffer` is a ring made by {@link createSharedRing} and returns its views.
 *
 * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if it is not a SharedArrayBuffer, has no
 *   ring header, or its size does not match the capacity in the header
 * @internal
 */
export function attachSharedRing(buffer: unknown): SharedRingView {
  if (!hasSharedMemory() || !(buffer instanceof SharedArrayBuffer)) {
    throw invalid(
      `ring buffer must be the SharedArrayBuffer createSharedRing returned (got ${describe(buffer)})`
    );
  }
  if (buffer.byteLength < RING_HEADER_BYTES + MIN_RING_BYTES) {
    throw invalid(
      `ring buffer of ${buffer.byteLength} bytes is too small for a ring (at least ${RING_HEADER_BYTES + MIN_RING_BYTES}): pass the SharedArrayBuffer createSharedRing returned`
    );
  }
  const header = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
  const magic = Atomics.load(header, RingWord.MAGIC);
  if (magic !== RING_MAGIC) {
    throw invalid(
      `ring buffer has no ring header (magic 0x${(magic >>> 0).toString(16)} at byte 0, expected 0x${RING_MAGIC.toString(16)}): pass the SharedArrayBuffer createSharedRing returned`
    );
  }
  const capacity = Atomics.load(header, RingWord.CAPACITY);
  if (
    capacity < MIN_RING_BYTES ||
    capacity > MAX_RING_BYTES ||
    (capacity & (capacity - 1)) !== 0 ||
    buffer.byteLength !== RING_HEADER_BYTES + capacity
  ) {
    throw invalid(
      `ring buffer of ${buffer.byteLength} bytes does not match the capacity ${capacity} in its header (expected ${RING_HEADER_BYTES} + a power of two in [${MIN_RING_BYTES}, ${MAX_RING_BYTES}])`
    );
  }
  return { header, data: new Uint8Array(buffer, RING_HEADER_BYTES, capacity), capacity };
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * What both ends of a ring hold: the ring's views and its index arithmetic. Each end (`RingWriter`,
 * `RingReader`) attaches to a buffer from {@link createSharedRing}.
 */
export abstract class RingEnd {
  /** The ring's data bytes: records are written and read in place here. */
  readonly data: Uint8Array;
  /** Data bytes the ring holds, and so the largest record. */
  readonly capacity: number;
  /** The header words, indexed by `RingWord`. */
  protected readonly header: Int32Array;
  /** `capacity - 1`: `index & mask` is an index's offset in `data`. */
  protected readonly mask: number;
  /** log2(capacity): `index >>> lapShift` is an index's lap. */
  protected readonly lapShift: number;

  /**
   * @param buffer - a SharedArrayBuffer from `createSharedRing`
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if `buffer` is not such a ring
   */
  constructor(buffer: SharedArrayBuffer) {
    const view = attachSharedRing(buffer);
    this.data = view.data;
    this.capacity = view.capacity;
    this.header = view.header;
    this.mask = view.capacity - 1;
    this.lapShift = 31 - Math.clz32(view.capacity);
  }
}
