/**
 * BodyReader: the field decoding of docs/protocol.md §2.1 (u8, uint, str, rest), bounds checks
 * against the range given to `reset`, strict UTF-8, and the subject cache. Every malformed field
 * is ERR_PROTOCOL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingbusError } from '../../../src/errors.js';
import { BodyReader } from '../../../src/frames/body-reader.js';

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function reader(body: Uint8Array, start?: number, end?: number): BodyReader {
  const r = new BodyReader();
  r.reset(body, start, end);
  return r;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

function throwsProtocol(fn: () => unknown, fragment: string, what = fragment): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RingbusError, `${what}: ${String(err)}`);
    assert.equal(err.code, 'ERR_PROTOCOL', what);
    assert.ok(err.message.includes(fragment), `${what}: ${err.message}`);
    return true;
  });
}

const utf8 = new TextEncoder();

/** A str field: the uint length (< 2^14 here), then the bytes. */
function strField(raw: Uint8Array): Uint8Array {
  const n = raw.length;
  const prefix = n < 0x80 ? [n] : [(n & 0x7f) | 0x80, n >> 7];
  return Uint8Array.from([...prefix, ...raw]);
}

/** Malformed UTF-8 sequences (RFC 3629), each rejected by a strict decoder. */
const BAD_UTF8: [string, number[]][] = [
  ['a lone continuation byte', [0x80]],
  ['a truncated sequence', [0xe2, 0x82]],
  ['a bad continuation', [0xc3, 0x28]],
  ['an overlong NUL', [0xc0, 0x80]],
  ['an overlong slash', [0xe0, 0x80, 0xaf]],
  ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
  ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['the byte ff', [0xff]]
];

