/**
 * The practical limit: about the smallest single-producer single-consumer ring one would write by
 * hand for one fixed use, as a reference for the library's ring (adapters/worker/). It is not the
 * library's and shares no code with it: no validation, no closing, no frames larger than the ring,
 * a fixed 4-byte length word per record, waits without timeouts that matter.
 *
 * Layout: Int32 words, the writer's HEAD (bytes written, free-running) and the reader's TAIL
 * (bytes read) in cache lines of their own, each with the flag its owner's peer raises before it
 * sleeps; then `capacity` data bytes. A record is a length word and the payload, padded to 4 bytes;
 * a record that does not fit before the end leaves a -1 word there and starts at offset 0. The
 * writer publishes HEAD with Atomics.store once per batch (`flush`), the reader TAIL once per run
 * of records; each side sleeps in Atomics.wait on the other's index and is woken with
 * Atomics.notify only when its flag is up.
 */

const HEAD = 0;
const READER_SLEEPS = 1;
const TAIL = 16;
const WRITER_SLEEPS = 17;
const HEADER_BYTES = 128;
/** The length word of the padding at the end of a lap. */
const PAD = -1;
/** Longest single sleep; a side looks again after it. */
const SLEEP_MS = 50;
/** The writer gives up after this long without the reader taking anything. */
const GIVE_UP_MS = 30_000;

/** `Atomics.waitAsync` (Node ≥ 16); ES2022's lib does not declare it. */
type WaitAsync = (
  words: Int32Array,
  index: number,
  value: number,
  timeoutMs: number
) => { async: false } | { async: true; value: Promise<string> };

export function createHandRing(capacity: number): SharedArrayBuffer {
  if ((capacity & (capacity - 1)) !== 0 || capacity < 64)
    throw new Error('capacity: a power of two');
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** The ring's views, as both ends use them. */
class HandRingEnd {
  /** Header words; the data as Int32 words from index HEADER_BYTES / 4. */
  protected readonly words: Int32Array;
  readonly data: Uint8Array;
  readonly view: DataView;
  protected readonly capacity: number;
  protected readonly mask: number;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.capacity = buffer.byteLength - HEADER_BYTES;
    this.mask = this.capacity - 1;
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.view = new DataView(buffer, HEADER_BYTES);
  }

  /** The data word at byte offset `at` (a multiple of 4). */
  protected word(at: number): number {
    return this.words[(HEADER_BYTES + at) >> 2];
  }

  protected setWord(at: number, value: number): void {
    this.words[(HEADER_BYTES + at) >> 2] = value;
  }
}

export class HandRingWriter extends HandRingEnd {
  private head = 0;
  /** TAIL as last loaded. */
  private tail = 0;

  /**
   * Starts a record of `bytes` payload bytes, waiting for room; returns the payload's offset in
   * `data`. The record is the reader's at the next `flush`.
   */
  begin(bytes: number): number {
    const size = 4 + ((bytes + 3) & ~3);
    let at = this.head & this.mask;
    if (at + size > this.capacity) {
      this.waitForRoom(4);
      this.setWord(at, PAD);
      this.head = (this.head + this.capacity - at) | 0;
      at = 0;
    }
    this.waitForRoom(size);
    this.setWord(at, bytes);
    this.head = (this.head + size) | 0;
    return at + 4;
  }

  /** Publishes the records begun so far; wakes the reader if it sleeps. */
  flush(): void {
    Atomics.store(this.words, HEAD, this.head);
    if (Atomics.load(this.words, READER_SLEEPS) !== 0) Atomics.notify(this.words, HEAD);
  }

  private waitForRoom(size: number): void {
    let idleSleeps = 0;
    while (((this.head + size - this.tail) | 0) > this.capacity) {
      const before = this.tail;
      this.tail = Atomics.load(this.words, TAIL);
      if (((this.head + size - this.tail) | 0) <= this.capacity) return;
      this.flush(); // the reader can only free what it sees
      Atomics.store(this.words, WRITER_SLEEPS, 1);
      const tail = Atomics.load(this.words, TAIL);
      if (tail === this.tail) Atomics.wait(this.words, TAIL, tail, SLEEP_MS);
      Atomics.store(this.words, WRITER_SLEEPS, 0);
      // A reader that is gone would hold this thread forever (it cannot even see the worker die).
      idleSleeps = this.tail === before ? idleSleeps + 1 : 0;
      if (idleSleeps * SLEEP_MS > GIVE_UP_MS) throw new Error('hand ring: the reader took nothing');
    }
  }
}

export class HandRingReader extends HandRingEnd {
  private tail = 0;

  /**
   * Hands every published record to `onRecord(data, start, end)`, then frees them all at once;
   * returns how many there were (0: the ring is empty).
   */
  read(onRecord: (data: Uint8Array, start: number, end: number) => void): number {
    const head = Atomics.load(this.words, HEAD);
    let tail = this.tail;
    let n = 0;
    while (tail !== head) {
      const at = tail & this.mask;
      const bytes = this.word(at);
      if (bytes === PAD) {
        tail = (tail + this.capacity - at) | 0;
        continue;
      }
      onRecord(this.data, at + 4, at + 4 + bytes);
      tail = (tail + 4 + ((bytes + 3) & ~3)) | 0;
      n++;
    }
    if (n > 0 || tail !== this.tail) {
      this.tail = tail;
      Atomics.store(this.words, TAIL, tail);
      if (Atomics.load(this.words, WRITER_SLEEPS) !== 0) Atomics.notify(this.words, TAIL);
    }
    return n;
  }

  /** Sleeps until the writer publishes (or a while passes). */
  wait(): void {
    Atomics.store(this.words, READER_SLEEPS, 1);
    const head = Atomics.load(this.words, HEAD);
    if (head === this.tail) Atomics.wait(this.words, HEAD, head, SLEEP_MS);
    Atomics.store(this.words, READER_SLEEPS, 0);
  }

  /** {@link HandRingReader.wait} without blocking the thread (a main thread). */
  async waitAsync(): Promise<void> {
    Atomics.store(this.words, READER_SLEEPS, 1);
    const head = Atomics.load(this.words, HEAD);
    if (head === this.tail) {
      const sleep = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(
        this.words,
        HEAD,
        head,
        SLEEP_MS
      );
      if (sleep.async) await sleep.value;
    }
    Atomics.store(this.words, READER_SLEEPS, 0);
  }
}
