/**
 * Varint unit tests, and the test vectors of docs/protocol.md §1.5: every row of the table is
 * checked here, so the spec and the code cannot drift (STYLE.md 2.8).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RingbusError } from '../../../src/errors.js';
import { FrameDecoder } from '../../../src/frames/frame-decoder.js';
import {
  MAX_VARINT_BYTES,
  MAX_VARINT_VALUE,
  VarintError,
  encodeVarint,
  varintByteError,
  varintByteValue,
  varintLength
} from '../../../src/frames/varint.js';
import { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES } from '../../../src/limits.js';

/** Compiled to build/test/unit/frames/: the repo root is four levels up. */
const PROTOCOL_DOC = new URL('../../../../docs/protocol.md', import.meta.url);

interface Vector {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly expect: string;
}

/** Parses `xx xx yy*n …` (docs/protocol.md §1.5) into bytes. */
function parseHex(text: string): Uint8Array {
  const out: number[] = [];
  for (const token of text.trim().split(/\s+/)) {
    if (token === '') continue;
    const match = /^([0-9a-f]{2})(?:\*(\d+))?$/.exec(token);
    assert.ok(match, `bad hex token ${JSON.stringify(token)}`);
    const count = match[2] === undefined ? 1 : Number(match[2]);
    for (let i = 0; i < count; i++) out.push(parseInt(match[1], 16));
  }
  return Uint8Array.from(out);
}

/** Parses the bodies of a `frames …` expectation: `"text"` or `xx*n`, space-separated. */
function parseBodies(text: string): Uint8Array[] {
  const bodies: Uint8Array[] = [];
  for (const match of text.matchAll(/"([^"]*)"|([0-9a-f]{2}\*\d+)/g)) {
    bodies.push(match[1] !== undefined ? new TextEncoder().encode(match[1]) : parseHex(match[2]));
  }
  return bodies;
}

function cell(text: string): string {
  return text.trim().replace(/^`|`$/g, '');
}

/** The rows of the `name | hex | expect` table. */
function loadVectors(): Vector[] {
  const vectors: Vector[] = [];
  let inTable = false;
  for (const line of readFileSync(PROTOCOL_DOC, 'utf8').split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line.split('|').slice(1, -1).map(cell);
    if (cells[0] === 'name' && cells[1] === 'hex' && cells[2] === 'expect') {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(cells[0])) continue;
    vectors.push({ name: cells[0], bytes: parseHex(cells[1]), expect: cells[2] });
  }
  return vectors;
}

interface Outcome {
  readonly frames: Uint8Array[];
  readonly error: RingbusError | undefined;
}

/** Pushes `chunks` (stopping at the first error), then ends the stream. Copies each body. */
function decode(chunks: readonly Uint8Array[], maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Outcome {
  const frames: Uint8Array[] = [];
  const decoder = new FrameDecoder(maxFrameBytes, (body) => frames.push(body.slice()));
  let error: RingbusError | undefined;
  for (const chunk of chunks) {
    error = decoder.push(chunk);
    if (error) break;
  }
  error ??= decoder.end();
  assert.equal(decoder.error, error, 'decoder.error is the reported error');
  return { frames, error };
}

/** Every chunking the spec requires: whole, byte by byte, and split at every position. */
function* chunkings(bytes: Uint8Array): Generator<[string, Uint8Array[]]> {
  yield ['whole', [bytes]];
  yield ['byte by byte', Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))];
  for (let at = 0; at <= bytes.length; at++) {
    yield [`split at ${at}`, [bytes.subarray(0, at), bytes.subarray(at)]];
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

void describe('varint', () => {
  void it('uses 1 to 5 bytes at the group boundaries', () => {
    const cases: [number, number][] = [
      [0, 1],
      [127, 1],
      [128, 2],
      [16383, 2],
      [16384, 3],
      [2 ** 21 - 1, 3],
      [2 ** 21, 4],
      [2 ** 28 - 1, 4],
      [2 ** 28, 5],
      [2 ** 31, 5],
      [MAX_VARINT_VALUE, 5]
    ];
    for (const [value, bytes] of cases) assert.equal(varintLength(value), bytes, `${value}`);
    assert.equal(MAX_VARINT_BYTES, 5);
  });

  void it('writes at the given offset and returns the bytes written', () => {
    const into = new Uint8Array(8).fill(0xee);
    assert.equal(encodeVarint(300, into, 3), 2);
    assert.equal(hex(into), 'ee ee ee ac 02 ee ee ee');
  });

  void it('encodes values at and above 2^31 without sign trouble', () => {
    const into = new Uint8Array(5);
    encodeVarint(2 ** 31, into, 0);
    assert.equal(hex(into), '80 80 80 80 08');
    encodeVarint(2 ** 32 - 2, into, 0);
    assert.equal(hex(into), 'fe ff ff ff 0f');
  });

  void it('throws RangeError for values outside [0, 2^32 - 1] or non-integers', () => {
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN, Infinity, -0.5]) {
      assert.throws(() => encodeVarint(bad, new Uint8Array(8), 0), RangeError, `${bad}`);
      assert.throws(() => varintLength(bad), /integer in \[0, 4294967295\]/, `${bad}`);
    }
  });

  void it('throws RangeError when the destination is too short', () => {
    assert.throws(() => encodeVarint(300, new Uint8Array(2), 1), /needs 2 bytes at offset 1/);
  });

  void it('classifies bad bytes: 6-byte, above 2^32 - 1, overlong', () => {
    assert.equal(varintByteError(0x80, 4), VarintError.TOO_LONG);
    assert.equal(varintByteError(0x10, 4), VarintError.TOO_LARGE);
    assert.equal(varintByteError(0x0f, 4), VarintError.NONE);
    assert.equal(varintByteError(0x00, 1), VarintError.OVERLONG);
    assert.equal(varintByteError(0x00, 4), VarintError.OVERLONG);
    assert.equal(varintByteError(0x00, 0), VarintError.NONE);
    assert.equal(varintByteValue(0x8f, 4), 0x0f * 2 ** 28);
  });

  void it('round-trips every value near each group boundary through the byte helpers', () => {
    const into = new Uint8Array(5);
    for (let k = 0; k <= 32; k++) {
      for (const value of [2 ** k - 1, 2 ** k, 2 ** k + 1]) {
        if (value > MAX_VARINT_VALUE) continue;
        const bytes = encodeVarint(value, into, 0);
        let sum = 0;
        for (let i = 0; i < bytes; i++) {
          assert.equal(varintByteError(into[i], i), VarintError.NONE);
          assert.equal((into[i] & 0x80) !== 0, i < bytes - 1, 'continuation bit');
          sum += varintByteValue(into[i], i);
        }
        assert.equal(sum, value);
      }
    }
  });
});