void describe('BodyReader', () => {
  void it('reads u8 fields and reports the end of the body', () => {
    const r = reader(bytes(1, 0xff));
    assert.equal(r.u8(), 1);
    assert.equal(r.u8(), 0xff);
    assert.equal(r.remaining, 0);
    throwsProtocol(() => r.u8(), 'frame body ends inside a byte');
  });

  void it('reads uint fields of 1 to 8 bytes, up to 2^53 − 1', () => {
    const cases: [number[], number][] = [
      [[0x00], 0],
      [[0x7f], 127],
      [[0x80, 0x01], 128],
      [[0xac, 0x02], 300],
      [[0xff, 0xff, 0xff, 0xff, 0x0f], 2 ** 32 - 1],
      [[0x80, 0x80, 0x80, 0x80, 0x10], 2 ** 32],
      [[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 2 ** 49],
      [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], Number.MAX_SAFE_INTEGER]
    ];
    for (const [encoded, value] of cases) {
      const r = reader(Uint8Array.from([...encoded, 0xee]));
      assert.equal(r.uint(), value, `${value}`);
      assert.equal(r.pos, encoded.length, 'stops after the last byte');
    }
  });

  void it('rejects overlong, oversized and over-long uint encodings', () => {
    const cases: [string, number[], string][] = [
      ['80 00', [0x80, 0x00], 'overlong integer encoding'],
      ['ff 00', [0xff, 0x00], 'overlong integer encoding'],
      ['8-byte overlong', [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 'overlong'],
      ['2^53', [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], 'integer above 2^53 - 1'],
      ['2^56 − 1', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 'integer above 2^53 - 1'],
      ['9 bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 'longer than 8 bytes'],
      ['truncated', [0x80], 'frame body ends inside an integer'],
      ['empty', [], 'frame body ends inside an integer']
    ];
    for (const [name, encoded, fragment] of cases) {
      throwsProtocol(() => reader(Uint8Array.from(encoded)).uint(), fragment, name);
    }
  });

  void it('reads only the range given to reset, whatever lies around it', () => {
    const chunk = bytes(0x99, 0x99, 0x03, 0x80, 0x01, 0x99);
    const r = reader(chunk, 2, 5);
    assert.equal(r.remaining, 3);
    assert.equal(r.u8(), 3);
    assert.equal(r.uint(), 128);
    throwsProtocol(() => r.u8(), 'ends inside a byte');
    // A uint cut by the end of the range is truncated, although the array goes on.
    throwsProtocol(() => reader(chunk, 3, 4).uint(), 'frame body ends inside an integer');
    assert.equal(hex(reader(chunk, 1, 3).rest()), '99 03');
  });

  void it('reads str fields as UTF-8 of the stated byte length', () => {
    for (const value of [
      '',
      'a.b',
      'café',
      '€😀',
      'x'.repeat(64),
      'é'.repeat(40),
      'y'.repeat(300)
    ]) {
      const r = reader(Uint8Array.from([...strField(utf8.encode(value)), 0xee]));
      assert.equal(r.str(), value);
      assert.equal(r.u8(), 0xee);
    }
  });

  void it('rejects a str longer than the body', () => {
    throwsProtocol(() => reader(bytes(0x05, 0x61, 0x62)).str(), 'frame body ends inside a string');
    throwsProtocol(() => reader(bytes(0x05, 0x61, 0x62)).subject(), 'ends inside a string');
  });

  void it('rejects invalid UTF-8 in str, subject and restString, short or long', () => {
    for (const [name, seq] of BAD_UTF8) {
      // Short strings take a hand-written ASCII path, long ones TextDecoder: both must reject.
      for (const raw of [seq, [...Array<number>(70).fill(0x61), ...seq]]) {
        const field = strField(Uint8Array.from(raw));
        const what = `${name} (${raw.length} bytes)`;
        throwsProtocol(() => reader(field).str(), 'not valid UTF-8', what);
        throwsProtocol(() => reader(field).subject(), 'not valid UTF-8', what);
        throwsProtocol(() => reader(Uint8Array.from(raw)).restString(), 'not valid UTF-8', what);
      }
    }
  });

  void it('keeps a leading U+FEFF: it is a character, not a byte order mark', () => {
    const field = strField(bytes(0xef, 0xbb, 0xbf, 0x61));
    assert.equal(reader(field).str(), '\uFEFFa');
    assert.equal(reader(field).subject(), '\uFEFFa');
    assert.equal(reader(bytes(0xef, 0xbb, 0xbf, 0x62)).restString(), '\uFEFFb');
  });

  void it('returns bytes and rest as views of the body, restCopy as a copy', () => {
    const body = bytes(1, 2, 3, 4, 5);
    const r = reader(body);
    const two = r.bytes(2);
    assert.equal(two.buffer, body.buffer);
    assert.equal(hex(two), '01 02');
    const rest = r.rest();
    assert.equal(rest.buffer, body.buffer);
    assert.equal(hex(rest), '03 04 05');
    assert.equal(r.remaining, 0);
    throwsProtocol(() => reader(body).bytes(6), 'frame body ends inside bytes');

    const c = reader(body, 1, 4);
    const copy = c.restCopy();
    assert.equal(c.remaining, 0);
    body.fill(0);
    assert.equal(hex(copy), '02 03 04', 'the copy outlives changes to the chunk');
  });

  void it('returns an empty rest at the end of the body', () => {
    const r = reader(bytes(1));
    r.u8();
    assert.equal(r.rest().length, 0);
    assert.equal(r.restCopy().length, 0);
    assert.equal(r.restString(), '');
  });

  void it('done passes at the end and names trailing bytes', () => {
    const r = reader(bytes(4, 1, 0, 0));
    r.u8();
    r.uint();
    throwsProtocol(() => r.done('PING'), '2 trailing bytes after PING');
    r.rest();
    r.done('PING');
  });

  void it('reads subjects correctly through cache hits and slot collisions', () => {
    // Far more distinct subjects than cache slots, many of equal length, read in three rounds (the
    // second backwards), so slots are overwritten and lookups hit, miss and collide.
    const subjects: string[] = [];
    for (let i = 0; i < 700; i++) subjects.push(`t${i.toString(36)}.x`);
    for (let i = 0; i < 50; i++) subjects.push(`é${i}`, `e${i}`, 'z'.repeat(i + 60));
    subjects.push('a'.repeat(128), 'a'.repeat(129), 'b'.repeat(1000));
    const fields = subjects.map((s) => strField(utf8.encode(s)));
    const r = new BodyReader();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < fields.length; i++) {
        const at = round === 1 ? fields.length - 1 - i : i;
        r.reset(fields[at]);
        assert.equal(r.subject(), subjects[at]);
        r.done('the subject');
      }
    }
  });
});
