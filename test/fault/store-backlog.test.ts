import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LogWriter, openFileHandle } from '../../adapters/store/log-writer.js';
import { RecordType, encodeRecord } from '../../adapters/store/record.js';
import { PayloadKind } from '../../src/frames/frame-type.js';
import { NO_HEADERS } from '../../src/message.js';

/**
 * A durable channel with a backlog of ten million unacked messages recovers with bounded memory:
 * the store keeps one queue's worth in memory and reads the rest back from the log as the channel
 * drains (its spill cursor), so recovery holds neither ten million envelopes nor their records.
 * The log is written straight through the store's LogWriter (publishing ten million messages
 * through a bus would take minutes); the bus opens it in a child process that reports its heap.
 * The bounds asserted are memory bounds, not timing thresholds.
 */

const TOTAL = 10_000_000;
const QUEUE_SIZE = 1024;
/** Messages the child consumes: many windows, so the spill reader moves through segments. */
const CONSUMED = 200 * QUEUE_SIZE;
/**
 * Ten million messages held in memory would take well over 1 GB (an envelope and a record object
 * each); one window of 1024 and the store's per-channel state fit in a few MB above the baseline.
 */
const HEAP_LIMIT = 128 * 1024 * 1024;
const CHANNEL_KEY = 'workers jobs.*';

const dir = mkdtempSync(join(tmpdir(), 'ringbus-backlog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a log of TOTAL messages of `jobs.run` in channel `workers`, none acked. */
async function writeBacklog(): Promise<void> {
  const writer = new LogWriter(
    {
      dir,
      fsync: 'never',
      fsyncIntervalMs: 0,
      segmentBytes: 64 << 20,
      openFile: openFileHandle,
      idFloor: () => 0
    },
    1
  );
  const settings = JSON.stringify({
    pattern: 'jobs.*',
    name: 'workers',
    queueSize: QUEUE_SIZE,
    overflow: 'block',
    ackTimeoutMs: 30_000,
    maxAttempts: 5
  });
  const created = encodeRecord({
    type: RecordType.CHANNEL_CREATED,
    channel: CHANNEL_KEY,
    settings
  });
  writer.onSegment = () => writer.append(created);
  writer.append(created);
  const payload = new Uint8Array(8);
  const view = new DataView(payload.buffer);
  for (let id = 1; id <= TOTAL; id++) {
    view.setFloat64(0, id, true);
    writer.append(
      encodeRecord({
        type: RecordType.MESSAGE,
        channel: CHANNEL_KEY,
        id,
        attempt: 1,
        publishedAt: 1_700_000_000_000,
        expiresAt: 0,
        topic: 'jobs.run',
        headers: NO_HEADERS,
        payloadKind: PayloadKind.BYTES,
        payload
      })
    );
    if (id % 100_000 === 0) await writer.commit(); // bounded pending batches
  }
  await writer.close();
}

/** Opens the store in a child: recovery figures, heap after GC, and the first CONSUMED messages' order. */
function recoverInChild(): {
  depth: number;
  recovered: number;
  heapUsed: number;
  external: number;
  inOrder: boolean;
  consumed: number;
} {
  const node = new URL('../../adapters/node.js', import.meta.url).href;
  const script = `
    const { Bus } = await import(${JSON.stringify(node)});
    const bus = new Bus({ store: { dir: ${JSON.stringify(dir)} } });
    const sub = bus.subscribe('jobs.*', { channel: 'workers' });
    let consumed = 0, inOrder = true;
    while (consumed < ${CONSUMED}) {
      const got = await sub.pull(${QUEUE_SIZE}, { timeoutMs: 5000 });
      if (got.length === 0) break;
      for (const m of got) {
        const id = new DataView(m.payload.buffer, m.payload.byteOffset).getFloat64(0, true);
        if (id !== ++consumed || m.id !== id) inOrder = false;
        m.ack();
      }
    }
    globalThis.gc(); globalThis.gc();
    const mem = process.memoryUsage();
    const stats = bus.stats();
    console.log(JSON.stringify({
      depth: bus.channel('jobs.*', 'workers').depth,
      recovered: stats.store.recovery.messages,
      heapUsed: mem.heapUsed,
      external: mem.external,
      inOrder,
      consumed
    }));
    await bus.close();`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    maxBuffer: 1 << 20
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as ReturnType<typeof recoverInChild>;
}

describe('a durable backlog of ten million messages', () => {
  it('recovers whole, keeps one window in memory, and drains in order from the log', async () => {
    await writeBacklog();
    const r = recoverInChild();
    assert.equal(r.recovered, TOTAL, 'every unacked message is accounted for');
    assert.equal(r.consumed, CONSUMED);
    assert.ok(r.inOrder, 'ids come back in publish order across many spill reads');
    assert.equal(r.depth, TOTAL - CONSUMED, 'the rest still waits, on disk');
    assert.ok(
      r.heapUsed < HEAP_LIMIT,
      `heap after recovery and ${CONSUMED} deliveries: ${(r.heapUsed / 1048576).toFixed(1)} MB`
    );
    assert.ok(r.external < HEAP_LIMIT, `external memory: ${(r.external / 1048576).toFixed(1)} MB`);
  });
});
