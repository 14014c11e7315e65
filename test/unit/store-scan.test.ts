import assert from 'node:assert/strict';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { PayloadKind } from '../../src/frames/frame-type.js';
import { LogWriter, openFileHandle } from '../../adapters/store/log-writer.js';
import {
  MAX_RECORD_BYTES,
  RECORD_PREFIX_BYTES,
  RecordType,
  type StoreRecord,
  encodeRecord
} from '../../adapters/store/record.js';
import { type ScanResult, scanSegment, scanSegmentBytes } from '../../adapters/store/scan.js';
import { SEGMENT_HEADER_BYTES, segmentHeader, segmentName } from '../../adapters/store/segment.js';
import { segmentImage, tempDir } from '../helpers/store.js';

const message = (id: number, text: string): StoreRecord => ({
  type: RecordType.MESSAGE,
  channel: 'orders',
  id,
  attempt: 1,
  publishedAt: 1_700_000_000_000 + id,
  expiresAt: 0,
  topic: 'orders.created',
  headers: { trace: `t-${id}` },
  payloadKind: PayloadKind.STRING,
  payload: new TextEncoder().encode(text)
});

const RECORDS: StoreRecord[] = [
  { type: RecordType.CHANNEL_CREATED, channel: 'orders', settings: '{"name":"orders"}' },
  message(1, 'first'),
  message(2, 'second message'),
  { type: RecordType.ACK, channel: 'orders', id: 1 },
  message(3, 'the last one, a little longer')
];

/** What every scan reports, whatever else a header may carry. */
function outcome(scan: ScanResult): Pick<ScanResult, 'records' | 'validBytes' | 'problem'> {
  return { records: scan.records, validBytes: scan.validBytes, problem: scan.problem };
}

