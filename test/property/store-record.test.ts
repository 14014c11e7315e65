import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { RingbusError } from '../../src/errors.js';
import { PayloadKind } from '../../src/frames/frame-type.js';
import {
  type PayloadKindValue,
  RecordType,
  type StoreRecord,
  decodeRecord,
  encodeRecord
} from '../../adapters/store/record.js';
import { segmentHeader } from '../../adapters/store/segment.js';
import { scanSegmentBytes } from '../../adapters/store/scan.js';

/** Record round trips and corruption properties of the store's log format. Fixed seed. */
const SEED = 7;

const uint53 = fc.oneof(fc.nat({ max: 0x7f }), fc.nat({ max: 0xffff_ffff }), fc.maxSafeNat());
const text = fc.string({ unit: 'grapheme', size: 'max', maxLength: 300 });

const messageArb: fc.Arbitrary<StoreRecord> = fc
  .record({
    channel: text,
    id: uint53,
    attempt: uint53,
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

const channelArb: fc.Arbitrary<StoreRecord> = fc.record({
  type: fc.constantFrom(RecordType.CHANNEL_CREATED, RecordType.CHANNEL_DELETED),
  channel: text
});

const recordArb = fc.oneof(messageArb, settleArb, channelArb);
const recordsArb = fc.array(recordArb, { minLength: 1, maxLength: 12 });

function segmentOf(records: readonly StoreRecord[]): { bytes: Uint8Array; offsets: number[] } {
  const parts = [segmentHeader(), ...records.map(encodeRecord)];
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    offsets.push(at);
    at += p.length;
  }
  offsets.shift();
  offsets.push(at); // offsets[i]: start of record i; offsets[n]: end of the file
  const bytes = new Uint8Array(at);
  let pos = 0;
  for (const p of parts) {
    bytes.set(p, pos);
    pos += p.length;
  }
  return { bytes, offsets };
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
        const { bytes } = segmentOf(records);
        const scan = scanSegmentBytes(bytes);
        assert.equal(scan.problem, undefined);
        assert.equal(scan.validBytes, bytes.length);
        assert.deepEqual(scan.records.map(plain), records.map(plain));
      }),
      { seed: SEED, numRuns: 100 }
    );
  });

  it('a truncated segment gives the whole records before the cut and a torn tail', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(), (records, cutSeed) => {
        const { bytes, offsets } = segmentOf(records);
        const cut = 16 + (cutSeed % (bytes.length - 16)); // strictly inside the records
        const whole = offsets.filter((end, i) => i > 0 && end <= cut).length;
        const scan = scanSegmentBytes(bytes.subarray(0, cut));
        assert.deepEqual(scan.records.map(plain), records.slice(0, whole).map(plain));
        assert.equal(scan.validBytes, offsets[whole]);
        if (cut === offsets[whole]) assert.equal(scan.problem, undefined);
        else assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: offsets[whole] });
      }),
      { seed: SEED, numRuns: 200 }
    );
  });

  it('any flipped bit after the header yields only correct records, then a problem', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(), fc.nat({ max: 7 }), (records, at, bit) => {
        const { bytes, offsets } = segmentOf(records);
        const pos = 16 + (at % (bytes.length - 16));
        const damaged = bytes.slice();
        damaged[pos] ^= 1 << bit;
        const hit = offsets.findIndex((start, i) => start <= pos && pos < offsets[i + 1]);
        const scan = scanSegmentBytes(damaged);
        // Every record before the damaged one, never a wrong one, never anything after it.
        assert.deepEqual(scan.records.map(plain), records.slice(0, hit).map(plain));
        assert.equal(scan.validBytes, offsets[hit]);
        assert.ok(scan.problem !== undefined);
        assert.ok(scan.problem.kind === 'corrupt' || scan.problem.kind === 'torn-tail');
        assert.equal(scan.problem.offset, offsets[hit]);
        // Only a damaged length can read as a torn tail (it points past the end of the file).
        if (scan.problem.kind === 'torn-tail') assert.ok(pos < offsets[hit] + 4);
      }),
      { seed: SEED, numRuns: 300 }
    );
  });

  it('arbitrary bytes after a valid header never make the scanner throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ size: 'max', maxLength: 2000 }), (tail) => {
        const bytes = new Uint8Array(16 + tail.length);
        bytes.set(segmentHeader());
        bytes.set(tail, 16);
        const scan = scanSegmentBytes(bytes);
        assert.ok(scan.validBytes >= 16 && scan.validBytes <= bytes.length);
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

/** A record with a valid length and CRC around arbitrary type + body bytes. */
function recordWithBody(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, true);
  view.setUint32(4, crc32(body), true);
  out.set(body, 8);
  return out;
}
