import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RingbusError } from '../../src/errors.js';
import { RingReader } from '../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../adapters/worker/ring-writer.js';
import { RingWord, createSharedRing } from '../../adapters/worker/shared-ring.js';

/**
 * Model-based test of the shared ring's index arithmetic, in one thread. The model knows nothing
 * of free-running indices, laps or WRAP words: it is an array of `capacity` byte slots, each
 * free or holding an unreleased byte, plus the records staged and published in order. Its rules:
 *
 * - a record of `n` bytes goes at the write position if `n` fits before the end of the array;
 *   otherwise the rest of the array becomes padding, possible only if no unreleased byte lies
 *   there, and the record goes at offset 0 (the writer stays at 0 even if the record then does
 *   not fit);
 * - a record is accepted if none of its slots holds an unreleased byte; a refusal publishes the
 *   staged records;
 * - the reader sees the published bytes from its position, as far as they are contiguous in the
 *   array.
 */

interface Segment {
  /** Slot of its first byte. */
  start: number;
  bytes: number[];
}

class RingModel {
  readonly used: boolean[];
  pos: number;
  readonly staged: Segment[] = [];
  readonly published: Segment[] = [];
  /** Bytes of `published[0]` already released. */
  consumed = 0;
  corked = false;

  constructor(
    readonly capacity: number,
    startOffset: number
  ) {
    this.used = new Array<boolean>(capacity).fill(false);
    this.pos = startOffset;
  }

  private isFree(start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (this.used[i]) return false;
    return true;
  }

  /** Where a record reserving `n` bytes goes, or -1; moves to offset 0 after padding. */
  place(n: number): number {
    if (n > this.capacity - this.pos) {
      if (!this.isFree(this.pos, this.capacity)) return this.refuse();
      this.pos = 0;
    }
    if (!this.isFree(this.pos, this.pos + n)) return this.refuse();
    return this.pos;
  }

  private refuse(): number {
    this.publish();
    return -1;
  }

  commit(at: number, bytes: number[]): void {
    if (bytes.length === 0) return;
    for (let i = 0; i < bytes.length; i++) this.used[at + i] = true;
    this.staged.push({ start: at, bytes });
    this.pos = (at + bytes.length) % this.capacity;
    if (!this.corked) this.publish();
  }

  publish(): void {
    this.published.push(...this.staged);
    this.staged.length = 0;
  }

  /** The published bytes contiguous from the reader's position. */
  readable(): number[] {
    const out: number[] = [];
    let end = -1;
    for (const [k, seg] of this.published.entries()) {
      if (k > 0 && seg.start !== end) break;
      out.push(...(k === 0 ? seg.bytes.slice(this.consumed) : seg.bytes));
      end = seg.start + seg.bytes.length;
    }
    return out;
  }

  release(n: number): void {
    let rest = n;
    while (rest > 0) {
      const seg = this.published[0];
      const take = Math.min(rest, seg.bytes.length - this.consumed);
      for (let i = 0; i < take; i++) this.used[seg.start + this.consumed + i] = false;
      this.consumed += take;
      rest -= take;
      if (this.consumed === seg.bytes.length) {
        this.published.shift();
        this.consumed = 0;
      }
    }
  }
}

type Command =
  | { readonly op: 'write'; readonly length: number }
  | { readonly op: 'reserve'; readonly maxBytes: number; readonly used: number }
  | { readonly op: 'cork' }
  | { readonly op: 'uncork' }
  | { readonly op: 'read'; readonly part: number }
  | { readonly op: 'over-release' };

/** Record sizes weighted towards the edges: tiny, near the capacity, and one over it. */
function commandArb(capacity: number): fc.Arbitrary<Command> {
  const size = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: Math.min(capacity, 12) }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: capacity }) },
    { weight: 1, arbitrary: fc.integer({ min: capacity - 2, max: capacity }) },
    { weight: 1, arbitrary: fc.constant(capacity + 1) }
  );
  const fraction = fc.double({ min: 0, max: 1, noNaN: true });
  return fc.oneof(
    { weight: 6, arbitrary: size.map((length) => ({ op: 'write', length }) as const) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(size, fraction)
        .map(
          ([maxBytes, f]) => ({ op: 'reserve', maxBytes, used: Math.floor(f * maxBytes) }) as const
        )
    },
    { weight: 1, arbitrary: fc.constant({ op: 'cork' } as const) },
    { weight: 1, arbitrary: fc.constant({ op: 'uncork' } as const) },
    { weight: 8, arbitrary: fraction.map((part) => ({ op: 'read', part }) as const) },
    { weight: 1, arbitrary: fc.constant({ op: 'over-release' } as const) }
  );
}

function assertCode(action: () => unknown, code: string, context: string): void {
  assert.throws(
    action,
    (err: unknown) => err instanceof RingbusError && err.code === code,
    `${context}: expected ${code}`
  );
}

