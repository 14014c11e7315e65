import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { SubjectCache } from '../../src/frames/subject-cache.js';

/**
 * The subject cache (src/frames/subject-cache.ts) against a strict TextDecoder: whatever bytes it
 * is handed, in whatever order, it returns what a fresh decode returns, or ERR_PROTOCOL where
 * that decode fails. Fixed seed.
 */
const SEED = 23;
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

function reference(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

// A few short subjects that repeat (the cache's common case), ASCII and not, lengths around the
// last-subject buffer and the 64-byte direct-decode limit, and raw bytes that need not be UTF-8.
const subject = fc.oneof(
  fc.constantFrom('a.b', 'a.c', 'b.a', 'ü.x', 'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(128)),
  fc.string({ unit: 'grapheme', size: 'max', maxLength: 140 })
);
const bytes = fc.oneof(
  subject.map((s) => utf8.encode(s)),
  fc.uint8Array({ size: 'max', maxLength: 140 }),
  fc.constantFrom(new Uint8Array([0xc3]), new Uint8Array([0x61, 0xff]), new Uint8Array(129))
);

describe('SubjectCache', () => {
  it('reads every byte sequence as a strict decode does, repeated or not, at any offset', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes, fc.nat(4), fc.nat(4)), { maxLength: 60 }), (reads) => {
        const cache = new SubjectCache();
        for (const [b, before, after] of reads) {
          const chunk = new Uint8Array(before + b.length + after).fill(0x2e);
          chunk.set(b, before);
          const want = reference(b);
          let got: string | undefined;
          try {
            got = cache.read(chunk, before, before + b.length);
          } catch (err) {
            assert.ok(err instanceof RingbusError, String(err));
            assert.equal(err.code, ErrorCode.PROTOCOL);
            got = undefined;
          }
          assert.equal(got, want);
        }
      }),
      { seed: SEED, numRuns: 400 }
    );
  });

  it('tells a subject whose last byte changed from a repeat of the last one', () => {
    const cache = new SubjectCache();
    const first = cache.read(utf8.encode('game.tick'), 0, 9);
    const b = utf8.encode('game.tick');
    assert.equal(cache.read(b, 0, 9), first);
    b[8] = 0x6c; // 'game.ticl'
    assert.equal(cache.read(b, 0, 9), 'game.ticl');
    assert.equal(cache.read(utf8.encode('game.tick'), 0, 9), 'game.tick');
  });
});
