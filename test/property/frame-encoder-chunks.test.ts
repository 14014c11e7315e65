/**
 * FrameEncoder's zero-copy output, against a model (the concatenation of what was appended): own
 * frames, frames shared from another encoder, and takes in any order, across buffer renewals.
 * Every chunk handed out must keep its bytes while the encoder goes on writing, since a transport
 * may still hold it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameEncoder } from '../../src/frames/frame-encoder.js';
import { encodeVarint, varintLength } from '../../src/frames/varint.js';

type Op =
  | { kind: 'own'; body: Uint8Array; inPlace: boolean; estimate: number }
  | { kind: 'share'; body: Uint8Array }
  | { kind: 'take' };

const body = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 100 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40_000, size: 'max' }) }
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('own' as const),
      body,
      inPlace: fc.boolean(),
      estimate: fc.integer({ min: 0, max: 300 })
    })
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('share' as const), body }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('take' as const) }) }
);

function framed(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintLength(b.length) + b.length);
  out.set(b, encodeVarint(b.length, out, 0));
  return out;
}

function concat(parts: Uint8Array[]): number[] {
  return parts.flatMap((p) => Array.from(p));
}

void describe('FrameEncoder chunks (model)', () => {
  void it('hands out exactly the frames appended, in order, and never rewrites a chunk it handed out', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        // The frames to share are written by another encoder, as a fan-out's first link does.
        const source = new FrameEncoder(1 << 20);
        const enc = new FrameEncoder(1 << 20);
        const expected: Uint8Array[] = [];
        const handedOut: { chunk: Uint8Array; copy: number[] }[] = [];
        const taken: Uint8Array[] = [];
        const take = (): void => {
          for (const chunk of enc.takeChunks()) {
            taken.push(chunk);
            handedOut.push({ chunk, copy: Array.from(chunk) });
          }
        };
        for (const o of ops) {
          if (o.kind === 'take') take();
          else if (o.kind === 'share') {
            source.begin(o.body.length);
            source.bytes(o.body);
            source.end();
            enc.share(source.target, source.frameStart, source.position);
            expected.push(framed(o.body));
          } else {
            if (o.inPlace) {
              enc.begin(o.estimate);
              enc.bytes(o.body);
              enc.end();
            } else enc.frame(o.body);
            expected.push(framed(o.body));
          }
        }
        assert.equal(enc.size, concat(expected).length - concat(taken).length);
        take();
        assert.equal(enc.size, 0);
        assert.deepEqual(concat(taken), concat(expected));
        for (const { chunk, copy } of handedOut) assert.deepEqual(Array.from(chunk), copy);
      }),
      { numRuns: 100 }
    );
  });

  void it('continues a run of shared frames without a new chunk, and copies past 16 cuts', () => {
    const source = new FrameEncoder();
    const enc = new FrameEncoder();
    const share = (b: number): void => {
      source.begin(1);
      source.u8(b);
      source.end();
      enc.share(source.target, source.frameStart, source.position);
    };
    share(1);
    share(2);
    assert.deepEqual(
      enc.takeChunks().map((c) => Array.from(c)),
      [[1, 1, 1, 2]],
      'two contiguous shared frames are one chunk of the source'
    );
    // Own and shared frames alternating: each switch cuts a chunk, up to 16, then shares copy.
    for (let i = 0; i < 20; i++) {
      enc.frame(Uint8Array.of(0xa0 + i));
      share(i);
    }
    const chunks = enc.takeChunks();
    assert.ok(chunks.length <= 18, `${chunks.length} chunks`);
    assert.equal(concat(chunks).length, 80);
  });
});
