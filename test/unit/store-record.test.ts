import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { RingbusError } from '../../src/errors.js';
import { PayloadKind } from '../../src/frames/frame-type.js';
import {
  MAX_RECORD_BYTES,
  RecordType,
  decodeRecord,
  decodeRecordBody,
  encodeRecord
} from '../../adapters/store/record.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function isCode(code: string) {
  return (err: unknown): boolean => err instanceof RingbusError && err.code === code;
}

describe('store record', () => {
  it('lays out an ACK as length, CRC32, type, channel, id (byte vector)', () => {
    const bytes = encodeRecord({ type: RecordType.ACK, channel: 'jobs', id: 300 });
    const payload = Uint8Array.from([0x02, 0x04, 0x6a, 0x6f, 0x62, 0x73, 0xac, 0x02]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(payload));
    assert.equal(hex(bytes), '08000000' + crc.toString('hex') + hex(payload));
  });

  it('lays out a MESSAGE body field by field', () => {
    const bytes = encodeRecord({
      type: RecordType.MESSAGE,
      channel: 'c',
      id: 1,
      attempt: 2,
      topic: 't.x',
      headers: { k: 'v' },
      payloadKind: PayloadKind.STRING,
      payload: Uint8Array.from([0x68, 0x69])
    });
    // type 01 | channel 01 'c' | id 01 | attempt 02 | topic 03 't.x' | 1 header: 01 'k' 01 'v'
    // | payload kind 01 (STRING) | 'hi'
    assert.equal(
      hex(bytes.subarray(8)),
      '01' + '0163' + '01' + '02' + '03742e78' + '01016b0176' + '01' + '6869'
    );
    assert.equal(Buffer.from(bytes).readUInt32LE(0), bytes.length - 8);
  });

  it('keeps a header named __proto__ as a header', () => {
    const headers = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    const record = decodeRecord(
      encodeRecord({
        type: RecordType.MESSAGE,
        channel: 'c',
        id: 0,
        attempt: 0,
        topic: 't',
        headers,
        payloadKind: PayloadKind.UNDEFINED,
        payload: new Uint8Array(0)
      })
    );
    assert.equal(record.type, RecordType.MESSAGE);
    if (record.type !== RecordType.MESSAGE) return;
    assert.deepEqual(Object.entries(record.headers), [
      ['__proto__', 'x'],
      ['a', 'b']
    ]);
    assert.equal(Object.getPrototypeOf(record.headers), Object.prototype);
  });

  const base = {
    type: RecordType.MESSAGE,
    channel: 'c',
    id: 0,
    attempt: 0,
    topic: 't',
    headers: {},
    payloadKind: PayloadKind.BYTES,
    payload: new Uint8Array(0)
  } as const;

  it('refuses ids and attempts outside [0, 2^53 - 1] and unknown payload kinds', () => {
    assert.throws(() => encodeRecord({ ...base, id: -1 }), isCode('ERR_INVALID_OPTIONS'));
    assert.throws(() => encodeRecord({ ...base, attempt: 1.5 }), isCode('ERR_INVALID_OPTIONS'));
    assert.throws(() => encodeRecord({ ...base, id: 2 ** 53 }), isCode('ERR_INVALID_OPTIONS'));
    assert.throws(
      () => encodeRecord({ ...base, payloadKind: 9 as 0 }),
      isCode('ERR_INVALID_OPTIONS')
    );
    assert.throws(
      () => encodeRecord({ type: RecordType.ACK, channel: 'c', id: NaN }),
      isCode('ERR_INVALID_OPTIONS')
    );
  });

  it('refuses a record larger than MAX_RECORD_BYTES', () => {
    assert.throws(
      () => encodeRecord({ ...base, payload: new Uint8Array(MAX_RECORD_BYTES) }),
      isCode('ERR_PAYLOAD')
    );
  });

  it('rejects malformed bodies with ERR_PROTOCOL', () => {
    const bad =
      (...bytes: number[]) =>
      () =>
        decodeRecordBody(Uint8Array.from(bytes));
    assert.throws(bad(), isCode('ERR_PROTOCOL')); // no type byte
    assert.throws(bad(0x09, 0x00), /unknown record type 9/);
    assert.throws(bad(0x02, 0x05, 0x61), isCode('ERR_PROTOCOL')); // channel longer than the body
    assert.throws(bad(0x02, 0x00, 0x01, 0x00), /trailing bytes/);
    assert.throws(bad(0x04, 0x01, 0xff), /UTF-8/);
    assert.throws(bad(0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07), /unknown payload kind 7/);
    assert.throws(bad(0x01, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x00), /header count/);
    assert.throws(bad(0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01), /UNDEFINED/);
    assert.throws(
      bad(0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x61, 0x00, 0x01, 0x61, 0x00, 0x00),
      /duplicate header/
    );
  });

  it('decodeRecord checks the length and the CRC', () => {
    const good = encodeRecord({ type: RecordType.CHANNEL_DELETED, channel: 'jobs' });
    assert.deepEqual(decodeRecord(good), { type: RecordType.CHANNEL_DELETED, channel: 'jobs' });
    const flipped = good.slice();
    flipped[good.length - 1] ^= 0x10;
    assert.throws(() => decodeRecord(flipped), /checksum mismatch/);
    assert.throws(() => decodeRecord(good.subarray(0, good.length - 1)), /record length/);
  });
});
