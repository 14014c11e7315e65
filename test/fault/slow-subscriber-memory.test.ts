import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Bus } from '../../src/bus.js';
import type { Subscription } from '../../src/subscription.js';

/**
 * A slow subscriber must not grow memory without bound: 1 000 000 QoS 0 messages through a
 * bounded queue (queueSize 1024, drop-oldest by default) with the default microtask dispatch.
 * The bound asserted is a memory bound, not a timing threshold.
 */

const TOTAL = 1_000_000;
const QUEUE_SIZE = 1024;
/** Publishes between yields to the event loop. */
const CHUNK = 4096;
/**
 * Generous bound. Each publish allocates a Message (~15 fields) and a payload object (8 fields):
 * roughly 200 bytes, so retaining them all would be ~200 MB and even a 10 % leak ~20 MB.
 */
const HEAP_GROWTH_LIMIT = 20 * 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface Outcome {
  maxPending: number;
  heapGrowth: number;
}

/**
 * Publishes TOTAL messages with fresh object payloads, yielding every CHUNK publishes; `beforeYield`
 * runs before each yield (to let a paused consumer take a few). Heap is measured after a warm-up
 * chunk (queue full, code optimised) and at the end.
 */
async function flood(bus: Bus, sub: Subscription, beforeYield: () => void): Promise<Outcome> {
  const topic = bus.topic('load.tick');
  let maxPending = 0;
  let baseline = -1;
  for (let i = 0; i < TOTAL; i++) {
    topic.publish({ seq: i, a: i, b: i, c: i, d: i, e: i, f: i, g: i });
    const pending = sub.pending;
    if (pending > maxPending) maxPending = pending;
    if ((i + 1) % CHUNK === 0) {
      beforeYield();
      await new Promise(setImmediate);
      if (baseline < 0 && i + 1 >= 16 * CHUNK) baseline = heapAfterGc();
    }
  }
  beforeYield();
  await new Promise(setImmediate);
  const end = heapAfterGc();
  return { maxPending, heapGrowth: end - baseline };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

describe('slow subscriber (1 000 000 QoS 0 messages, queueSize 1024)', () => {
  it('keeps a never-pulling pull subscription at <= 1024 pending, counts every drop, and bounds the heap', async () => {
    const bus = new Bus();
    let dropEvents = 0;
    bus.on('drop', (e) => {
      if (e.reason === 'overflow') dropEvents++;
    });
    const sub = bus.subscribe('load.*', { queueSize: QUEUE_SIZE });
    const { maxPending, heapGrowth } = await flood(bus, sub, () => {});

    assert.ok(maxPending <= QUEUE_SIZE, `pending peaked at ${maxPending}`);
    assert.equal(sub.pending, QUEUE_SIZE, 'the queue is full at the end');
    assert.equal(sub.delivered, 0, 'nothing was pulled');
    assert.equal(
      sub.dropped,
      TOTAL - sub.delivered - sub.pending,
      'dropped = published - delivered - pending'
    );
    assert.equal(dropEvents, sub.dropped, "one 'drop' event per drop");
    assert.equal(bus.stats().totals.dropped.overflow, sub.dropped);
    assert.ok(
      heapGrowth < HEAP_GROWTH_LIMIT,
      `heap grew by ${mb(heapGrowth)} (limit ${mb(HEAP_GROWTH_LIMIT)})`
    );

    // What is left is the newest QUEUE_SIZE messages, in order.
    const batch = await sub.pull(QUEUE_SIZE);
    assert.equal(batch.length, QUEUE_SIZE);
    assert.equal(batch[0].id + QUEUE_SIZE - 1, batch[QUEUE_SIZE - 1].id);
    await bus.close();
  });

  it('keeps a mostly paused push handler at <= 1024 pending, with dropped = published - delivered - pending, and bounds the heap', async () => {
    const bus = new Bus();
    let handled = 0;
    let lastSeen = -1;
    let outOfOrder = 0;
    // The handler takes 8 messages, then pauses itself until the publisher's next yield.
    const sub: Subscription = bus.subscribe(
      'load.*',
      (msg) => {
        handled++;
        if (msg.id <= lastSeen) outOfOrder++;
        lastSeen = msg.id;
        if (handled % 8 === 0) sub.pause();
      },
      { queueSize: QUEUE_SIZE }
    );
    const { maxPending, heapGrowth } = await flood(bus, sub, () => sub.resume());

    assert.ok(handled > 0, 'the handler ran');
    assert.ok(handled < TOTAL / 10, `the handler was slow (handled ${handled})`);
    assert.equal(sub.delivered, handled);
    assert.equal(outOfOrder, 0, 'deliveries stay in publish order');
    assert.ok(maxPending <= QUEUE_SIZE, `pending peaked at ${maxPending}`);
    assert.ok(sub.dropped > 0, 'the slow handler made the queue drop');
    assert.equal(
      sub.dropped,
      TOTAL - sub.delivered - sub.pending,
      'dropped = published - delivered - pending'
    );
    assert.ok(
      heapGrowth < HEAP_GROWTH_LIMIT,
      `heap grew by ${mb(heapGrowth)} (limit ${mb(HEAP_GROWTH_LIMIT)})`
    );
    await bus.close();
  });
});
