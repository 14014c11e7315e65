import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { RingReader } from '../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../adapters/worker/ring-writer.js';
import { RingWord, createSharedRing } from '../../adapters/worker/shared-ring.js';
import {
  type RecordKind,
  type RingRunReport,
  planRecords,
  readPlan,
  writePlan
} from '../helpers/ring-records.js';
import { within } from '../helpers/wait.js';

/**
 * A shared ring between two real threads: one side in a worker (test/property/fixtures/
 * ring-peer.ts, blocking waits), the other here on the main thread (async waits) or in a second
 * worker. Both build the same seeded plan of records, aimed at the boundaries (a record ending
 * exactly at the end of the data, one needing padding, one filling the ring, one a byte over
 * capacity), so the reader checks every frame, byte by byte, with no other channel between them.
 * Thread timing varies from run to run; the bytes and their order may not.
 */

/** Longest a side waits for the other before failing (a bound, never a synchronisation). */
const WAIT_MS = 5000;
/** Longest a whole run may take. */
const RUN_MS = 20_000;
const PEER = new URL('./fixtures/ring-peer.js', import.meta.url);

type Side = 'main' | 'worker';

interface RunOptions {
  capacity: number;
  seed: number;
  count: number;
  writer: Side;
  reader: Side;
  /** Free-running index both sides start from (to cross 2^31 and 2^32). */
  startIndex?: number;
}

function startOffsetOf(o: RunOptions): number {
  return (o.startIndex ?? 0) & (o.capacity - 1);
}

function startPeer(
  role: 'writer' | 'reader',
  ring: SharedArrayBuffer,
  o: RunOptions
): { report: Promise<RingRunReport>; stop: () => Promise<number> } {
  const worker = new Worker(PEER, {
    workerData: {
      role,
      ring,
      seed: o.seed,
      count: o.count,
      startOffset: startOffsetOf(o),
      timeoutMs: WAIT_MS
    }
  });
  const report = new Promise<RingRunReport>((resolve, reject) => {
    worker.once('message', (r: RingRunReport) => resolve(r));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`${role} worker exited (${code}) without a report`))
    );
  });
  return { report, stop: () => worker.terminate() };
}

async function run(o: RunOptions): Promise<{ written: RingRunReport; read: RingRunReport }> {
  const ring = createSharedRing({ capacityBytes: o.capacity });
  if (o.startIndex !== undefined) {
    const header = new Int32Array(ring, 0, 48);
    header[RingWord.WRITE] = o.startIndex;
    header[RingWord.READ] = o.startIndex;
  }
  const plan = planRecords(o.seed, o.capacity, o.count, startOffsetOf(o));
  const peers: { stop: () => Promise<number> }[] = [];
  try {
    let written: Promise<RingRunReport>;
    let read: Promise<RingRunReport>;
    if (o.reader === 'worker') {
      const peer = startPeer('reader', ring, o);
      peers.push(peer);
      read = peer.report;
    } else {
      const reader = new RingReader(ring);
      read = readPlan(reader, plan, o.seed + 1, () => reader.waitForDataAsync(WAIT_MS));
    }
    if (o.writer === 'worker') {
      const peer = startPeer('writer', ring, o);
      peers.push(peer);
      written = peer.report;
    } else {
      const writer = new RingWriter(ring);
      written = writePlan(writer, plan, (bytes) => writer.waitForSpaceAsync(bytes, WAIT_MS));
    }
    // Settle both before asserting, so a failure on one side is reported, not a hang on the other.
    const [w, r] = await within(Promise.allSettled([written, read]), RUN_MS, 'the ring run');
    if (w.status === 'rejected') throw w.reason;
    if (r.status === 'rejected') throw r.reason;
    return { written: w.value, read: r.value };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}

function kindsOf(seed: number, capacity: number, count: number): Map<RecordKind, number> {
  const kinds = new Map<RecordKind, number>();
  for (const spec of planRecords(seed, capacity, count)) {
    kinds.set(spec.kind, (kinds.get(spec.kind) ?? 0) + 1);
  }
  return kinds;
}

function assertDelivered(
  o: RunOptions,
  result: { written: RingRunReport; read: RingRunReport }
): void {
  const plan = planRecords(o.seed, o.capacity, o.count, startOffsetOf(o));
  const records = plan.filter((s) => s.kind !== 'oversize');
  const bytes = records.reduce((n, s) => n + s.length, 0);
  assert.equal(result.written.records, records.length, 'records written');
  assert.equal(result.read.records, records.length, 'records read');
  assert.equal(result.read.bytes, bytes, 'bytes read (no padding or slack handed out)');
  assert.ok(bytes > o.capacity * 50, `the run wraps the ring many times (${bytes} B)`);
}

describe('shared ring across two threads', () => {
  it('plans cover every boundary: reach-end, one-short, needs-padding, fill, oversize', () => {
    const kinds = kindsOf(7, 64, 20_000);
    for (const kind of ['reach-end', 'one-short', 'needs-padding', 'fill', 'oversize'] as const) {
      assert.ok((kinds.get(kind) ?? 0) > 200, `${kind}: ${kinds.get(kind) ?? 0} records`);
    }
  });

  it('carries 12 000 seeded records from a worker to the main thread in order and intact (capacity 64, async reader)', async () => {
    const o: RunOptions = {
      capacity: 64,
      seed: 7,
      count: 12_000,
      writer: 'worker',
      reader: 'main'
    };
    assertDelivered(o, await run(o));
  });

  it('carries 12 000 seeded records from the main thread to a worker in order and intact (capacity 256, async writer)', async () => {
    const o: RunOptions = {
      capacity: 256,
      seed: 11,
      count: 12_000,
      writer: 'main',
      reader: 'worker'
    };
    assertDelivered(o, await run(o));
  });

  it('carries 15 000 records between two workers with blocking waits on the smallest ring (capacity 16)', async () => {
    const o: RunOptions = {
      capacity: 16,
      seed: 23,
      count: 15_000,
      writer: 'worker',
      reader: 'worker'
    };
    assertDelivered(o, await run(o));
  });

  it('carries 3 000 records of up to 4 KiB between two workers (capacity 4096)', async () => {
    const o: RunOptions = {
      capacity: 4096,
      seed: 31,
      count: 3000,
      writer: 'worker',
      reader: 'worker'
    };
    assertDelivered(o, await run(o));
  });

  it('keeps order and content while the free-running indices cross 2^31 and 2^32', async () => {
    for (const startIndex of [0x7fff_ff00 - 5, -0x100 - 5]) {
      const o: RunOptions = {
        capacity: 32,
        seed: 41,
        count: 3000,
        writer: 'worker',
        reader: 'worker',
        startIndex
      };
      assertDelivered(o, await run(o));
    }
  });
});
