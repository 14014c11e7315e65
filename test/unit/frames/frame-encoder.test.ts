/**
 * FrameEncoder's in-place writer (begin / field writers / end / abort): exact bytes, the length
 * prefix resized when the body outgrows or undershoots the estimate, and the maxFrameBytes rollback.
 * `frame()` and `take()` are covered in frame-decoder.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BodyReader } from '../../../src/frames/body-reader.js';
import { FrameDecoder } from '../../../src/frames/frame-decoder.js';
import { FrameEncoder } from '../../../src/frames/frame-encoder.js';

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** The bodies of a stream, checking it decodes completely. */
function bodies(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const decoder = new FrameDecoder(1 << 30, (body) => out.push(body.slice()));
  assert.equal(decoder.push(stream), undefined);
  assert.equal(decoder.end(), undefined);
  return out;
}

function filled(length: number, byte: number): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

/** One frame written in place with `estimate`, its body being `body`. */
function inPlace(enc: FrameEncoder, estimate: number, body: Uint8Array): void {
  enc.begin(estimate);
  enc.bytes(body);
  enc.end();
}

void describe('FrameEncoder in-place writer', () => {
  void it('writes directly where room() says, also when the room takes a new buffer', () => {
    const enc = new FrameEncoder();
    // Fill most of the first buffer (4 KiB), so the second frame's room does not fit in it.
    inPlace(enc, 4000, filled(4000, 7));
    enc.begin(3);
    enc.u8(0x21);
    const before = enc.target;
    const at = enc.room(200);
    assert.notEqual(enc.target, before, 'a new buffer, the frame begun moved into it');
    enc.target.set([0xaa, 0xbb], at);
    enc.advance(at + 2);
    enc.end();
    const [first, second] = bodies(enc.take());
    assert.deepEqual(first, filled(4000, 7));
    assert.equal(hex(second), '21 aa bb');
  });

  void it('writes a frame in place with each field writer', () => {
    const enc = new FrameEncoder();
    enc.begin(16);
    enc.u8(0x20);
    enc.uint(300);
    enc.str('a.b');
    enc.bytes(Uint8Array.of(1, 2));
    enc.utf8('é');
    assert.equal(enc.end(), undefined);
    assert.equal(hex(enc.take()), '0b 20 ac 02 03 61 2e 62 01 02 c3 a9');
  });

  void it('writes uint as shortest LEB128 at every group boundary up to 2^53 − 1', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [127, '7f'],
      [128, '80 01'],
      [300, 'ac 02'],
      [2 ** 14, '80 80 01'],
      [2 ** 32, '80 80 80 80 10'],
      [2 ** 49, '80 80 80 80 80 80 80 01'],
      [Number.MAX_SAFE_INTEGER, 'ff ff ff ff ff ff ff 0f']
    ];
    for (const [value, expected] of cases) {
      const enc = new FrameEncoder();
      enc.begin(8);
      enc.uint(value);
      enc.end();
      assert.equal(hex(bodies(enc.take())[0]), expected, `${value}`);
    }
  });

  void it('writes every uint near a power of two so that BodyReader reads it back', () => {
    const values: number[] = [];
    for (let k = 0; k <= 53; k++) {
      for (const v of [2 ** k - 1, 2 ** k, 2 ** k + 1])
        if (v <= Number.MAX_SAFE_INTEGER) values.push(v);
    }
    const enc = new FrameEncoder();
    enc.begin(values.length * 8);
    for (const v of values) enc.uint(v);
    enc.end();
    const r = new BodyReader();
    r.reset(bodies(enc.take())[0]);
    for (const v of values) assert.equal(r.uint(), v);
    r.done('the integers');
  });

  void it('prefixes str with its UTF-8 byte length, not its UTF-16 length', () => {
    const cases: [string, string][] = [
      ['', '00'],
      ['abc', '03 61 62 63'],
      ['é', '02 c3 a9'],
      ['😀', '04 f0 9f 98 80'],
      ['a€', '04 61 e2 82 ac']
    ];
    for (const [value, expected] of cases) {
      const enc = new FrameEncoder();
      enc.begin(8);
      enc.str(value);
      enc.end();
      assert.equal(hex(bodies(enc.take())[0]), expected, JSON.stringify(value));
    }
  });

  void it('sizes the str length prefix for 128 bytes and more, ASCII or not', () => {
    const cases = [
      'a'.repeat(127),
      'a'.repeat(128),
      'a'.repeat(20000),
      'é'.repeat(64), // 64 UTF-16 units, 128 bytes: the ASCII guess of the length is wrong
      `${'a'.repeat(300)}é`, // falls back after writing 300 ASCII bytes
      `é${'a'.repeat(200)}`
    ];
    for (const value of cases) {
      const enc = new FrameEncoder();
      enc.begin(4);
      enc.str(value);
      enc.u8(0xee); // the next field lands right after the string
      enc.end();
      const r = new BodyReader();
      r.reset(bodies(enc.take())[0]);
      assert.equal(r.str(), value);
      assert.equal(r.u8(), 0xee);
      r.done('the string');
    }
  });

  void it('writes utf8 with no length, lone surrogates as U+FFFD', () => {
    const enc = new FrameEncoder();
    enc.begin(8);
    enc.utf8('€😀');
    enc.end();
    enc.begin(8);
    enc.utf8('\uD800');
    enc.end();
    assert.deepEqual(bodies(enc.take()).map(hex), ['e2 82 ac f0 9f 98 80', 'ef bf bd']);
  });

  void it('moves the body when it outgrows the estimate, keeping the frames around it', () => {
    const enc = new FrameEncoder();
    enc.frame(Uint8Array.of(0xaa));
    inPlace(enc, 4, filled(200, 1)); // 1-byte prefix reserved, 2 needed
    inPlace(enc, 200, filled(20000, 2)); // 2 reserved, 3 needed
    inPlace(enc, 0, filled(300_000, 3)); // 1 reserved, 3 needed; grows the buffer too
    enc.frame(Uint8Array.of(0xbb));
    const stream = enc.take();
    assert.equal(stream.length, 2 + (2 + 200) + (3 + 20000) + (3 + 300_000) + 2);
    assert.equal(hex(stream.subarray(2, 4)), 'c8 01');
    assert.deepEqual(bodies(stream), [
      Uint8Array.of(0xaa),
      filled(200, 1),
      filled(20000, 2),
      filled(300_000, 3),
      Uint8Array.of(0xbb)
    ]);
  });

  void it('shrinks the prefix when the body undershoots the estimate', () => {
    const enc = new FrameEncoder();
    inPlace(enc, 20000, filled(5, 1)); // 3 reserved, 1 needed
    inPlace(enc, 300, filled(127, 2)); // 2 reserved, 1 needed
    inPlace(enc, 300, filled(128, 3)); // 2 reserved, 2 needed
    inPlace(enc, 20000, filled(200, 4)); // 3 reserved, 2 needed
    inPlace(enc, 300, new Uint8Array(0)); // an empty body
    const stream = enc.take();
    // No gap is left where the larger prefix was reserved.
    assert.equal(stream.length, 1 + 5 + (1 + 127) + (2 + 128) + (2 + 200) + 1);
    assert.equal(hex(stream.subarray(0, 1)), '05');
    assert.deepEqual(bodies(stream), [
      filled(5, 1),
      filled(127, 2),
      filled(128, 3),
      filled(200, 4),
      new Uint8Array(0)
    ]);
  });

  void it('accepts a body of exactly maxFrameBytes', () => {
    const enc = new FrameEncoder(100);
    inPlace(enc, 10, filled(100, 7));
    assert.deepEqual(bodies(enc.take()), [filled(100, 7)]);
  });

  void it('throws RangeError over maxFrameBytes and removes only that frame', () => {
    const enc = new FrameEncoder(100);
    enc.frame(Uint8Array.of(1));
    const before = enc.size;
    enc.begin(10);
    enc.u8(0x20);
    enc.bytes(filled(100, 9));
    assert.throws(() => enc.end(), {
      name: 'RangeError',
      message: 'frame body of 101 bytes exceeds maxFrameBytes 100'
    });
    assert.equal(enc.size, before);
    inPlace(enc, 1, Uint8Array.of(2)); // still usable
    assert.deepEqual(bodies(enc.take()), [Uint8Array.of(1), Uint8Array.of(2)]);
  });

  void it('abort drops the frame begun and nothing else', () => {
    const enc = new FrameEncoder();
    enc.frame(Uint8Array.of(1));
    const before = enc.size;
    enc.begin(300);
    enc.str('x'.repeat(5000));
    enc.abort();
    assert.equal(enc.size, before);
    inPlace(enc, 1, Uint8Array.of(2));
    assert.deepEqual(bodies(enc.take()), [Uint8Array.of(1), Uint8Array.of(2)]);
  });

  void it('reserves no bytes after take: the next frame starts the next stream', () => {
    const enc = new FrameEncoder();
    inPlace(enc, 1, Uint8Array.of(1));
    assert.equal(hex(enc.take()), '01 01');
    assert.equal(enc.size, 0);
    inPlace(enc, 1, Uint8Array.of(2));
    assert.equal(hex(enc.take()), '01 02');
  });
});
