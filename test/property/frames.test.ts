import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RingbusError } from '../../src/errors.js';
import { FrameDecoder } from '../../src/frames/frame-decoder.js';
import { FrameEncoder } from '../../src/frames/frame-encoder.js';

/**
 * Chunking invariance (STYLE.md 2.9): decode(split(encode(bodies))) equals bodies for any split,
 * and arbitrary bytes never make push throw. Fixed seed; modest runs keep the file under 5 s.
 */
const SEED = 42;

const bodiesArb = fc.array(fc.uint8Array({ minLength: 0, maxLength: 3000, size: 'max' }), {
  maxLength: 12
});

/** Cuts `bytes` at the given points (any values; reduced modulo the length, sorted). */
function split(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = points.map((p) => (bytes.length === 0 ? 0 : p % (bytes.length + 1)));
  cuts.sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

function varintBytes(length: number): number {
  return length < 128 ? 1 : length < 16384 ? 2 : 3;
}

/** Stream offset of each chunk's first byte. */
function chunkStarts(chunks: readonly Uint8Array[]): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const chunk of chunks) {
    starts.push(at);
    at += chunk.length;
  }
  return starts;
}

/** Index of the non-empty chunk holding stream offset `at`. */
function chunkIndexOf(starts: readonly number[], at: number): number {
  let index = 0;
  for (let i = 0; i < starts.length; i++) if (starts[i] <= at) index = i;
  return index;
}

void describe('frames (property)', () => {
  void it('decode(split(encode(bodies))) equals bodies for any split', () => {
    fc.assert(
      fc.property(bodiesArb, fc.array(fc.nat(), { maxLength: 40 }), (bodies, points) => {
        const encoder = new FrameEncoder(3000);
        for (const body of bodies) encoder.frame(body);
        const wire = encoder.take();
        // Each chunk gets its own buffer, as a transport delivers them; views must stay valid.
        const chunks = split(wire, points).map((chunk) => chunk.slice());
        const frames: Uint8Array[] = [];
        const decoder = new FrameDecoder(3000, (body) => frames.push(body));
        for (const chunk of chunks) assert.equal(decoder.push(chunk), undefined);
        assert.equal(decoder.end(), undefined);
        assert.equal(decoder.bufferedBytes, 0);
        assert.deepEqual(frames, bodies);
        // Zero-copy: a body inside one chunk is a view of that chunk; a straddling one is a copy
        // of exactly its length.
        const starts = chunkStarts(chunks);
        let at = 0;
        bodies.forEach((body, k) => {
          at += varintBytes(body.length);
          const first = chunkIndexOf(starts, at);
          const last = chunkIndexOf(starts, at + body.length - 1);
          if (body.length > 0 && first === last) {
            assert.equal(frames[k].buffer, chunks[first].buffer, `frame ${k} is a view`);
          } else if (body.length > 0) {
            assert.equal(frames[k].buffer.byteLength, body.length, `frame ${k} is an exact copy`);
          }
          at += body.length;
        });
      }),
      { seed: SEED, numRuns: 200 }
    );
  });

  void it('never throws on random bytes: frames or ERR_PROTOCOL / ERR_FRAME_TOO_LARGE', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200, size: 'max' }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 0, max: 300 }),
        (bytes, points, maxFrameBytes) => {
          let delivered = 0;
          const decoder = new FrameDecoder(maxFrameBytes, (body) => {
            assert.ok(body.length <= maxFrameBytes);
            delivered++;
          });
          let error: RingbusError | undefined;
          for (const chunk of split(bytes, points)) {
            const result = decoder.push(chunk);
            if (error) assert.equal(result, error, 'terminal: the same error');
            error ??= result;
          }
          error ??= decoder.end();
          if (error === undefined) return;
          assert.ok(error instanceof RingbusError);
          assert.ok(['ERR_PROTOCOL', 'ERR_FRAME_TOO_LARGE'].includes(error.code), error.code);
          assert.equal(decoder.error, error);
          assert.ok(delivered >= 0);
        }
      ),
      { seed: SEED, numRuns: 1000 }
    );
  });
});
