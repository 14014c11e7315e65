import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RingbusError } from '../../src/errors.js';
import { RecordType, type StoreRecord } from '../../adapters/store/record.js';
import { scanSegment } from '../../adapters/store/scan.js';
import {
  type OpenSegmentFile,
  type SegmentFile,
  SegmentWriter
} from '../../adapters/store/segment.js';

const ack = (id: number): StoreRecord => ({ type: RecordType.ACK, channel: 'jobs', id });

/** Real files, with every writev and datasync on the segment counted (and optionally failed). */
function countingOpen(fail?: { on: 'writev' | 'datasync'; code: string; afterWrites?: number }) {
  const calls = { writev: 0, datasync: 0, segmentOpens: 0 };
  const openFile: OpenSegmentFile = async (path, flags) => {
    const handle = await open(path, flags);
    if (flags === 'r') return handle; // the directory, synced once at creation
    calls.segmentOpens++;
    const file: SegmentFile = {
      writev: async (buffers) => {
        calls.writev++;
        if (fail?.on === 'writev' && calls.writev > (fail.afterWrites ?? 1)) throw errno(fail.code);
        return handle.writev(buffers);
      },
      datasync: async () => {
        calls.datasync++;
        if (fail?.on === 'datasync' && calls.writev > (fail.afterWrites ?? 1))
          throw errno(fail.code);
        return handle.datasync();
      },
      close: () => handle.close()
    };
    return file;
  };
  return { calls, openFile };
}

