/**
 * FrameDecoder and FrameEncoder: zero-copy delivery, copies only for straddling bodies, the limit
 * checked before buffering, the terminal error state, and the bad-input matrix (STYLE.md 2.9).
 * The docs/protocol.md vectors run in varint.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingbusError } from '../../../src/errors.js';
import { FrameDecoder } from '../../../src/frames/frame-decoder.js';
import { FrameEncoder, encodeFrame } from '../../../src/frames/frame-encoder.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../../src/limits.js';

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** A decoder that records each delivered view (not a copy) and its chunk-relative facts. */
function recorder(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): {
  decoder: FrameDecoder;
  frames: Uint8Array[];
} {
  const frames: Uint8Array[] = [];
  return { decoder: new FrameDecoder(maxFrameBytes, (body) => frames.push(body)), frames };
}

void describe('FrameDecoder', () => {
  void it('delivers a body inside one chunk as a view of that chunk (zero-copy)', () => {
    const { decoder, frames } = recorder();
    const chunk = bytes(0x99, 2, 0x61, 0x62, 3, 1, 2, 3, 0);
    assert.equal(decoder.push(chunk.subarray(1)), undefined);
    assert.equal(frames.length, 3);
    for (const body of frames) assert.equal(body.buffer, chunk.buffer);
    assert.equal(frames[0].byteOffset, 2);
    assert.deepEqual([...frames[1]], [1, 2, 3]);
    assert.equal(frames[2].length, 0, 'a zero-length frame is an empty Uint8Array');
  });

  void it('copies a straddling body into a buffer of exactly its length', () => {
    const { decoder, frames } = recorder();
    const first = bytes(5, 1, 2);
    const second = bytes(3, 4, 5, 1);
    decoder.push(first);
    assert.equal(decoder.bufferedBytes, 2);
    decoder.push(second);
    assert.equal(decoder.bufferedBytes, 0);
    assert.deepEqual([...frames[0]], [1, 2, 3, 4, 5]);
    assert.equal(frames[0].buffer.byteLength, 5);
    assert.notEqual(frames[0].buffer, first.buffer);
    assert.notEqual(frames[0].buffer, second.buffer);
  });

  void it('stays zero-copy when only the length prefix straddles chunks', () => {
    const { decoder, frames } = recorder();
    const body = new Uint8Array(300).fill(7);
    decoder.push(bytes(0xac));
    const tail = new Uint8Array(301);
    tail[0] = 0x02;
    tail.set(body, 1);
    assert.equal(decoder.bufferedBytes, 0);
    decoder.push(tail);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].buffer, tail.buffer);
    assert.deepEqual(frames[0], body);
  });

  void it('stays zero-copy when the prefix ends a chunk and the body fills the next one', () => {
    const { decoder, frames } = recorder();
    decoder.push(bytes(3));
    assert.equal(decoder.bufferedBytes, 0, 'nothing allocated before a body byte arrives');
    const body = bytes(1, 2, 3);
    decoder.push(body);
    assert.equal(frames[0].buffer, body.buffer);
  });

  void it('does not clobber views delivered from one chunk when later chunks are pushed', () => {
    const { decoder, frames } = recorder();
    const first = bytes(2, 0x61, 0x62, 2, 0x63);
    decoder.push(first);
    const kept = frames[0];
    decoder.push(bytes(0x64));
    for (let i = 0; i < 50; i++) decoder.push(bytes(3, 0xff, 0xfe, 0xfd));
    assert.deepEqual([...kept], [0x61, 0x62]);
    assert.deepEqual([...frames[1]], [0x63, 0x64], 'the straddling frame is a copy');
    assert.equal(frames.length, 52);
    assert.deepEqual([...frames[51]], [0xff, 0xfe, 0xfd]);
  });

  void it('accepts a body of exactly maxFrameBytes and rejects one byte more', () => {
    const ok = recorder(4);
    assert.equal(ok.decoder.push(bytes(4, 1, 2, 3, 4)), undefined);
    assert.equal(ok.frames.length, 1);
    const tooLarge = recorder(4);
    const error = tooLarge.decoder.push(bytes(5, 1, 2, 3, 4, 5));
    assert.ok(error instanceof RingbusError);
    assert.equal(error.code, 'ERR_FRAME_TOO_LARGE');
    assert.match(error.message, /frame length 5 exceeds maxFrameBytes 4/);
  });

  void it('rejects an oversized length before buffering any body byte', () => {
    const { decoder, frames } = recorder(1024);
    // Declares 2^32 - 1 bytes; only the prefix is needed to refuse it, and nothing is allocated.
    const error = decoder.push(bytes(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3));
    assert.equal(error?.code, 'ERR_FRAME_TOO_LARGE');
    assert.match(error.message, /4294967295 exceeds maxFrameBytes 1024/);
    assert.equal(decoder.bufferedBytes, 0);
    assert.equal(frames.length, 0);
  });

  void it('with maxFrameBytes 0 accepts only empty frames', () => {
    const { decoder, frames } = recorder(0);
    assert.equal(decoder.push(bytes(0, 0)), undefined);
    assert.equal(frames.length, 2);
    assert.equal(decoder.push(bytes(1, 0x61))?.code, 'ERR_FRAME_TOO_LARGE');
  });

  void it('ends cleanly on a frame boundary, and an empty push is a no-op', () => {
    const { decoder, frames } = recorder();
    assert.equal(decoder.end(), undefined, 'empty stream');
    assert.equal(decoder.push(new Uint8Array(0)), undefined);
    decoder.push(bytes(1, 9));
    assert.equal(decoder.end(), undefined);
    assert.equal(frames.length, 1);
  });

  void it('reports the byte offset of a bad byte across chunks', () => {
    const { decoder } = recorder();
    decoder.push(bytes(1, 0x61, 0x80));
    const error = decoder.push(bytes(0x80, 0x80, 0x80, 0x80));
    assert.match(error?.message ?? '', /at offset 6/);
  });

  void it('throws RangeError for an invalid maxFrameBytes (programmer error)', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32]) {
      assert.throws(() => new FrameDecoder(bad, () => undefined), RangeError, `${bad}`);
    }
  });

  void it('lets an exception from onFrame propagate (not swallowed)', () => {
    const decoder = new FrameDecoder(16, () => {
      throw new Error('handler bug');
    });
    assert.throws(() => decoder.push(bytes(1, 0x61)), /handler bug/);
  });

  void describe('bad-input matrix', () => {
    interface BadInput {
      readonly name: string;
      readonly chunks: readonly Uint8Array[];
      readonly maxFrameBytes: number;
      readonly code: string;
      readonly fragment: RegExp;
      readonly framesBefore: number;
    }
    const matrix: BadInput[] = [
      {
        name: 'truncated varint at end',
        chunks: [bytes(0xff, 0xff)],
        maxFrameBytes: 1024,
        code: 'ERR_PROTOCOL',
        fragment: /truncated frame: .* inside a length prefix/,
        framesBefore: 0
      },
      {
        name: '6-byte varint',
        chunks: [bytes(0xff, 0xff, 0xff), bytes(0xff, 0xff, 0x01)],
        maxFrameBytes: 1024,
        code: 'ERR_PROTOCOL',
        fragment: /longer than 5 bytes \(byte 0xff at offset 4/,
        framesBefore: 0
      },
      {
        name: 'fifth byte too large',
        chunks: [bytes(0x80, 0x80, 0x80, 0x80, 0x1f)],
        maxFrameBytes: 1024,
        code: 'ERR_PROTOCOL',
        fragment: /above 2\^32 - 1 \(5th byte 0x1f at offset 4/,
        framesBefore: 0
      },
      {
        name: 'overlong varint (ff 00 = 127)',
        chunks: [bytes(0xff), bytes(0x00)],
        maxFrameBytes: 1024,
        code: 'ERR_PROTOCOL',
        fragment: /overlong length varint \(final byte 0x00 at offset 1/,
        framesBefore: 0
      },
      {
        name: 'length = maxFrameBytes + 1',
        chunks: [bytes(0x81, 0x01)],
        maxFrameBytes: 128,
        code: 'ERR_FRAME_TOO_LARGE',
        fragment: /frame length 129 exceeds maxFrameBytes 128/,
        framesBefore: 0
      },
      {
        name: 'truncated body at close',
        chunks: [bytes(1, 0x61, 4, 1, 2)],
        maxFrameBytes: 1024,
        code: 'ERR_PROTOCOL',
        fragment: /truncated frame: .*after 2 of 4 body bytes/,
        framesBefore: 1
      },
      {
        name: 'garbage after a valid frame',
        chunks: [bytes(0, 1, 0x61, 0x80, 0x80, 0x80, 0x80, 0x80)],
        maxFrameBytes: 1024,
        code: 'ERR_PROTOCOL',
        fragment: /longer than 5 bytes/,
        framesBefore: 2
      }
    ];
    for (const row of matrix) {
      void it(`${row.name}: ${row.code}, terminal, later input ignored`, () => {
        const { decoder, frames } = recorder(row.maxFrameBytes);
        let error: RingbusError | undefined;
        for (const chunk of row.chunks) error ??= decoder.push(chunk);
        error ??= decoder.end();
        assert.ok(error instanceof RingbusError);
        assert.equal(error.code, row.code);
        assert.match(error.message, row.fragment);
        assert.ok(error.message.startsWith(`${row.code}: `));
        assert.equal(decoder.error, error);
        assert.equal(frames.length, row.framesBefore);
        assert.equal(decoder.push(bytes(1, 0x61, 0)), error, 'same error, input ignored');
        assert.equal(decoder.end(), error);
        assert.equal(frames.length, row.framesBefore, 'no frame after the error');
        assert.equal(decoder.bufferedBytes, 0, 'no buffer kept after the error');
      });
    }
  });
});

void describe('FrameEncoder', () => {
  void it('coalesces frames into one array and resets on take', () => {
    const encoder = new FrameEncoder(1024);
    encoder.frame(bytes(0x61));
    encoder.frame(new Uint8Array(0));
    encoder.frame(new Uint8Array(300).fill(2));
    assert.equal(encoder.size, 2 + 1 + 302);
    const out = encoder.take();
    assert.equal(out.length, 305);
    assert.deepEqual([...out.subarray(0, 5)], [1, 0x61, 0, 0xac, 0x02]);
    assert.equal(encoder.size, 0);
    assert.equal(encoder.take().length, 0);
  });

  void it('returns a copy from take that later frames do not overwrite', () => {
    const encoder = new FrameEncoder();
    encoder.frame(bytes(1, 2, 3));
    const first = encoder.take();
    encoder.frame(bytes(9, 9, 9));
    assert.deepEqual([...first], [3, 1, 2, 3]);
  });

  void it('grows past its initial buffer and keeps earlier frames', () => {
    const encoder = new FrameEncoder(100_000);
    const big = new Uint8Array(50_000).fill(5);
    encoder.frame(bytes(7));
    encoder.frame(big);
    encoder.frame(big);
    const frames: Uint8Array[] = [];
    const decoder = new FrameDecoder(100_000, (body) => frames.push(body));
    assert.equal(decoder.push(encoder.take()), undefined);
    assert.deepEqual(frames, [bytes(7), big, big]);
  });

  void it('throws RangeError for a body over maxFrameBytes and appends nothing', () => {
    const encoder = new FrameEncoder(4);
    encoder.frame(bytes(1, 2, 3, 4));
    assert.throws(() => encoder.frame(new Uint8Array(5)), /5 bytes exceeds maxFrameBytes 4/);
    assert.equal(encoder.size, 5);
    assert.throws(() => new FrameEncoder(-1), RangeError);
    assert.equal(new FrameEncoder().maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  });

  void it('encodeFrame writes the length prefix and the body', () => {
    const hello = new TextEncoder().encode('Hello nanoQ');
    assert.deepEqual([...encodeFrame(hello)], [0x0b, ...hello]);
    assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0]);
    assert.throws(() => encodeFrame(new Uint8Array(3), 2), RangeError);
    assert.throws(() => encodeFrame(new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1)), RangeError);
  });
});
