import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { type FileHandle, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RingbusError } from '../../src/errors.js';
import type { FsyncPolicy } from '../../src/store.js';
import {
  LogWriter,
  type OpenSegmentFile,
  openFileHandle
} from '../../adapters/store/log-writer.js';
import { RecordType, type StoreRecord, encodeRecord } from '../../adapters/store/record.js';
import { scanSegment } from '../../adapters/store/scan.js';
import { SEGMENT_HEADER_BYTES, segmentName } from '../../adapters/store/segment.js';
import { gate, tempDir, testOpener, type TestOpener } from '../helpers/store.js';
import { nextTurn, waitFor } from '../helpers/wait.js';

const ack = (id: number): StoreRecord => ({ type: RecordType.ACK, channel: 'jobs', id });
const ackIds = (records: readonly StoreRecord[]): number[] =>
  records.map((r) => (r.type === RecordType.ACK ? r.id : -1));
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

function isStoreError(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RingbusError, `expected a RingbusError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_STORE');
    assert.match(err.message, new RegExp(`\\(${code}\\)`));
    assert.equal((err.cause as NodeJS.ErrnoException | undefined)?.code, code);
    return true;
  };
}

describe('LogWriter', () => {
  const root = tempDir('log-writer');
  after(() => root.remove());
  let dirs = 0;

  /** A writer on a fresh directory; `opener` counts, holds and fails its segment calls. */
  function makeWriter(
    settings: {
      fsync?: FsyncPolicy;
      fsyncIntervalMs?: number;
      segmentBytes?: number;
      idFloor?: () => number;
    } = {},
    opener: TestOpener | { openFile: OpenSegmentFile } = testOpener()
  ): { writer: LogWriter; dir: string } {
    const dir = join(root.path, `w${dirs++}`);
    mkdirSync(dir); // the store creates it; LogWriter expects it
    const writer = new LogWriter(
      {
        dir,
        fsync: settings.fsync ?? 'always',
        fsyncIntervalMs: settings.fsyncIntervalMs ?? 0,
        segmentBytes: settings.segmentBytes ?? 1 << 20,
        openFile: opener.openFile,
        idFloor: settings.idFloor ?? (() => 0)
      },
      1
    );
    return { writer, dir };
  }

  /** Writes one record so the segment file exists, then zeroes the opener's counters. */
  async function opened(writer: LogWriter, opener: TestOpener): Promise<void> {
    writer.append(encodeRecord(ack(0)));
    await writer.commit();
    opener.resetCalls();
  }

  it('creates segment 1 on the first write: RBWL header, then the records', async () => {
    const { writer, dir } = makeWriter();
    const path = join(dir, segmentName(1));
    assert.equal(existsSync(path), false, 'nothing is created before the first append');
    writer.append(encodeRecord(ack(1)));
    await writer.commit();
    const bytes = readFileSync(path);
    assert.equal(
      bytes.subarray(0, SEGMENT_HEADER_BYTES).toString('hex'),
      '5242574c' + '0100' + '0000' + '00'.repeat(8) // magic, version 1, reserved, id floor 0
    );
    assert.deepEqual(scanSegment(path).records, [ack(1)]);
    assert.equal(writer.bytesWritten, bytes.length);
    await writer.close();
  });

  it("writes the id floor of the moment into each new segment's header", async () => {
    let floor = 41;
    const record = encodeRecord(ack(1));
    const { writer, dir } = makeWriter({
      segmentBytes: SEGMENT_HEADER_BYTES + record.length,
      idFloor: () => floor
    });
    writer.append(record);
    await writer.commit();
    floor = 99;
    writer.append(record); // the first segment is full: this one opens segment 2
    await writer.close();
    const floors = [1, 2].map((n) => scanSegment(join(dir, segmentName(n))).idFloor);
    assert.deepEqual(floors, [41, 99]);
  });

  it('refuses to reuse an existing segment file (EEXIST)', async () => {
    const { writer, dir } = makeWriter();
    await writeFile(join(dir, segmentName(1)), 'not mine');
    writer.append(encodeRecord(ack(1)));
    await assert.rejects(writer.commit(), isStoreError('EEXIST'));
    assert.equal(readFileSync(join(dir, segmentName(1)), 'utf8'), 'not mine');
    await writer.close();
  });

  it("group commit ('always'): 100 appends in one tick make one writev and one datasync", async () => {
    const opener = testOpener();
    const { writer, dir } = makeWriter({ fsync: 'always' }, opener);
    await opened(writer, opener);
    const writes = writer.writeCount;
    const syncs = writer.syncCount;
    for (const id of range(1, 101)) writer.append(encodeRecord(ack(id)));
    await writer.commit();
    assert.deepEqual(opener.calls, { segmentOpens: 0, writev: 1, datasync: 1, directorySyncs: 0 });
    assert.equal(writer.writeCount, writes + 1);
    assert.equal(writer.syncCount, syncs + 1);
    await writer.close();
    assert.deepEqual(ackIds(scanSegment(join(dir, segmentName(1))).records), range(0, 101));
  });

  it('syncs the directory once when it creates a segment (fsync on)', async () => {
    const opener = testOpener();
    const { writer } = makeWriter({ fsync: 'always' }, opener);
    writer.append(encodeRecord(ack(1)));
    await writer.commit();
    writer.append(encodeRecord(ack(2)));
    await writer.commit();
    assert.equal(opener.calls.segmentOpens, 1);
    assert.equal(opener.calls.directorySyncs, 1);
    await writer.close();
  });

  it('commit() resolves only after the batch is written and synced', async () => {
    const opener = testOpener();
    const { writer, dir } = makeWriter({}, opener);
    await opened(writer, opener);
    const held = gate();
    opener.hold = held.promise;
    writer.append(encodeRecord(ack(1)));
    let isDone = false;
    const done = writer.commit().then(() => (isDone = true));
    await waitFor(() => opener.calls.writev === 1, 2000, 'the write to start');
    await nextTurn();
    assert.equal(isDone, false, 'resolved while the write was still held');
    assert.equal(opener.calls.datasync, 0);
    opener.hold = undefined;
    held.open();
    await done;
    assert.equal(opener.calls.datasync, 1);
    assert.deepEqual(ackIds(scanSegment(join(dir, segmentName(1))).records), [0, 1]);
    await writer.close();
  });

  it('commit() with nothing pending resolves at once', async () => {
    const { writer } = makeWriter();
    await writer.commit();
    await writer.close();
  });

  it('appends made while a batch is in flight form the next batch, in order', async () => {
    const opener = testOpener();
    const { writer, dir } = makeWriter({}, opener);
    await opened(writer, opener);
    const held = gate();
    opener.hold = held.promise;
    for (const id of range(1, 11)) writer.append(encodeRecord(ack(id)));
    const first = writer.commit();
    await waitFor(() => opener.calls.writev === 1, 2000, 'the first batch to be in flight');
    for (const id of range(11, 21)) writer.append(encodeRecord(ack(id)));
    const second = writer.commit();
    assert.equal(writer.pendingBytes, 10 * encodeRecord(ack(11)).length);
    opener.hold = undefined;
    held.open();
    await Promise.all([first, second]);
    assert.equal(opener.calls.writev, 2);
    assert.equal(opener.calls.datasync, 2);
    assert.equal(writer.pendingBytes, 0);
    await writer.close();
    assert.deepEqual(ackIds(scanSegment(join(dir, segmentName(1))).records), range(0, 21));
  });

  it("'batch' resolves once written and syncs in the background within fsyncIntervalMs", async () => {
    const opener = testOpener();
    const { writer } = makeWriter({ fsync: 'batch', fsyncIntervalMs: 50 }, opener);
    await opened(writer, opener);
    const syncsBefore = opener.calls.datasync;
    for (const id of range(1, 6)) {
      writer.append(encodeRecord(ack(id)));
      await writer.commit(); // written: no sync waited for
    }
    assert.equal(opener.calls.writev, 5, 'one write per commit');
    assert.equal(opener.calls.datasync, syncsBefore, 'no sync before the commits resolved');
    await waitFor(() => opener.calls.datasync === syncsBefore + 1, 5000, 'the background sync');
    await writer.close();
    assert.equal(opener.calls.datasync, syncsBefore + 1, 'nothing written since: close adds none');
  });

  it("'batch' syncs a segment before closing it, so only the newest file is ever unsynced", async () => {
    const opener = testOpener();
    const record = encodeRecord(ack(1));
    const { writer } = makeWriter(
      { fsync: 'batch', fsyncIntervalMs: 60_000, segmentBytes: SEGMENT_HEADER_BYTES + 1 },
      opener
    );
    writer.append(record);
    await writer.commit();
    const syncs = opener.calls.datasync;
    writer.append(record); // segment 2: segment 1 is closed first
    await writer.commit();
    assert.equal(opener.calls.datasync, syncs + 1, 'segment 1 synced when it was closed');
    await writer.close();
    assert.equal(opener.calls.datasync, syncs + 2, 'and segment 2 on close');
  });

  it("'never' writes without ever syncing, not even the directory", async () => {
    const opener = testOpener();
    const { writer, dir } = makeWriter({ fsync: 'never' }, opener);
    writer.append(encodeRecord(ack(1)));
    await writer.commit();
    writer.append(encodeRecord(ack(2)));
    await writer.commit();
    assert.equal(opener.calls.datasync, 0);
    assert.equal(opener.calls.directorySyncs, 0);
    assert.equal(writer.syncCount, 0);
    assert.equal(writer.writeCount, 2);
    await writer.close();
    assert.deepEqual(ackIds(scanSegment(join(dir, segmentName(1))).records), [1, 2]);
  });

  it('rotates: appends past segmentBytes go to the next numbered segment file', async () => {
    const opener = testOpener();
    const record = encodeRecord(ack(1));
    const perSegment = 10;
    // A segment takes appends until it holds segmentBytes: here exactly `perSegment` records.
    const segmentBytes = SEGMENT_HEADER_BYTES + (perSegment - 1) * record.length + 1;
    const { writer, dir } = makeWriter({ segmentBytes }, opener);
    const moved: number[] = [];
    writer.onSegment = (n) => moved.push(n);
    const landed = new Map<number, number>(); // record id → segment at append time
    for (const id of range(0, 25)) {
      writer.append(encodeRecord(ack(id)));
      landed.set(id, writer.segment);
    }
    assert.deepEqual(moved, [2, 3]);
    await writer.commit();
    assert.equal(opener.calls.segmentOpens, 3);
    assert.equal(writer.completed, 2, 'segment 2 closed once segment 3 was opened');
    await writer.close();
    assert.equal(writer.completed, 3);
    for (const n of [1, 2, 3]) {
      const path = join(dir, segmentName(n));
      const ids = ackIds(scanSegment(path).records);
      assert.deepEqual(ids, range((n - 1) * perSegment, Math.min(n * perSegment, 25)));
      for (const id of ids) assert.equal(landed.get(id), n, `record ${id} in segment ${n}`);
      if (n < 3) assert.ok(statSync(path).size >= segmentBytes);
    }
    assert.equal(existsSync(join(dir, segmentName(4))), false);
  });

  it('close writes what is pending; then append throws ERR_CLOSED', async () => {
    const { writer, dir } = makeWriter({ fsync: 'batch', fsyncIntervalMs: 5000 });
    writer.append(encodeRecord(ack(7)));
    const committed = writer.commit();
    await writer.close(); // does not wait out the 5 s sync interval
    await committed;
    assert.deepEqual(scanSegment(join(dir, segmentName(1))).records, [ack(7)]);
    assert.throws(
      () => writer.append(encodeRecord(ack(8))),
      (err: unknown) => err instanceof RingbusError && err.code === 'ERR_CLOSED'
    );
    await writer.close(); // idempotent
  });

  it('continues after a short write', async () => {
    const inner = testOpener();
    // Every writev writes at most 5 bytes of what it is given (the header too).
    const openFile: OpenSegmentFile = async (path, flags) => {
      const file = await inner.openFile(path, flags);
      return {
        writev: async (buffers) => {
          const all = Buffer.concat(buffers);
          return file.writev([all.subarray(0, 5)]);
        },
        datasync: () => file.datasync(),
        close: () => file.close()
      };
    };
    const { writer, dir } = makeWriter({}, { openFile });
    for (const id of range(0, 5)) writer.append(encodeRecord(ack(id)));
    await writer.commit();
    await writer.close();
    const scan = scanSegment(join(dir, segmentName(1)));
    assert.equal(scan.problem, undefined);
    assert.deepEqual(ackIds(scan.records), range(0, 5));
  });

  for (const [on, code] of [
    ['writev', 'ENOSPC'],
    ['writev', 'EIO'],
    ['datasync', 'EIO'],
    ['datasync', 'ENOSPC']
  ] as const) {
    it(`a failed ${on} (${code}) rejects commit() with ERR_STORE; later appends throw`, async () => {
      const opener = testOpener();
      const { writer } = makeWriter({}, opener);
      await opened(writer, opener);
      opener.faults[on] = code;
      for (const id of range(1, 51)) writer.append(encodeRecord(ack(id)));
      await assert.rejects(writer.commit(), isStoreError(code));
      assert.ok(writer.failure !== undefined);
      assert.throws(() => writer.append(encodeRecord(ack(99))), isStoreError(code));
      await assert.rejects(writer.commit(), isStoreError(code));
      // The writer stays failed even when the disk recovers: what reached it is unknown.
      opener.faults[on] = undefined;
      assert.throws(() => writer.append(encodeRecord(ack(100))), isStoreError(code));
      await writer.close();
    });
  }

  it('a segment that cannot be created (EACCES) rejects commit() with ERR_STORE', async () => {
    const opener = testOpener();
    opener.faults.open = 'EACCES';
    const { writer } = makeWriter({}, opener);
    writer.append(encodeRecord(ack(1)));
    await assert.rejects(writer.commit(), (err: unknown) => {
      isStoreError('EACCES')(err);
      assert.match(String(err), /cannot create segment/);
      return true;
    });
    await writer.close();
  });

  it('a real ENOSPC (/dev/full) rejects commit() with ERR_STORE', async (t) => {
    let full: FileHandle;
    try {
      full = await open('/dev/full', 'w');
    } catch (err) {
      t.skip(`SKIPPED: /dev/full cannot be opened on this system (${String(err)})`);
      return;
    }
    const devFull = full;
    t.after(() => devFull.close());
    // The header goes to the real file; every later write goes to /dev/full, which fails ENOSPC.
    const openFile: OpenSegmentFile = async (path, flags) => {
      const file = await openFileHandle(path, flags);
      if (flags === 'r') return file;
      let writes = 0;
      return {
        writev: (buffers) => (writes++ === 0 ? file.writev(buffers) : devFull.writev(buffers)),
        datasync: () => file.datasync(),
        close: () => file.close()
      };
    };
    const { writer } = makeWriter({}, { openFile });
    for (const id of range(0, 20)) writer.append(encodeRecord(ack(id)));
    await assert.rejects(writer.commit(), isStoreError('ENOSPC'));
    assert.throws(() => writer.append(encodeRecord(ack(20))), isStoreError('ENOSPC'));
    await writer.close();
  });
});