function run(capacity: number, startIndex: number, commands: readonly Command[]): void {
  const ring = createSharedRing({ capacityBytes: capacity });
  const header = new Int32Array(ring, 0, 48);
  header[RingWord.WRITE] = startIndex;
  header[RingWord.READ] = startIndex;
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  const model = new RingModel(capacity, startIndex & (capacity - 1));
  let next = 0;
  const fresh = (n: number): number[] => Array.from({ length: n }, () => next++ & 0xff);

  commands.forEach((cmd, step) => {
    const ctx = `step ${step} ${JSON.stringify(cmd)}`;
    switch (cmd.op) {
      case 'write': {
        if (cmd.length > capacity) {
          assertCode(() => writer.write(new Uint8Array(cmd.length)), 'ERR_FRAME_TOO_LARGE', ctx);
          break;
        }
        const bytes = fresh(cmd.length);
        const at = model.place(cmd.length);
        assert.equal(writer.write(Uint8Array.from(bytes)), at >= 0, `${ctx}: write result`);
        if (at >= 0) model.commit(at, bytes);
        break;
      }
      case 'reserve': {
        if (cmd.maxBytes > capacity) {
          assertCode(() => writer.reserve(cmd.maxBytes), 'ERR_FRAME_TOO_LARGE', ctx);
          break;
        }
        const expected = model.place(cmd.maxBytes);
        const at = writer.reserve(cmd.maxBytes);
        assert.equal(at, expected, `${ctx}: reserved offset`);
        if (at < 0) {
          assertCode(() => writer.commit(1), 'ERR_INVALID_OPTIONS', `${ctx}: commit after -1`);
          break;
        }
        assertCode(() => writer.commit(cmd.maxBytes + 1), 'ERR_INVALID_OPTIONS', ctx);
        const bytes = fresh(cmd.used);
        writer.data.set(bytes, at);
        writer.data.fill(0xee, at + cmd.used, at + cmd.maxBytes);
        writer.commit(cmd.used);
        model.commit(at, bytes);
        break;
      }
      case 'cork':
        writer.cork();
        model.corked = true;
        break;
      case 'uncork':
        writer.uncork();
        model.corked = false;
        model.publish();
        break;
      case 'read': {
        const expected = model.readable();
        const view = reader.peek();
        assert.deepEqual(Array.from(view), expected, `${ctx}: readable bytes`);
        assert.equal(reader.available(), expected.length, `${ctx}: available()`);
        const n = Math.floor(cmd.part * expected.length);
        reader.release(n);
        model.release(n);
        break;
      }
      case 'over-release': {
        const n = reader.available();
        assertCode(() => reader.release(n + 1), 'ERR_INVALID_OPTIONS', ctx);
        break;
      }
    }
  });
  // Drain: everything committed arrives, in order, and nothing else.
  writer.uncork();
  model.publish();
  for (;;) {
    const expected = model.readable();
    assert.deepEqual(Array.from(reader.peek()), expected, 'drain');
    if (expected.length === 0) break;
    reader.release(expected.length);
    model.release(expected.length);
  }
  assert.equal(model.published.length, 0, 'the model is drained too');
  assert.equal(header[RingWord.READER_WAITING], 0);
  assert.equal(header[RingWord.WRITER_WAITING], 0);
}

describe('shared ring index arithmetic (model-based)', () => {
  it('agrees with a slot-array model on every reserve, commit, write, cork, read and release', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(16, 32, 64)
          .chain((capacity) =>
            fc.tuple(
              fc.constant(capacity),
              fc.oneof(
                fc.integer({ min: 0, max: 3 * capacity }),
                fc.integer({ min: 0x7fff_ffff - 2 * capacity, max: 0x7fff_ffff }),
                fc.integer({ min: -2 * capacity, max: -1 })
              ),
              fc.array(commandArb(capacity), { maxLength: 300 })
            )
          ),
        ([capacity, startIndex, commands]) => run(capacity, startIndex, commands)
      ),
      { seed: 42, numRuns: 400 }
    );
  });

  it('wraps many laps with records exactly the size of the free space at the end', () => {
    // Each record ends exactly at the end of the data, then one fills the whole ring: no padding
    // ever, so the lap ends come from commit alone.
    const capacity = 32;
    const ring = createSharedRing({ capacityBytes: capacity });
    const writer = new RingWriter(ring);
    const reader = new RingReader(ring);
    let value = 0;
    for (let lap = 0; lap < 200; lap++) {
      for (const length of [5, capacity - 5, capacity]) {
        const bytes = Uint8Array.from({ length }, () => value++ & 0xff);
        assert.equal(writer.write(bytes), true, `lap ${lap}: write ${length}`);
        assert.deepEqual(reader.peek(), bytes, `lap ${lap}: read ${length}`);
        reader.release(length);
      }
    }
  });
});