void describe('docs/protocol.md test vectors', () => {
  const vectors = loadVectors();

  void it('has the table, with every expected kind of row', () => {
    assert.ok(vectors.length >= 20, `only ${vectors.length} rows parsed`);
    for (const kind of ['value ', 'frames ', 'ERR_PROTOCOL ', 'ERR_FRAME_TOO_LARGE ']) {
      assert.ok(
        vectors.some((v) => v.expect.startsWith(kind)),
        `no row expecting ${kind}`
      );
    }
  });

  for (const vector of vectors) {
    const [kind, rest] = [
      vector.expect.slice(0, vector.expect.indexOf(' ')),
      vector.expect.slice(vector.expect.indexOf(' ') + 1)
    ];

    if (kind === 'value') {
      const value = Number(rest);
      void it(`${vector.name}: encodes as ${hex(vector.bytes)} and decodes back`, () => {
        const into = new Uint8Array(MAX_VARINT_BYTES);
        assert.equal(varintLength(value), vector.bytes.length);
        assert.equal(hex(into.subarray(0, encodeVarint(value, into, 0))), hex(vector.bytes));
        // Decode through FrameDecoder: a limit one below the value makes it report the exact
        // decoded length as soon as the prefix completes, without needing the body.
        for (const [how, chunks] of chunkings(vector.bytes)) {
          if (value === 0) {
            assert.deepEqual(decode(chunks).frames, [new Uint8Array(0)], how);
            continue;
          }
          const { error } = decode(chunks, Math.min(value - 1, MAX_FRAME_BYTES));
          assert.equal(error?.code, 'ERR_FRAME_TOO_LARGE', how);
          assert.match(error.message, new RegExp(`frame length ${value} exceeds`), how);
        }
      });
    } else if (kind === 'frames') {
      const bodies = parseBodies(rest);
      void it(`${vector.name}: decodes to ${bodies.length} frame(s) under every chunking`, () => {
        for (const [how, chunks] of chunkings(vector.bytes)) {
          const outcome = decode(chunks);
          assert.equal(outcome.error, undefined, `${how}: ${String(outcome.error)}`);
          assert.deepEqual(outcome.frames, bodies, how);
        }
        // And the encoder produces exactly these bytes.
        const encoded = bodies.map((body) => hex(encodeFrameBytes(body))).join(' ');
        assert.equal(encoded, hex(vector.bytes));
      });
    } else {
      const fragment = /^"(.*)"$/.exec(rest)?.[1] ?? assert.fail(`bad expect ${vector.expect}`);
      void it(`${vector.name}: rejects with ${kind} under every chunking`, () => {
        for (const [how, chunks] of chunkings(vector.bytes)) {
          const frames: Uint8Array[] = [];
          const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, (b) => frames.push(b));
          let error: RingbusError | undefined;
          for (const chunk of chunks) error ??= decoder.push(chunk);
          error ??= decoder.end();
          assert.ok(error instanceof RingbusError, `${how}: expected an error`);
          assert.equal(error.code, kind, how);
          assert.ok(error.message.includes(fragment), `${how}: ${error.message}`);
          assert.equal(decoder.error, error, how);
          // Terminal: a later valid frame is ignored and the same error comes back.
          const delivered = frames.length;
          assert.equal(decoder.push(Uint8Array.of(1, 0x61)), error, how);
          assert.equal(decoder.end(), error, how);
          assert.equal(frames.length, delivered, `${how}: no frame after the error`);
        }
      });
    }
  }
});

/** The varint length then the body, built with encodeVarint (the encoder has its own tests). */
function encodeFrameBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintLength(body.length) + body.length);
  out.set(body, encodeVarint(body.length, out, 0));
  return out;
}