describe('scanSegment', () => {
  const dir = tempDir('scan');
  after(() => dir.remove());
  const { bytes, starts } = segmentImage(RECORDS);

  it('reads back what a LogWriter wrote', async () => {
    const writer = new LogWriter(
      {
        dir: dir.path,
        fsync: 'always',
        fsyncIntervalMs: 0,
        segmentBytes: 1 << 20,
        openFile: openFileHandle,
        idFloor: () => 0
      },
      1
    );
    for (const r of RECORDS) writer.append(encodeRecord(r));
    await writer.close();
    const scan = scanSegment(join(dir.path, segmentName(1)));
    assert.equal(scan.problem, undefined);
    assert.deepEqual(scan.records, RECORDS);
    assert.equal(scan.validBytes, bytes.length);
  });

  it('an empty segment (header only) has no records and no problem', () => {
    assert.deepEqual(outcome(scanSegmentBytes(segmentHeader())), {
      records: [],
      validBytes: SEGMENT_HEADER_BYTES,
      problem: undefined
    });
  });

  it("reads the header's id floor; 0 when the header is bad", () => {
    const { bytes: one } = segmentImage(RECORDS.slice(0, 1));
    const withFloor = one.slice();
    withFloor.set(segmentHeader(123_456_789));
    assert.equal(scanSegmentBytes(withFloor).idFloor, 123_456_789);
    assert.deepEqual(scanSegmentBytes(withFloor).records, RECORDS.slice(0, 1));
    assert.equal(scanSegmentBytes(one).idFloor, 0);
    withFloor[0] = 0;
    assert.equal(scanSegmentBytes(withFloor).idFloor, 0);
  });

  it('a cut anywhere inside the last record, prefix included, is a torn tail at its start', async () => {
    const last = starts[RECORDS.length - 1];
    const path = join(dir.path, 'torn.rbwl');
    for (let cut = last + 1; cut < bytes.length; cut++) {
      const where = cut - last < RECORD_PREFIX_BYTES ? 'in the prefix' : 'in the body';
      await writeFile(path, bytes.subarray(0, cut));
      const scan = scanSegment(path);
      assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: last }, `cut ${where} at ${cut}`);
      assert.equal(scan.validBytes, last);
      assert.deepEqual(scan.records, RECORDS.slice(0, -1));
      // The caller truncates to validBytes: the segment is then clean.
      await truncate(path, scan.validBytes);
      const again = scanSegment(path);
      assert.equal(again.problem, undefined);
      assert.deepEqual(again.records, RECORDS.slice(0, -1));
    }
  });

  it('a cut inside a middle record loses it and everything after it', () => {
    const cut = starts[2] + 20;
    const scan = scanSegmentBytes(bytes.subarray(0, cut));
    assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: starts[2] });
    assert.deepEqual(scan.records, RECORDS.slice(0, 2));
  });

  it('a file shorter than its header is a torn tail at 0', () => {
    for (let cut = 0; cut < SEGMENT_HEADER_BYTES; cut++) {
      assert.deepEqual(outcome(scanSegmentBytes(segmentHeader().subarray(0, cut))), {
        records: [],
        validBytes: 0,
        problem: { kind: 'torn-tail', offset: 0 }
      });
    }
  });

  it('a zero-filled tail (allocated, never written) is a torn tail after the last record', () => {
    const padded = new Uint8Array(bytes.length + 4096);
    padded.set(bytes);
    const scan = scanSegmentBytes(padded);
    assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: bytes.length });
    assert.equal(scan.validBytes, bytes.length);
    assert.deepEqual(scan.records, RECORDS);
  });

  it('a zeroed last record is a torn tail at its start', () => {
    const zeroed = bytes.slice();
    zeroed.fill(0, starts[RECORDS.length - 1]);
    const scan = scanSegmentBytes(zeroed);
    assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: starts[RECORDS.length - 1] });
    assert.deepEqual(scan.records, RECORDS.slice(0, -1));
  });

  it('a file of zeros, header included, is a torn tail at 0', () => {
    assert.deepEqual(outcome(scanSegmentBytes(new Uint8Array(4096))), {
      records: [],
      validBytes: 0,
      problem: { kind: 'torn-tail', offset: 0 }
    });
  });

  it('a zeroed header with records after it is a bad header', () => {
    const zeroed = bytes.slice();
    zeroed.fill(0, 0, SEGMENT_HEADER_BYTES);
    assert.deepEqual(outcome(scanSegmentBytes(zeroed)), {
      records: [],
      validBytes: 0,
      problem: { kind: 'bad-header', reason: 'no RBWL magic' }
    });
  });

  it('an unsupported version is a bad header', () => {
    const v2 = bytes.slice();
    v2[4] = 2;
    assert.deepEqual(outcome(scanSegmentBytes(v2)), {
      records: [],
      validBytes: 0,
      problem: { kind: 'bad-header', reason: 'unsupported segment version 2' }
    });
  });

  it('a flipped bit in any length is corrupt at that record, never a torn tail', () => {
    for (let target = 0; target < RECORDS.length; target++) {
      for (let bit = 0; bit < 32; bit++) {
        const damaged = bytes.slice();
        damaged[starts[target] + (bit >> 3)] ^= 1 << (bit & 7);
        const scan = scanSegmentBytes(damaged);
        assert.deepEqual(
          scan.problem,
          {
            kind: 'corrupt',
            offset: starts[target],
            reason: 'record length and its complement disagree'
          },
          `record ${target} bit ${bit}`
        );
        assert.equal(scan.validBytes, starts[target]);
        assert.deepEqual(scan.records, RECORDS.slice(0, target));
      }
    }
  });

  it('a flipped bit in a payload is corrupt at that record, earlier records returned', async () => {
    const path = join(dir.path, 'payload-bit.rbwl');
    const target = 2; // message 2: its payload is the record's last bytes
    for (let bit = 0; bit < 8; bit++) {
      const damaged = bytes.slice();
      damaged[starts[target + 1] - 3] ^= 1 << bit;
      await writeFile(path, damaged);
      const scan = scanSegment(path);
      assert.deepEqual(scan.problem, {
        kind: 'corrupt',
        offset: starts[target],
        reason: 'checksum mismatch'
      });
      assert.equal(scan.validBytes, starts[target]);
      assert.deepEqual(scan.records, RECORDS.slice(0, target));
    }
  });

  it('a flipped bit in a stored CRC is corrupt', () => {
    const damaged = bytes.slice();
    damaged[starts[1] + 8] ^= 0x01;
    assert.deepEqual(scanSegmentBytes(damaged).problem, {
      kind: 'corrupt',
      offset: starts[1],
      reason: 'checksum mismatch'
    });
  });

  it('a length of 0 or above MAX_RECORD_BYTES is corrupt, even with its complement', () => {
    for (const length of [0, MAX_RECORD_BYTES + 1, 0xffff_fffe]) {
      const { bytes: one } = segmentImage(RECORDS.slice(0, 1));
      const all = new Uint8Array(one.length + RECORD_PREFIX_BYTES + 1);
      all.set(one);
      const view = new DataView(all.buffer);
      view.setUint32(one.length, length, true);
      view.setUint32(one.length + 4, ~length >>> 0, true);
      const scan = scanSegmentBytes(all);
      assert.deepEqual(scan.problem, {
        kind: 'corrupt',
        offset: one.length,
        reason: `impossible record length ${length}`
      });
      assert.deepEqual(scan.records, RECORDS.slice(0, 1));
    }
  });

  it('a record with a valid CRC but a malformed body is corrupt', () => {
    const { bytes: one } = segmentImage(RECORDS.slice(0, 1));
    const body = Uint8Array.from([0x63, 0x00]); // unknown type 99
    const bad = new Uint8Array(RECORD_PREFIX_BYTES + body.length);
    const view = new DataView(bad.buffer);
    view.setUint32(0, body.length, true);
    view.setUint32(4, ~body.length >>> 0, true);
    view.setUint32(8, crc32(body), true);
    bad.set(body, RECORD_PREFIX_BYTES);
    const all = new Uint8Array(one.length + bad.length);
    all.set(one);
    all.set(bad, one.length);
    const scan = scanSegmentBytes(all);
    assert.equal(scan.problem?.kind, 'corrupt');
    assert.equal(scan.problem.offset, one.length);
    assert.match(scan.problem.reason, /unknown record type 99/);
    assert.deepEqual(scan.records, RECORDS.slice(0, 1));
  });
});