function errno(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected`);
  err.code = code;
  return err;
}

describe('SegmentWriter', () => {
  let dir = '';
  let n = 0;
  const next = () => join(dir, `seg-${n++}.rbwl`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringbus-store-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a segment with the RBWL header and refuses an existing file', async () => {
    const path = next();
    const writer = await SegmentWriter.create(path);
    await writer.close();
    assert.equal(
      Buffer.from(await readFile(path)).toString('hex'),
      '5242574c' + '0100' + '00'.repeat(10)
    );
    await assert.rejects(SegmentWriter.create(path), (err: unknown) => {
      assert.ok(err instanceof RingbusError);
      assert.match(err.message, /EEXIST/);
      return true;
    });
  });

  it('refuses bad options with ERR_INVALID_OPTIONS, creating no file', async () => {
    for (const [options, field] of [
      [{ fsync: 'sometimes' }, /fsync must be 'always', 'batch' or 'never'/],
      [{ fsyncIntervalMs: -1 }, /fsyncIntervalMs must be >= 0/],
      [{ fsyncIntervalMs: 1.5 }, /fsyncIntervalMs must be an integer/],
      [{ openFile: 'open' }, /openFile must be a function/],
      [{ fsyncMs: 5 }, /unknown option\(s\) 'fsyncMs'/]
    ] as const) {
      const path = next();
      await assert.rejects(SegmentWriter.create(path, options as never), (err: unknown) => {
        assert.ok(err instanceof RingbusError);
        assert.equal(err.code, 'ERR_INVALID_OPTIONS');
        assert.match(err.message, field);
        return true;
      });
      await assert.rejects(readFile(path), /ENOENT/);
    }
  });

  it("group commit: 100 appends in one tick make one writev and one datasync ('always')", async () => {
    const { calls, openFile } = countingOpen();
    const path = next();
    const writer = await SegmentWriter.create(path, { fsync: 'always', openFile });
    calls.writev = calls.datasync = 0; // the header's write and sync
    const records = Array.from({ length: 100 }, (_, i) => ack(i));
    await Promise.all(records.map((r) => writer.append(r)));
    assert.deepEqual(
      { writev: calls.writev, datasync: calls.datasync },
      { writev: 1, datasync: 1 }
    );
    await writer.close();
    const scan = await scanSegment(path);
    assert.equal(scan.problem, undefined);
    assert.deepEqual(scan.records, records);
  });

  it('resolves an append only after its batch is written and synced', async () => {
    const { calls, openFile } = countingOpen();
    const writer = await SegmentWriter.create(next(), { openFile });
    const syncsBefore = calls.datasync;
    let isDone = false;
    const done = writer.append(ack(1)).then(() => {
      isDone = true;
      assert.equal(calls.datasync, syncsBefore + 1);
    });
    await Promise.resolve();
    assert.equal(isDone, false);
    await done;
    await writer.close();
  });

  it('appends made while a batch is in flight form the next batch, in order', async () => {
    const { calls, openFile } = countingOpen();
    const path = next();
    const writer = await SegmentWriter.create(path, { openFile });
    calls.writev = calls.datasync = 0;
    const first = Array.from({ length: 10 }, (_, i) => writer.append(ack(i)));
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is now in flight
    const second = Array.from({ length: 10 }, (_, i) => writer.append(ack(10 + i)));
    await Promise.all([...first, ...second]);
    assert.equal(calls.writev, 2);
    assert.equal(calls.datasync, 2);
    await writer.close();
    const scan = await scanSegment(path);
    assert.deepEqual(
      scan.records.map((r) => (r.type === RecordType.ACK ? r.id : -1)),
      Array.from({ length: 20 }, (_, i) => i)
    );
  });

  it("'batch' gathers appends for fsyncIntervalMs into one write and one sync", async () => {
    const { calls, openFile } = countingOpen();
    const writer = await SegmentWriter.create(next(), {
      fsync: 'batch',
      fsyncIntervalMs: 30,
      openFile
    });
    calls.writev = calls.datasync = 0;
    const all: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      all.push(writer.append(ack(i)));
      await new Promise((resolve) => setImmediate(resolve)); // separate ticks
    }
    await Promise.all(all);
    assert.deepEqual(
      { writev: calls.writev, datasync: calls.datasync },
      { writev: 1, datasync: 1 }
    );
    await writer.close();
  });

  it("'never' writes without syncing", async () => {
    const { calls, openFile } = countingOpen();
    const writer = await SegmentWriter.create(next(), { fsync: 'never', openFile });
    await Promise.all([writer.append(ack(1)), writer.append(ack(2))]);
    assert.deepEqual(
      { writev: calls.writev, datasync: calls.datasync },
      { writev: 2, datasync: 0 }
    );
    await writer.close();
  });

  it('close writes what is pending, then later appends reject with ERR_CLOSED', async () => {
    const path = next();
    const writer = await SegmentWriter.create(path);
    const pending = writer.append(ack(7));
    await writer.close();
    await pending;
    assert.deepEqual((await scanSegment(path)).records, [ack(7)]);
    await assert.rejects(writer.append(ack(8)), (err: unknown) => {
      assert.ok(err instanceof RingbusError);
      assert.equal(err.code, 'ERR_CLOSED');
      return true;
    });
  });

  for (const [on, code] of [
    ['writev', 'ENOSPC'],
    ['writev', 'EBADF'],
    ['datasync', 'EIO'],
    ['datasync', 'EACCES']
  ] as const) {
    it(`a failed ${on} (${code}) rejects every pending append, and every later one`, async () => {
      const { openFile } = countingOpen({ on, code });
      const writer = await SegmentWriter.create(next(), { openFile });
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => writer.append(ack(i)))
      );
      const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as unknown) : r));
      for (const reason of reasons) {
        assert.ok(reason instanceof RingbusError, 'every append rejects');
        assert.equal(reason.code, 'ERR_STORE');
        assert.match(reason.message, new RegExp(code));
        assert.equal((reason.cause as NodeJS.ErrnoException).code, code);
      }
      await assert.rejects(writer.append(ack(99)), new RegExp(code));
      await writer.close();
    });
  }

  it('a real ENOSPC (/dev/full) rejects every pending append', async (t) => {
    let full;
    try {
      full = await open('/dev/full', 'w');
    } catch {
      t.skip('no /dev/full on this system');
      return;
    }
    const devFull = full;
    // The header goes to a real file; every later write goes to /dev/full, which fails with ENOSPC.
    const openFile: OpenSegmentFile = async (path, flags) => {
      const handle = await open(path, flags);
      if (flags === 'r') return handle;
      let writes = 0;
      return {
        writev: (buffers) => (writes++ === 0 ? handle.writev(buffers) : devFull.writev(buffers)),
        datasync: () => handle.datasync(),
        close: async () => {
          await handle.close();
          await devFull.close();
        }
      };
    };
    const writer = await SegmentWriter.create(next(), { openFile });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => writer.append(ack(i)))
    );
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String(r.reason), /ERR_STORE: .*\(ENOSPC\)/);
    }
    await writer.close();
  });
});
