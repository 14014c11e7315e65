import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingbusError } from '../../src/errors.js';
import { DEFAULT_RING_BYTES } from '../../src/limits.js';
import { RingReader } from '../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../adapters/worker/ring-writer.js';
import {
  RING_HEADER_BYTES,
  RING_MAGIC,
  RingWord,
  createSharedRing
} from '../../adapters/worker/shared-ring.js';
import { within } from '../helpers/wait.js';

/** Single-thread tests of the shared ring: layout, bad input, boundaries, cork and waits. */

function rejects(action: () => unknown, code: string, fragment: RegExp): void {
  assert.throws(action, (err: unknown) => {
    assert.ok(err instanceof RingbusError, `expected a RingbusError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, fragment);
    return true;
  });
}

function pair(capacityBytes: number): {
  ring: SharedArrayBuffer;
  header: Int32Array;
  writer: RingWriter;
  reader: RingReader;
} {
  const ring = createSharedRing({ capacityBytes });
  return {
    ring,
    header: new Int32Array(ring, 0, RING_HEADER_BYTES / 4),
    writer: new RingWriter(ring),
    reader: new RingReader(ring)
  };
}

function bytes(length: number, first = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (first + i) & 0xff);
}

/** Reads one run and releases it. */
function take(reader: RingReader): number[] {
  const run = Array.from(reader.peek());
  reader.release(run.length);
  return run;
}

describe('createSharedRing', () => {
  it('allocates a 1 MiB ring after a 192-byte header by default', () => {
    const ring = createSharedRing();
    assert.equal(ring.byteLength, RING_HEADER_BYTES + DEFAULT_RING_BYTES);
    assert.equal(DEFAULT_RING_BYTES, 1 << 20);
    const header = new Int32Array(ring, 0, 48);
    assert.equal(header[RingWord.MAGIC], RING_MAGIC);
    assert.equal(header[RingWord.CAPACITY], DEFAULT_RING_BYTES);
    assert.equal(new RingWriter(ring).capacity, DEFAULT_RING_BYTES);
    assert.equal(new RingReader(ring).data.byteOffset, RING_HEADER_BYTES);
  });

  it('puts WRITE and READ in different 64-byte cache lines, each with the flag its owner reads', () => {
    const line = (word: number): number => Math.floor((word * 4) / 64);
    assert.notEqual(line(RingWord.WRITE), line(RingWord.READ));
    assert.notEqual(line(RingWord.WRITE), line(RingWord.CAPACITY));
    assert.equal(line(RingWord.READER_WAITING), line(RingWord.WRITE));
    assert.equal(line(RingWord.WRAP + 1), line(RingWord.WRITE));
    assert.equal(line(RingWord.WRITER_WAITING), line(RingWord.READ));
    assert.equal(line(RingWord.READER_BELL), line(RingWord.WRITE), 'the writer rings it');
    assert.equal(line(RingWord.WRITER_BELL), line(RingWord.READ), 'the reader rings it');
    assert.ok(
      line(RingWord.READ) * 64 + 64 <= RING_HEADER_BYTES,
      'the data starts on its own line'
    );
  });

  for (const [given, why] of [
    [100, 'not a power of two'],
    [8, 'below the minimum of 16'],
    [2 ** 31, 'above the maximum of 2^30'],
    [64.5, 'not an integer'],
    ['64', 'a string']
  ] as const) {
    it(`rejects capacityBytes ${JSON.stringify(given)} (${why}) with ERR_INVALID_OPTIONS`, () => {
      rejects(
        () => createSharedRing({ capacityBytes: given as number }),
        'ERR_INVALID_OPTIONS',
        /capacityBytes must be a power of two in \[16, 1073741824\]/u
      );
    });
  }

  it('rejects an unknown option with ERR_INVALID_OPTIONS naming it', () => {
    rejects(
      () => createSharedRing({ capacity: 64 } as never),
      'ERR_INVALID_OPTIONS',
      /unknown option\(s\) 'capacity'/u
    );
  });
});

describe('attaching to a ring', () => {
  function fakeRing(byteLength: number, magic: number, capacity: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(byteLength);
    if (byteLength >= 8) {
      const words = new Int32Array(buffer, 0, 2);
      words[RingWord.MAGIC] = magic;
      words[RingWord.CAPACITY] = capacity;
    }
    return buffer;
  }

  const cases: [string, unknown, RegExp][] = [
    [
      'an ArrayBuffer',
      new ArrayBuffer(256),
      /must be the SharedArrayBuffer .* \(got ArrayBuffer\)/u
    ],
    ['undefined', undefined, /\(got undefined\)/u],
    ['a buffer too small for a header', new SharedArrayBuffer(64), /64 bytes is too small/u],
    ['a buffer without the magic', fakeRing(RING_HEADER_BYTES + 64, 0, 64), /no ring header/u],
    [
      'a buffer one byte longer than its capacity says',
      fakeRing(RING_HEADER_BYTES + 65, RING_MAGIC, 64),
      /257 bytes does not match the capacity 64/u
    ],
    [
      'a buffer whose capacity is not a power of two',
      fakeRing(RING_HEADER_BYTES + 48, RING_MAGIC, 48),
      /does not match the capacity 48/u
    ]
  ];
  for (const [what, buffer, fragment] of cases) {
    it(`rejects ${what} on both sides with ERR_INVALID_OPTIONS`, () => {
      rejects(() => new RingWriter(buffer as SharedArrayBuffer), 'ERR_INVALID_OPTIONS', fragment);
      rejects(() => new RingReader(buffer as SharedArrayBuffer), 'ERR_INVALID_OPTIONS', fragment);
    });
  }

  it('lets the reader attach after records were written, and continue from the indices', () => {
    const ring = createSharedRing({ capacityBytes: 64 });
    const writer = new RingWriter(ring);
    assert.equal(writer.write(bytes(10)), true);
    const reader = new RingReader(ring);
    assert.deepEqual(take(reader), Array.from(bytes(10)));
    const second = new RingWriter(ring);
    assert.equal(second.write(bytes(3, 50)), true);
    assert.deepEqual(take(reader), [50, 51, 52]);
  });
});

describe('RingWriter and RingReader', () => {
  it('refuses a record one byte over capacity with ERR_FRAME_TOO_LARGE and changes nothing', () => {
    const { header, writer, reader } = pair(64);
    writer.write(bytes(5));
    rejects(
      () => writer.write(new Uint8Array(65)),
      'ERR_FRAME_TOO_LARGE',
      /record of 65 bytes exceeds the ring capacity of 64 bytes/u
    );
    rejects(() => writer.reserve(65), 'ERR_FRAME_TOO_LARGE', /capacityBytes/u);
    rejects(() => writer.waitForSpace(65, 0), 'ERR_FRAME_TOO_LARGE', /65 bytes/u);
    assert.equal(header[RingWord.WRITE], 5);
    assert.deepEqual(take(reader), [1, 2, 3, 4, 5]);
  });

  for (const given of [-1, 1.5, Number.NaN]) {
    it(`rejects reserve(${given}) with ERR_INVALID_OPTIONS`, () => {
      rejects(
        () => pair(64).writer.reserve(given),
        'ERR_INVALID_OPTIONS',
        /maxBytes must be an integer in \[0, 64\]/u
      );
    });
  }

  it('rejects commit beyond the reservation, or without one, with ERR_INVALID_OPTIONS', () => {
    const { writer, reader } = pair(64);
    rejects(() => writer.commit(1), 'ERR_INVALID_OPTIONS', /bytesWritten must be .* \[0, 0\]/u);
    const at = writer.reserve(8);
    rejects(() => writer.commit(9), 'ERR_INVALID_OPTIONS', /\[0, 8\].*got 9/u);
    writer.data.set(bytes(4), at);
    writer.commit(4);
    rejects(() => writer.commit(1), 'ERR_INVALID_OPTIONS', /\[0, 0\]/u);
    writer.reserve(8);
    writer.commit(0); // drops the reservation
    assert.deepEqual(take(reader), [1, 2, 3, 4]);
    assert.equal(reader.available(), 0);
  });

  it('rejects a release beyond what available() handed out with ERR_INVALID_OPTIONS', () => {
    const { writer, reader } = pair(64);
    writer.write(bytes(6));
    rejects(() => reader.release(1), 'ERR_INVALID_OPTIONS', /\[0, 0\].*got 1/u);
    assert.equal(reader.available(), 6);
    reader.release(2);
    rejects(() => reader.release(5), 'ERR_INVALID_OPTIONS', /\[0, 4\].*got 5/u);
    rejects(() => reader.release(-1), 'ERR_INVALID_OPTIONS', /got -1/u);
    reader.release(4);
  });

  it('hands out views of the shared data, not copies', () => {
    const { ring, writer, reader } = pair(64);
    writer.write(bytes(6));
    const view = reader.peek();
    assert.equal(view.buffer, ring);
    assert.equal(view.byteOffset, RING_HEADER_BYTES + reader.readOffset);
  });

  it('takes a record exactly the capacity at offset 0, and only into an empty ring', () => {
    const { writer, reader } = pair(32);
    assert.equal(writer.reserve(32), 0);
    writer.data.set(bytes(32));
    writer.commit(32);
    assert.equal(writer.write(bytes(1)), false, 'a full ring refuses one byte more');
    assert.equal(reader.available(), 32);
    reader.release(31);
    assert.equal(writer.write(bytes(32)), false, 'refused while one byte is unread');
    reader.release(1);
    assert.equal(writer.write(bytes(32, 9)), true);
    assert.deepEqual(take(reader), Array.from(bytes(32, 9)));
  });

  it('takes a record exactly the capacity from mid-ring once the ring is empty, padding the rest', () => {
    const { writer, reader } = pair(32);
    writer.write(bytes(5));
    assert.equal(writer.write(bytes(32, 100)), false);
    assert.deepEqual(take(reader), [1, 2, 3, 4, 5]);
    assert.equal(writer.reserve(32), 0, 'the whole ring, from offset 0');
    writer.data.set(bytes(32, 100));
    writer.commit(32);
    assert.deepEqual(take(reader), Array.from(bytes(32, 100)));
  });

  it('places a record that exactly reaches the end without padding, and the next at offset 0', () => {
    const { header, writer, reader } = pair(32);
    writer.write(bytes(20));
    assert.equal(writer.reserve(12), 20);
    writer.data.set(bytes(12, 21), 20);
    writer.commit(12);
    assert.equal(header[RingWord.WRAP], 32, 'lap 0 ends at 32 with no padding');
    assert.equal(reader.available(), 32, 'both records in one run');
    assert.deepEqual(take(reader), Array.from(bytes(32)));
    assert.equal(writer.reserve(4), 0);
  });

  it('pads a record that does not fit before the end, and never hands out the padding', () => {
    const { header, writer, reader } = pair(32);
    writer.data.fill(0xee);
    writer.write(bytes(25));
    assert.deepEqual(take(reader), Array.from(bytes(25)));
    assert.equal(writer.write(bytes(8, 40)), true, '7 bytes left: padding, then offset 0');
    assert.equal(header[RingWord.WRAP], 25, 'lap 0 data ends at 25');
    assert.equal(header[RingWord.WRITE], 40, 'WRITE counts the padding');
    assert.deepEqual(take(reader), Array.from(bytes(8, 40)));
    assert.equal(reader.readOffset, 8);
    assert.equal(header[RingWord.READ], 40);
  });

  it('hands out the data before the padding and after it as two runs', () => {
    const { writer, reader } = pair(32);
    writer.write(bytes(24));
    reader.available();
    reader.release(20);
    assert.equal(writer.write(bytes(10, 60)), true, '8 bytes left at the end: padding, then 0');
    assert.equal(reader.available(), 4);
    assert.deepEqual(take(reader), Array.from(bytes(24)).slice(20));
    assert.deepEqual(take(reader), Array.from(bytes(10, 60)));
  });

  it('frees the padding as soon as the reader reaches it', () => {
    const { writer, reader } = pair(32);
    writer.write(bytes(20));
    assert.deepEqual(take(reader), Array.from(bytes(20)));
    // Padding [20, 32), then a record at [0, 20). The reader stands where the padding starts, so
    // [20, 32) is free again before the reader has looked past it.
    assert.equal(writer.write(bytes(20, 1)), true);
    assert.equal(writer.write(bytes(12, 1)), true, 'written over the padding');
    assert.equal(writer.write(bytes(1)), false);
  });

  it('publishes corked records with one index store at uncork', () => {
    const { header, writer, reader } = pair(64);
    writer.cork();
    for (let i = 0; i < 5; i++) writer.write(bytes(4, i * 4));
    assert.equal(header[RingWord.WRITE], 0, 'nothing published while corked');
    assert.equal(reader.available(), 0);
    writer.uncork();
    assert.equal(header[RingWord.WRITE], 20);
    assert.deepEqual(take(reader), Array.from(bytes(20, 0)));
  });

  it('publishes the staged records when the ring fills while corked, so the reader can free it', () => {
    const { header, writer, reader } = pair(32);
    writer.cork();
    assert.equal(writer.write(bytes(16)), true);
    assert.equal(writer.write(bytes(16, 17)), true);
    assert.equal(header[RingWord.WRITE], 0);
    assert.equal(writer.write(bytes(1)), false);
    assert.equal(header[RingWord.WRITE], 32, 'the refusal published what was staged');
    assert.deepEqual(take(reader), Array.from(bytes(32)));
    assert.equal(writer.write(bytes(1)), true, 'corked still: staged');
    assert.equal(reader.available(), 0);
  });
});

describe('waiting on a shared ring', () => {
  it('returns false from the blocking waits on timeout, and true at once when ready', () => {
    const { header, writer, reader } = pair(32);
    assert.equal(reader.waitForData(0), false);
    assert.equal(reader.waitForData(5), false);
    assert.equal(writer.waitForSpace(32, 5), true);
    writer.write(bytes(30));
    assert.equal(reader.waitForData(5), true);
    assert.equal(writer.waitForSpace(2, 5), true, 'the 2 bytes left at the end');
    assert.equal(writer.waitForSpace(3, 5), false, '3 bytes go to offset 0, which is unread');
    assert.equal(header[RingWord.READER_WAITING], 0, 'the reader lowered its flag');
    assert.equal(header[RingWord.WRITER_WAITING], 0, 'the writer lowered its flag');
  });

  it('rejects a negative or NaN timeoutMs with ERR_INVALID_OPTIONS', () => {
    const { writer, reader } = pair(32);
    rejects(() => reader.waitForData(-1), 'ERR_INVALID_OPTIONS', /timeoutMs must be/u);
    rejects(() => reader.waitForData(Number.NaN), 'ERR_INVALID_OPTIONS', /got NaN/u);
    writer.write(bytes(32));
    rejects(() => writer.waitForSpace(1, -1), 'ERR_INVALID_OPTIONS', /timeoutMs must be/u);
  });

  it('resolves waitForDataAsync with true when a record is published later', async () => {
    const { header, writer, reader } = pair(32);
    const waiting = reader.waitForDataAsync(5000);
    assert.equal(header[RingWord.READER_WAITING], 1, 'the reader raised its flag');
    setImmediate(() => writer.write(bytes(3)));
    assert.equal(await within(waiting, 2000, 'waitForDataAsync'), true);
    assert.equal(header[RingWord.READER_WAITING], 0);
    assert.deepEqual(take(reader), [1, 2, 3]);
  });

  it('resolves waitForSpaceAsync with true when the reader frees enough space', async () => {
    const { header, writer, reader } = pair(32);
    writer.write(bytes(32));
    const waiting = writer.waitForSpaceAsync(8, 5000);
    assert.equal(header[RingWord.WRITER_WAITING], 1, 'the writer raised its flag');
    setImmediate(() => {
      reader.available();
      reader.release(4); // not enough yet
      setImmediate(() => reader.release(4));
    });
    assert.equal(await within(waiting, 2000, 'waitForSpaceAsync'), true);
    assert.equal(header[RingWord.WRITER_WAITING], 0);
    assert.equal(writer.reserve(8), 0);
  });

  it('resolves the async waits with false on timeout', async () => {
    const { writer, reader } = pair(32);
    assert.equal(await within(reader.waitForDataAsync(5), 2000, 'data wait'), false);
    writer.write(bytes(32));
    assert.equal(await within(writer.waitForSpaceAsync(1, 5), 2000, 'space wait'), false);
  });
});

describe('closing a shared ring', () => {
  it("ends the stream after the writer's last record; waits return false once it is closed", async () => {
    const { writer, reader } = pair(32);
    const waiting = reader.waitForDataAsync(Infinity);
    writer.write(bytes(3));
    writer.end();
    assert.equal(await within(waiting, 2000, 'data wait'), true);
    assert.equal(reader.ended, true);
    assert.deepEqual(take(reader), [1, 2, 3], 'what was written before the end is still read');
    assert.equal(reader.available(), 0);
    assert.equal(
      await within(reader.waitForDataAsync(Infinity), 2000, 'wait after the end'),
      false
    );
    assert.equal(reader.waitForData(Infinity), false, 'the blocking wait returns too');
  });

  it('wakes a writer waiting for space when the reader detaches, and rings every bell', async () => {
    const { header, writer, reader } = pair(32);
    writer.write(bytes(32));
    const waiting = writer.waitForSpaceAsync(8, Infinity);
    const bells = [header[RingWord.READER_BELL], header[RingWord.WRITER_BELL]];
    reader.detach();
    assert.equal(await within(waiting, 2000, 'space wait'), false);
    assert.equal(writer.closed, true);
    assert.equal(reader.ended, false, 'detaching is not the end of what the writer wrote');
    // A sleep that begins after a close sees a bell value other than the one it read before.
    assert.deepEqual(
      [header[RingWord.READER_BELL], header[RingWord.WRITER_BELL]],
      bells.map((b) => b + 1)
    );
  });
});
