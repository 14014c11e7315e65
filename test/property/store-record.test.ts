import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { RingbusError } from '../../src/errors.js';
import { PayloadKind } from '../../src/frames/frame-type.js';
import {
  type PayloadKindValue,
  RECORD_PREFIX_BYTES,
  RecordType,
  type StoreRecord,
  decodeRecord,
  encodeRecord
} from '../../adapters/store/record.js';
import { scanSegmentBytes } from '../../adapters/store/scan.js';
import { SEGMENT_HEADER_BYTES, segmentHeader } from '../../adapters/store/segment.js';
import { segmentImage } from '../helpers/store.js';

/** Record round trips and corruption properties of the store's log format. Fixed seed. */
const SEED = 7;

// `size: 'max'` where large values matter: multi-byte LEB128 lengths and integers, long payloads.
const uint53 = fc.oneof(fc.nat({ max: 0x7f }), fc.nat({ max: 0xffff_ffff }), fc.maxSafeNat());
const text = fc.string({ unit: 'grapheme', size: 'max', maxLength: 300 });

const messageArb: fc.Arbitrary<StoreRecord> = fc
  .record({
    channel: text,
    id: uint53,
    attempt: uint53,
    publishedAt: uint53,
    expiresAt: uint53,
    topic: text,
    headers: fc.dictionary(text, text, { size: 'max', maxKeys: 20 }),
    payloadKind: fc.constantFrom<PayloadKindValue>(
      PayloadKind.BYTES,
      PayloadKind.STRING,
      PayloadKind.JSON,
      PayloadKind.CODEC,
      PayloadKind.UNDEFINED
    ),
    payload: fc.uint8Array({ size: 'max', maxLength: 5000 })
  })
  .map((m) => ({
    type: RecordType.MESSAGE,
    ...m,
    headers: { ...m.headers },
    payload: m.payloadKind === PayloadKind.UNDEFINED ? new Uint8Array(0) : m.payload
  }));

const settleArb: fc.Arbitrary<StoreRecord> = fc.record({
  type: fc.constantFrom(RecordType.ACK, RecordType.NACK),
  channel: text,
  id: uint53
});

const channelCreatedArb: fc.Arbitrary<StoreRecord> = fc.record({
  type: fc.constant(RecordType.CHANNEL_CREATED),
  channel: text,
  settings: fc.oneof(fc.json({ maxDepth: 3 }), text)
});

const channelDeletedArb: fc.Arbitrary<StoreRecord> = fc.record({
  type: fc.constant(RecordType.CHANNEL_DELETED),
  channel: text
});

const recordArb = fc.oneof(messageArb, settleArb, channelCreatedArb, channelDeletedArb);
const recordsArb = fc.array(recordArb, { minLength: 1, maxLength: 12 });

/** The record whose bytes include `pos`. */
function recordAt(starts: readonly number[], pos: number): number {
  return starts.findIndex((start, i) => start <= pos && pos < starts[i + 1]);
}

function plain(record: StoreRecord): unknown {
  // fast-check builds null-prototype objects; compare plain copies.
  return record.type === RecordType.MESSAGE
    ? { ...record, headers: { ...record.headers }, payload: [...record.payload] }
    : { ...record };
}

