import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingbusError } from '../../src/errors.js';
import { PayloadKind } from '../../src/frames/frame-type.js';
import {
  MAX_RECORD_BYTES,
  type MessageRecord,
  RECORD_PREFIX_BYTES,
  RecordType,
  decodeRecord,
  decodeRecordBody,
  encodeRecord
} from '../../adapters/store/record.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function isCode(code: string) {
  return (err: unknown): boolean => err instanceof RingbusError && err.code === code;
}

const base: MessageRecord = {
  type: RecordType.MESSAGE,
  channel: 'c',
  id: 0,
  attempt: 0,
  publishedAt: 0,
  expiresAt: 0,
  topic: 't',
  headers: {},
  payloadKind: PayloadKind.BYTES,
  payload: new Uint8Array(0)
};

// The vectors below were computed independently (Python: struct + binascii.crc32), so they pin
// the layout and the checksum algorithm, not just agreement between encoder and decoder.
describe('store record: byte vectors', () => {
  it('lays out an ACK as length, ~length, CRC32, type, channel, id', () => {
    const bytes = encodeRecord({ type: RecordType.ACK, channel: 'jobs', id: 300 });
    // length 8 | ~8 | crc32(02 04 'jobs' ac02) | 02 | 04 'jobs' | 300 = ac 02
    assert.equal(hex(bytes), '08000000' + 'f7ffffff' + 'ef4b614a' + '02' + '046a6f6273' + 'ac02');
  });

  it('lays out a NACK with the largest id (an 8-byte LEB128)', () => {
    const bytes = encodeRecord({ type: RecordType.NACK, channel: 'c', id: 2 ** 53 - 1 });
    assert.equal(
      hex(bytes),
      '0b000000' + 'f4ffffff' + 'dbf39281' + '03' + '0163' + 'ffffffffffffff0f'
    );
  });

  it('lays out a MESSAGE field by field, publishedAt and expiresAt included', () => {
    const bytes = encodeRecord({
      ...base,
      id: 1,
      attempt: 2,
      publishedAt: 1_700_000_000_000,
      expiresAt: 1_700_000_060_000,
      topic: 't.x',
      headers: { k: 'v' },
      payloadKind: PayloadKind.STRING,
      payload: Uint8Array.from([0x68, 0x69])
    });
    assert.equal(
      hex(bytes),
      '1d000000' + // length 29
        'e2ffffff' + // its complement
        '9d2de567' + // CRC32 of the 29 bytes that follow
        '01' + // MESSAGE
        '0163' + // channel 'c'
        '01' + // id 1
        '02' + // attempt 2
        '80d095ffbc31' + // publishedAt 1_700_000_000_000
        'e0a499ffbc31' + // expiresAt 1_700_000_060_000
        '03742e78' + // topic 't.x'
        '01' + // one header
        '016b' + // 'k'
        '0176' + // 'v'
        '01' + // payload kind STRING
        '6869' // 'hi', to the end of the record
    );
  });

  it('lays out CHANNEL_CREATED as channel and settings JSON', () => {
    const bytes = encodeRecord({
      type: RecordType.CHANNEL_CREATED,
      channel: 'jobs',
      settings: '{"a":1}'
    });
    assert.equal(
      hex(bytes),
      '0e000000' + 'f1ffffff' + '482b69d4' + '04' + '046a6f6273' + '077b2261223a317d'
    );
  });

  it('lays out CHANNEL_DELETED as the channel alone', () => {
    const bytes = encodeRecord({ type: RecordType.CHANNEL_DELETED, channel: 'jobs' });
    assert.equal(hex(bytes), '06000000' + 'f9ffffff' + '0924589d' + '05' + '046a6f6273');
  });
});

