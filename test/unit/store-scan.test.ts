import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { PayloadKind } from '../../src/frames/frame-type.js';
import { RecordType, type StoreRecord, encodeRecord } from '../../adapters/store/record.js';
import { scanSegment, scanSegmentBytes } from '../../adapters/store/scan.js';
import {
  SEGMENT_HEADER_BYTES,
  SegmentWriter,
  segmentHeader
} from '../../adapters/store/segment.js';

const message = (id: number, text: string): StoreRecord => ({
  type: RecordType.MESSAGE,
  channel: 'orders',
  id,
  attempt: 1,
  topic: 'orders.created',
  headers: { trace: `t-${id}` },
  payloadKind: PayloadKind.STRING,
  payload: new TextEncoder().encode(text)
});

const RECORDS: StoreRecord[] = [
  { type: RecordType.CHANNEL_CREATED, channel: 'orders' },
  message(1, 'first'),
  message(2, 'second message'),
  { type: RecordType.ACK, channel: 'orders', id: 1 },
  message(3, 'the last one, a little longer')
];

/** The segment's bytes and each record's start offset (plus the end of the file). */
function build(records: readonly StoreRecord[]): { bytes: Uint8Array; starts: number[] } {
  const encoded = records.map(encodeRecord);
  const starts = [SEGMENT_HEADER_BYTES];
  for (const e of encoded) starts.push(starts[starts.length - 1] + e.length);
  const bytes = new Uint8Array(starts[starts.length - 1]);
  bytes.set(segmentHeader());
  encoded.forEach((e, i) => bytes.set(e, starts[i]));
  return { bytes, starts };
}

describe('scanSegment', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringbus-scan-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back what a SegmentWriter wrote', async () => {
    const path = join(dir, 'written.rbwl');
    const writer = await SegmentWriter.create(path);
    await Promise.all(RECORDS.map((r) => writer.append(r)));
    await writer.close();
    const scan = await scanSegment(path);
    assert.equal(scan.problem, undefined);
    assert.deepEqual(scan.records, RECORDS);
    assert.equal(scan.validBytes, build(RECORDS).bytes.length);
  });

  it('an empty segment (header only) has no records and no problem', () => {
    assert.deepEqual(scanSegmentBytes(segmentHeader()), {
      records: [],
      validBytes: 16,
      problem: undefined
    });
  });

  it('truncated tail: a cut at every byte of the last record is a torn tail at its start', async () => {
    const { bytes, starts } = build(RECORDS);
    const last = starts[RECORDS.length - 1];
    const path = join(dir, 'torn.rbwl');
    for (let cut = last + 1; cut < bytes.length; cut++) {
      await writeFile(path, bytes.subarray(0, cut));
      const scan = await scanSegment(path);
      assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: last }, `cut at ${cut}`);
      assert.equal(scan.validBytes, last);
      assert.deepEqual(scan.records, RECORDS.slice(0, -1));
      // The caller truncates to validBytes: the segment is then clean.
      await truncate(path, scan.validBytes);
      const again = await scanSegment(path);
      assert.equal(again.problem, undefined);
      assert.deepEqual(again.records, RECORDS.slice(0, -1));
    }
  });

  it('a cut inside the header is a torn tail at 0', () => {
    for (let cut = 0; cut < SEGMENT_HEADER_BYTES; cut++) {
      const scan = scanSegmentBytes(segmentHeader().subarray(0, cut));
      assert.deepEqual(scan, {
        records: [],
        validBytes: 0,
        problem: { kind: 'torn-tail', offset: 0 }
      });
    }
  });

  it('a zero-filled tail (allocated, never written) is a torn tail', () => {
    const { bytes, starts } = build(RECORDS);
    const padded = new Uint8Array(bytes.length + 4096);
    padded.set(bytes);
    const scan = scanSegmentBytes(padded);
    assert.deepEqual(scan.problem, { kind: 'torn-tail', offset: starts[RECORDS.length] });
    assert.deepEqual(scan.records, RECORDS);
  });

  it('a flipped bit in a payload: corrupt at that record, earlier records returned', async () => {
    const { bytes, starts } = build(RECORDS);
    const path = join(dir, 'payload-bit.rbwl');
    const target = 2; // message 2: its payload is the record's last bytes
    for (let bit = 0; bit < 8; bit++) {
      const damaged = bytes.slice();
      damaged[starts[target + 1] - 3] ^= 1 << bit;
      await writeFile(path, damaged);
      const scan = await scanSegment(path);
      assert.deepEqual(scan.problem, {
        kind: 'corrupt',
        offset: starts[target],
        reason: 'checksum mismatch'
      });
      assert.equal(scan.validBytes, starts[target]);
      assert.deepEqual(scan.records, RECORDS.slice(0, target));
    }
  });

  it('a flipped bit in a length: corrupt or torn tail, never a wrong record', () => {
    const { bytes, starts } = build(RECORDS);
    for (let target = 0; target < RECORDS.length; target++) {
      for (let bit = 0; bit < 32; bit++) {
        const damaged = bytes.slice();
        damaged[starts[target] + (bit >> 3)] ^= 1 << (bit & 7);
        const scan = scanSegmentBytes(damaged);
        assert.ok(scan.problem, `record ${target} bit ${bit}`);
        assert.ok(scan.problem.kind === 'corrupt' || scan.problem.kind === 'torn-tail');
        assert.equal(scan.problem.offset, starts[target]);
        assert.deepEqual(scan.records, RECORDS.slice(0, target));
      }
    }
  });

  it('a length too large to be a record is corrupt, not a torn tail', () => {
    const { bytes, starts } = build(RECORDS);
    const damaged = bytes.slice();
    damaged[starts[1] + 3] = 0xff; // length >= 2^32 - 2^24
    assert.deepEqual(scanSegmentBytes(damaged).problem, {
      kind: 'corrupt',
      offset: starts[1],
      reason: `impossible record length ${new DataView(damaged.buffer).getUint32(starts[1], true)}`
    });
  });

  it('a record with a valid CRC but a malformed body is corrupt', () => {
    const { bytes, starts } = build(RECORDS.slice(0, 1));
    const bad = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0x00]); // unknown type 7
    const view = new DataView(bad.buffer);
    view.setUint32(0, 2, true);
    view.setUint32(4, crc32(bad.subarray(8)), true);
    const all = new Uint8Array(bytes.length + bad.length);
    all.set(bytes);
    all.set(bad, bytes.length);
    const scan = scanSegmentBytes(all);
    assert.equal(scan.problem?.kind, 'corrupt');
    assert.equal(scan.problem.offset, starts[1]);
    assert.match(scan.problem.reason, /unknown record type 7/);
    assert.deepEqual(scan.records, RECORDS.slice(0, 1));
  });

  it('a zeroed header is a bad header; so is an unknown version', async () => {
    const { bytes } = build(RECORDS);
    const zeroed = bytes.slice();
    zeroed.fill(0, 0, SEGMENT_HEADER_BYTES);
    const path = join(dir, 'zeroed.rbwl');
    await writeFile(path, zeroed);
    assert.deepEqual(await scanSegment(path), {
      records: [],
      validBytes: 0,
      problem: { kind: 'bad-header', reason: 'no RBWL magic' }
    });
    const v2 = bytes.slice();
    v2[4] = 2;
    assert.deepEqual(scanSegmentBytes(v2).problem, {
      kind: 'bad-header',
      reason: 'unsupported segment version 2'
    });
  });
});