describe('store record format (property)', () => {
  it('round-trips every record type through encodeRecord / decodeRecord', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        assert.deepEqual(plain(decodeRecord(encodeRecord(record))), plain(record));
      }),
      { seed: SEED, numRuns: 300 }
    );
  });

  it('round-trips a whole segment through scanSegmentBytes', () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        const { bytes } = segmentImage(records);
        const scan = scanSegmentBytes(bytes);
        assert.equal(scan.problem, undefined);
        assert.equal(scan.validBytes, bytes.length);
        assert.deepEqual(scan.records.map(plain), records.map(plain));
      }),
      { seed: SEED, numRuns: 100 }
    );
  });

  it('a flipped bit anywhere in a record is never decoded as a valid record', () => {
    fc.assert(
      fc.property(recordArb, fc.nat(), fc.nat({ max: 7 }), (record, at, bit) => {
        const damaged = encodeRecord(record);
        damaged[at % damaged.length] ^= 1 << bit;
        assert.throws(
          () => decodeRecord(damaged),
          (err: unknown) => err instanceof RingbusError && err.code === 'ERR_PROTOCOL'
        );
      }),
      { seed: SEED, numRuns: 500 }
    );
  });

  it('a truncated segment gives the whole records before the cut and a torn tail', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(), (records, cutSeed) => {
        const { bytes, starts } = segmentImage(records);
        const cut = SEGMENT_HEADER_BYTES + (cutSeed % (bytes.length - SEGMENT_HEADER_BYTES));
        const whole = starts.filter((end, i) => i > 0 && end <= cut).length;
        const scan = scanSegmentBytes(bytes.subarray(0, cut));
        assert.deepEqual(scan.records.map(plain), records.slice(0, whole).map(plain));
        assert.equal(scan.validBytes, starts[whole]);
        if (cut === starts[whole]) assert.equal(scan.problem, undefined);
        else assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: starts[whole] });
      }),
      { seed: SEED, numRuns: 200 }
    );
  });

  it('a flipped bit after the header: the records before it, then corrupt at its record', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(), fc.nat({ max: 7 }), (records, at, bit) => {
        const { bytes, starts } = segmentImage(records);
        const pos = SEGMENT_HEADER_BYTES + (at % (bytes.length - SEGMENT_HEADER_BYTES));
        const damaged = bytes.slice();
        damaged[pos] ^= 1 << bit;
        const hit = recordAt(starts, pos);
        const scan = scanSegmentBytes(damaged);
        // Every record before the damaged one, never a wrong one, never anything after it.
        assert.deepEqual(scan.records.map(plain), records.slice(0, hit).map(plain));
        assert.equal(scan.validBytes, starts[hit]);
        assert.equal(scan.problem?.kind, 'corrupt');
        assert.equal(scan.problem.offset, starts[hit]);
      }),
      { seed: SEED, numRuns: 300 }
    );
  });

  it('a flipped bit in a length is corrupt, never a torn tail, even in the last record', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(), fc.nat({ max: 31 }), (records, which, bit) => {
        const { bytes, starts } = segmentImage(records);
        const target = which % records.length;
        const damaged = bytes.slice();
        damaged[starts[target] + (bit >> 3)] ^= 1 << (bit & 7);
        const scan = scanSegmentBytes(damaged);
        assert.deepEqual(scan.problem, {
          kind: 'corrupt',
          offset: starts[target],
          reason: 'record length and its complement disagree'
        });
        assert.deepEqual(scan.records.map(plain), records.slice(0, target).map(plain));
      }),
      { seed: SEED, numRuns: 300 }
    );
  });

  it('arbitrary bytes after a valid header never make the scanner throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ size: 'max', maxLength: 2000 }), (tail) => {
        const bytes = new Uint8Array(SEGMENT_HEADER_BYTES + tail.length);
        bytes.set(segmentHeader());
        bytes.set(tail, SEGMENT_HEADER_BYTES);
        const scan = scanSegmentBytes(bytes);
        assert.ok(scan.validBytes >= SEGMENT_HEADER_BYTES && scan.validBytes <= bytes.length);
        assert.equal(scan.validBytes === bytes.length, scan.problem === undefined);
      }),
      { seed: SEED, numRuns: 300 }
    );
  });

  it('arbitrary record bodies decode or throw ERR_PROTOCOL, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ size: 'max', maxLength: 200 }), (body) => {
        try {
          decodeRecord(recordWithBody(body));
        } catch (err) {
          assert.ok(err instanceof RingbusError);
          assert.equal(err.code, 'ERR_PROTOCOL');
        }
      }),
      { seed: SEED, numRuns: 500 }
    );
  });
});

/** A record with a valid length, complement and CRC around arbitrary type + body bytes. */
function recordWithBody(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_PREFIX_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, true);
  view.setUint32(4, ~body.length >>> 0, true);
  view.setUint32(8, crc32(body), true);
  out.set(body, RECORD_PREFIX_BYTES);
  return out;
}