describe('store record: encode and decode', () => {
  it('round-trips every record type', () => {
    const records = [
      { ...base, headers: { a: 'b', 'x-é': '✓' }, payload: Uint8Array.from([0, 255]) },
      { type: RecordType.ACK, channel: 'jobs', id: 7 },
      { type: RecordType.NACK, channel: 'jobs', id: 7 },
      { type: RecordType.CHANNEL_CREATED, channel: 'w jobs.*', settings: '{"name":"w"}' },
      { type: RecordType.CHANNEL_DELETED, channel: 'w jobs.*' }
    ] as const;
    for (const record of records) assert.deepEqual(decodeRecord(encodeRecord(record)), record);
  });

  it('round-trips string fields whose lengths take 1, 2 and 3 LEB128 bytes', () => {
    for (const n of [0, 127, 128, 16_383, 16_384, 70_000]) {
      const topic = 'x'.repeat(n);
      const record = { ...base, topic, headers: { h: topic } };
      const decoded = decodeRecord(encodeRecord(record));
      assert.deepEqual(decoded, record, `length ${n}`);
    }
  });

  it('copies the payload out of the bytes it decodes', () => {
    const bytes = encodeRecord({ ...base, payload: Uint8Array.from([1, 2, 3]) });
    const decoded = decodeRecord(bytes) as MessageRecord;
    bytes.fill(0);
    assert.deepEqual(decoded.payload, Uint8Array.from([1, 2, 3]));
    assert.equal(Object.getPrototypeOf(decoded.payload), Uint8Array.prototype);
  });

  it('keeps a header named __proto__ as a header', () => {
    const headers = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    const record = decodeRecord(encodeRecord({ ...base, headers }));
    assert.equal(record.type, RecordType.MESSAGE);
    if (record.type !== RecordType.MESSAGE) return;
    assert.deepEqual(Object.entries(record.headers), [
      ['__proto__', 'x'],
      ['a', 'b']
    ]);
    assert.equal(Object.getPrototypeOf(record.headers), Object.prototype);
  });

  it('refuses integers outside [0, 2^53 - 1] and unknown payload kinds', () => {
    for (const field of ['id', 'attempt', 'publishedAt', 'expiresAt'] as const) {
      for (const bad of [-1, 1.5, 2 ** 53, NaN]) {
        assert.throws(
          () => encodeRecord({ ...base, [field]: bad }),
          (err: unknown) => isCode('ERR_INVALID_OPTIONS')(err) && String(err).includes(field),
          `${field} = ${bad}`
        );
      }
    }
    assert.throws(
      () => encodeRecord({ ...base, payloadKind: 9 as 0 }),
      isCode('ERR_INVALID_OPTIONS')
    );
    assert.throws(
      () => encodeRecord({ type: RecordType.ACK, channel: 'c', id: NaN }),
      isCode('ERR_INVALID_OPTIONS')
    );
  });

  it('refuses an UNDEFINED payload that carries bytes', () => {
    assert.throws(
      () =>
        encodeRecord({ ...base, payloadKind: PayloadKind.UNDEFINED, payload: new Uint8Array(1) }),
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
    // MESSAGE prefix up to the topic: type, channel '', id 0, attempt 0, publishedAt 0, expiresAt 0
    const msg = [0x01, 0x00, 0x00, 0x00, 0x00, 0x00];
    assert.throws(bad(), isCode('ERR_PROTOCOL')); // no type byte
    assert.throws(bad(0x09, 0x00), /unknown record type 9/);
    assert.throws(bad(0x02, 0x05, 0x61), isCode('ERR_PROTOCOL')); // channel longer than the body
    assert.throws(bad(0x02, 0x00, 0x01, 0x00), /trailing bytes/);
    assert.throws(bad(0x02, 0x00, 0x80, 0x00), /overlong/);
    assert.throws(bad(0x05, 0x00, 0x00), /trailing bytes/); // CHANNEL_DELETED has no settings
    assert.throws(bad(0x04, 0x01, 0xff, 0x00), /UTF-8/);
    assert.throws(bad(0x04, 0x00), isCode('ERR_PROTOCOL')); // CHANNEL_CREATED without settings
    assert.throws(bad(...msg, 0x00, 0x00, 0x07), /unknown payload kind 7/);
    assert.throws(bad(...msg, 0x00, 0x7f, 0x00), /header count/);
    assert.throws(bad(...msg, 0x00, 0x00, 0x04, 0x01), /UNDEFINED/);
    assert.throws(
      bad(...msg, 0x00, 0x02, 0x01, 0x61, 0x00, 0x01, 0x61, 0x00, 0x00),
      /duplicate header/
    );
    assert.throws(bad(0x01, 0x00, 0x00, 0x00, 0x00), isCode('ERR_PROTOCOL')); // no expiresAt
  });

  it('decodeRecord checks the length, its complement and the CRC', () => {
    const good = encodeRecord({ type: RecordType.CHANNEL_DELETED, channel: 'jobs' });
    assert.deepEqual(decodeRecord(good), { type: RecordType.CHANNEL_DELETED, channel: 'jobs' });

    const flipped = good.slice();
    flipped[good.length - 1] ^= 0x10;
    assert.throws(() => decodeRecord(flipped), /checksum mismatch/);

    const badLength = good.slice();
    badLength[0] ^= 0x01;
    assert.throws(() => decodeRecord(badLength), /complement disagree/);

    const badComplement = good.slice();
    badComplement[5] ^= 0x80;
    assert.throws(() => decodeRecord(badComplement), /complement disagree/);

    assert.throws(() => decodeRecord(good.subarray(0, good.length - 1)), /record length/);
    assert.throws(() => decodeRecord(good.subarray(0, RECORD_PREFIX_BYTES)), /shorter than 13/);
  });

  it('lays out EMPTIED as channel, first id, last id', () => {
    const emptied = { type: RecordType.EMPTIED, channel: 'w jobs.*', from: 5, to: 300 } as const;
    assert.deepEqual(decodeRecord(encodeRecord(emptied)), emptied);
    const bytes = encodeRecord(emptied);
    // type 07 | channel 08 'w jobs.*' | from 05 | to ac 02
    assert.equal(
      hex(bytes.subarray(RECORD_PREFIX_BYTES)),
      '07' + '08' + hex(new TextEncoder().encode('w jobs.*')) + '05' + 'ac02'
    );
  });
});
