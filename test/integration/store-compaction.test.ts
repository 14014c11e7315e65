import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { container } from 'tsyringe';
import { Bus, RingbusError, STORE_TOKEN, type StoreStats } from '../../adapters/node.js';
import { FileStore } from '../../adapters/store/file-store.js';
import type { StoreOpener } from '../../src/store.js';
import {
  directoryBytes,
  segmentFiles,
  storeBus,
  storeStats,
  tempDir,
  testOpener,
  type TestOpener
} from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

/** The smallest segments allowed: the loops below fill hundreds of them. */
const SEGMENT_BYTES = 4096;
/** Messages per round of the loops: published together (one group commit), then acked. */
const BATCH = 100;

function isStoreError(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RingbusError, `expected a RingbusError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_STORE');
    assert.match(err.message, new RegExp(`\\(${code}\\)`));
    return true;
  };
}

/** What one publish/ack loop left behind. */
interface LoopResult {
  /** Most segments and segment bytes seen after any round. */
  maxSegments: number;
  maxBytes: number;
  /** Once compaction settled. */
  end: StoreStats;
  endDirectoryBytes: number;
  endFiles: string[];
}

/**
 * Runs `rounds` rounds of BATCH publishes to the durable channel `w` on `jobs.*`, each round
 * pulled and acked in full, with `setup` run first (on the same bus); waits for compaction to
 * settle (at most `settledSegments` segments), then closes the bus.
 */
async function publishAckLoop(
  dir: string,
  rounds: number,
  settledSegments: number,
  setup: (bus: Bus) => Promise<void> = () => Promise.resolve()
): Promise<LoopResult> {
  const bus = new Bus({ store: { dir, segmentBytes: SEGMENT_BYTES } });
  try {
    await setup(bus);
    const sub = bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    let maxSegments = 0;
    let maxBytes = 0;
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        Array.from({ length: BATCH }, (_, i) =>
          bus.publishAsync('jobs.a', { round, i }, { qos: 1 })
        )
      );
      const got = await sub.pull(BATCH);
      assert.equal(got.length, BATCH);
      for (const m of got) assert.ok(m.ack());
      const s = storeStats(bus);
      maxSegments = Math.max(maxSegments, s.segments);
      maxBytes = Math.max(maxBytes, s.bytes);
    }
    await waitFor(
      () => storeStats(bus).segments <= settledSegments,
      10_000,
      `compaction to leave at most ${settledSegments} segment(s)`
    );
    await bus.close(); // waits for a compaction under way
    return {
      maxSegments,
      maxBytes,
      end: storeStats(bus),
      endDirectoryBytes: directoryBytes(dir),
      endFiles: segmentFiles(dir)
    };
  } finally {
    await bus.close();
  }
}

describe('store compaction', () => {
  const root = tempDir('compaction');
  after(() => root.remove());

  /** Segment bytes on disk in `dir` (the LOCK file, holding this pid, aside). */
  const segmentBytesOnDisk = (dir: string): number =>
    directoryBytes(dir) - String(process.pid).length;

  it('stats().store counts the segment files on disk and their bytes', async (t) => {
    const dir = join(root.path, 'accounting');
    let bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES });
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    for (let i = 0; i < 30; i++) await bus.publishAsync('jobs.a', 'x'.repeat(300), { qos: 1 });
    let s = storeStats(bus);
    assert.equal(s.pendingBytes, 0);
    assert.equal(s.segments, segmentFiles(dir).length);
    assert.equal(s.bytes, segmentBytesOnDisk(dir), 'every segment, header included');
    await bus.close();

    bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES });
    bus.subscribe('jobs.*', { channel: 'w' });
    await bus.publishAsync('jobs.a', 'after the restart', { qos: 1 });
    s = storeStats(bus);
    assert.equal(s.segments, segmentFiles(dir).length);
    assert.equal(s.bytes, segmentBytesOnDisk(dir));
  });

  it('stats().store.bytes counts bytes not yet written once', async (t) => {
    const dir = join(root.path, 'pending');
    const bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES });
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    await bus.publishAsync('jobs.a', 'written', { qos: 1 });
    const published = bus.publishAsync('jobs.a', 'x'.repeat(500), { qos: 1 });
    const s = storeStats(bus);
    assert.ok(s.pendingBytes > 500);
    assert.equal(s.bytes - s.pendingBytes, segmentBytesOnDisk(dir));
    await published;
  });

  describe('a steady publish/ack loop: 20 000 messages, 4 KiB segments, nothing left unacked', () => {
    const dir = join(root.path, 'steady');
    let result: LoopResult;
    before(async () => {
      result = await publishAckLoop(dir, 200, 1);
    });

    it('deletes fully acked segments: only the segment being written is left', () => {
      assert.ok(result.end.segmentsDeleted > 0);
      assert.equal(result.end.segments, 1);
      assert.equal(result.endFiles.length, 1);
      assert.equal(result.end.messages, 0);
      // The open segment holds less than segmentBytes plus one record (the one that crossed it).
      assert.ok(
        result.endDirectoryBytes <= SEGMENT_BYTES + 1024,
        `${result.endDirectoryBytes} bytes on disk`
      );
    });

    it('keeps the log bounded while it runs (at most 16 segments, 64 KiB)', () => {
      // One round appends about 9 KB (100 MESSAGE and 100 ACK records): 2–3 segments. All of
      // them are acked by the end of the round, so a compaction that keeps up holds what the last
      // round or two wrote plus the open segment, well under 16 segments. Growth beyond that
      // means disk use follows the number of messages ever published, not the unacked backlog.
      assert.ok(result.maxSegments <= 16, `${result.maxSegments} segments at one point`);
      assert.ok(result.maxBytes <= 16 * (SEGMENT_BYTES + 1024), `${result.maxBytes} bytes`);
    });
  });

  describe('a few long-unacked messages among 10 000 acked ones', () => {
    const dir = join(root.path, 'stuck');
    let result: LoopResult;
    let stuckIds: number[] = [];
    before(async () => {
      // Published first (into the oldest segment), nacked twice, then left queued (their next
      // delivery is attempt 3) while the loop runs.
      result = await publishAckLoop(dir, 100, 2, async (bus) => {
        const slow = bus.subscribe('stuck.*', { channel: 'slow', qos: 1 });
        for (let i = 0; i < 3; i++) await bus.publishAsync('stuck.x', `stuck-${i}`, { qos: 1 });
        for (let round = 0; round < 2; round++) {
          const got = await slow.pull(10);
          stuckIds = got.map((m) => m.id);
          for (const m of got) assert.ok(m.nack());
        }
      });
    });

    it('does not let them pin the log: their segment is rewritten, the disk stays bounded', () => {
      assert.ok(result.end.segmentsRewritten > 0);
      assert.ok(result.end.segmentsDeleted > 0);
      assert.ok(result.end.segments <= 2, `${result.end.segments} segments`);
      assert.equal(result.end.messages, 3);
      assert.ok(
        result.endDirectoryBytes <= 2 * (SEGMENT_BYTES + 1024),
        `${result.endDirectoryBytes} bytes on disk`
      );
    });

    it('brings them back after a restart with their attempt', async (t) => {
      const bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES });
      const recovery = storeStats(bus).recovery;
      assert.deepEqual(recovery.damaged, []);
      assert.equal(recovery.messages, 3);
      const slow = bus.subscribe('stuck.*', { channel: 'slow' });
      const back = await slow.pull(10);
      assert.deepEqual(
        back.map((m) => [m.id, m.payload, m.attempt]),
        [
          [stuckIds[0], 'stuck-0', 3],
          [stuckIds[1], 'stuck-1', 3],
          [stuckIds[2], 'stuck-2', 3]
        ]
      );
      assert.equal(bus.channel('jobs.*', 'w').depth, 0, 'every acked message stays acked');
    });
  });
});

describe('store faults', () => {
  const root = tempDir('faults');
  after(() => root.remove());
  let dirs = 0;
  const freshDir = (): string => join(root.path, `d${dirs++}`);

  /** Makes new buses open their store through `opener` until the test ends. */
  function useOpener(t: TestContext, opener: TestOpener): void {
    const original = container.resolve<StoreOpener>(STORE_TOKEN);
    container.register<StoreOpener>(STORE_TOKEN, {
      useValue: (options, logger) => FileStore.open(options, logger, { openFile: opener.openFile })
    });
    t.after(() => container.register<StoreOpener>(STORE_TOKEN, { useValue: original }));
  }

  /** publishAsync until it stops failing with ERR_STORE (the store retries 1 s after a failure). */
  async function publishOnceRecovered(bus: Bus, payload: string): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await bus.publishAsync('jobs.a', payload, { qos: 1 });
        return;
      } catch (err) {
        if (!(err instanceof RingbusError) || err.code !== 'ERR_STORE' || Date.now() > deadline)
          throw err;
      }
      await delay(100);
    }
  }

  it('a full disk (ENOSPC): publishAsync rejects with ERR_STORE, stats show the failure', async (t) => {
    const opener = testOpener();
    useOpener(t, opener);
    const bus = storeBus(t, freshDir());
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    await bus.publishAsync('jobs.a', 'before', { qos: 1 });
    assert.equal(storeStats(bus).failure, null);

    opener.faults.writev = 'ENOSPC';
    await assert.rejects(bus.publishAsync('jobs.a', 'during', { qos: 1 }), isStoreError('ENOSPC'));
    const s = storeStats(bus);
    assert.match(s.failure ?? '', /ENOSPC/);
    assert.equal(s.failures, 1, 'the failure is counted');
    // Until the store retries, later durable publishes fail at once with the same error.
    await assert.rejects(bus.publishAsync('jobs.a', 'again', { qos: 1 }), isStoreError('ENOSPC'));
  });

  it('a full disk: once space is back, publishAsync works again and its messages last', async (t) => {
    const opener = testOpener();
    useOpener(t, opener);
    const dir = freshDir();
    let bus = storeBus(t, dir);
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    await bus.publishAsync('jobs.a', 'before', { qos: 1 });
    opener.faults.writev = 'ENOSPC';
    await assert.rejects(bus.publishAsync('jobs.a', 'during', { qos: 1 }), isStoreError('ENOSPC'));

    opener.faults.writev = undefined;
    await publishOnceRecovered(bus, 'after');
    assert.equal(storeStats(bus).failure, null);
    await bus.close();

    bus = storeBus(t, dir);
    const sub = bus.subscribe('jobs.*', { channel: 'w' });
    assert.deepEqual(
      (await sub.pull(10)).map((m) => m.payload),
      ['before', 'after'],
      "'during' was refused, so it is not in the log"
    );
  });

  it('a segment that cannot be created (EACCES): ERR_STORE, then recovery', async (t) => {
    const opener = testOpener();
    opener.faults.open = 'EACCES';
    useOpener(t, opener);
    const dir = freshDir();
    let bus = storeBus(t, dir);
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    await assert.rejects(bus.publishAsync('jobs.a', 'refused', { qos: 1 }), (err: unknown) => {
      isStoreError('EACCES')(err);
      assert.match(String(err), /cannot create segment/);
      return true;
    });
    assert.match(storeStats(bus).failure ?? '', /EACCES/);

    opener.faults.open = undefined;
    await publishOnceRecovered(bus, 'accepted');
    await bus.close();

    bus = storeBus(t, dir);
    const sub = bus.subscribe('jobs.*', { channel: 'w' });
    assert.deepEqual(
      (await sub.pull(10)).map((m) => m.payload),
      ['accepted']
    );
  });

  it('an ack while the disk fails does not throw into the caller', async (t) => {
    const opener = testOpener();
    useOpener(t, opener);
    const bus = storeBus(t, freshDir());
    const sub = bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    await bus.publishAsync('jobs.a', 'held', { qos: 1 });
    const [held] = await sub.pull(1);
    opener.faults.writev = 'ENOSPC';
    await assert.rejects(bus.publishAsync('jobs.a', 'refused', { qos: 1 }), isStoreError('ENOSPC'));
    // The ack settles the message in memory; the store's failure is reported by stats().
    let settled: boolean | undefined;
    assert.doesNotThrow(() => (settled = held.ack()));
    assert.equal(settled, true);
  });

  it('a push handler whose auto-ack meets a failing disk does not crash the process', async (t) => {
    const opener = testOpener();
    useOpener(t, opener);
    const bus = storeBus(t, freshDir());
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    t.after(() => process.off('uncaughtException', onUncaught));
    const handled: unknown[] = [];
    bus.subscribe('jobs.*', (m) => void handled.push(m.payload), { channel: 'w', qos: 1 });
    const channel = bus.channel('jobs.*', 'w');
    channel.pause();
    await bus.publishAsync('jobs.a', 'queued', { qos: 1 });
    opener.faults.writev = 'ENOSPC';
    await assert.rejects(bus.publishAsync('jobs.a', 'refused', { qos: 1 }), isStoreError('ENOSPC'));
    channel.resume(); // 'queued' reaches the handler; returning acks it
    await waitFor(() => handled.includes('queued'), 2000, "'queued' to be handled");
    await waitFor(() => bus.stats().totals.acked >= 1, 2000, 'the auto-ack');
    assert.deepEqual(uncaught, []);
  });

  it('a read-only store directory: ERR_STORE (EACCES) from new Bus or publishAsync', (t) => {
    const dir = freshDir();
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    t.after(() => chmodSync(dir, 0o700));
    // Root ignores permissions: the check then runs in a child process that drops to 'nobody'
    // once the library is loaded (the repository itself may not be readable by 'nobody').
    const asRoot = process.getuid?.() === 0;
    if (asRoot) for (let d = dir; d !== tmpdir(); d = dirname(d)) chmodSync(d, 0o755);
    const script = `
      const { Bus } = await import(${JSON.stringify(new URL('../../adapters/node.js', import.meta.url).href)});
      if (${String(asRoot)}) {
        process.setgid(65534);
        process.setuid(65534);
      }
      try {
        const bus = new Bus({ store: { dir: ${JSON.stringify(dir)} } });
        bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
        await bus.publishAsync('jobs.a', 'x', { qos: 1 }).finally(() => bus.close());
        console.log('accepted');
      } catch (err) {
        console.log(err.code + ' ' + err.message);
      }`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8'
    });
    assert.match(out, /^ERR_STORE .*\(EACCES\)/u);
  });
});
