import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bus, type DropEvent } from '../../src/bus.js';
import { RingbusError } from '../../src/errors.js';
import type { Overflow } from '../../src/options.js';

/**
 * Overflow policies through the public Bus API, with `dispatch: 'manual'` so delivery happens
 * exactly at `flush()`. Each run is compared against a small reference model of one bounded
 * queue. The queue bound is `queueSize` rounded up to a power of two (documented on
 * SubscribeOptions.queueSize); the model computes that independently.
 */

function boundOf(queueSize: number): number {
  let cap = 1;
  while (cap < queueSize) cap *= 2;
  return cap;
}

type Op = { readonly kind: 'publish'; readonly count: number } | { readonly kind: 'flush' };

const opsArb: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .integer({ min: 1, max: 20 })
        .map((count) => ({ kind: 'publish', count }) as const)
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'flush' } as const) }
  ),
  { maxLength: 40 }
);

/** Rejects when `promise` is not settled within `ms` (a bound, not a synchronisation sleep). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves to true when `promise` has settled after the pending microtasks and one macrotask. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true)
  );
  await new Promise(setImmediate);
  return settled;
}

function assertQueueFull(err: unknown): true {
  assert.ok(err instanceof RingbusError, `expected a RingbusError, got ${String(err)}`);
  assert.equal(err.code, 'ERR_QUEUE_FULL');
  assert.match(err.message, /q\.x/u, 'the message names the full queue');
  assert.match(err.message, /publishAsync/u, 'the message says what to do');
  return true;
}

describe('queue overflow policies (property, manual dispatch)', () => {
  for (const overflow of [
    'drop-oldest',
    'drop-newest',
    'block'
  ] as const satisfies readonly Overflow[]) {
    it(`delivers and drops exactly what a bounded ${overflow} queue model predicts, with matching 'dropped' and 'drop' events`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 40 }), opsArb, (queueSize, ops) => {
          const bus = new Bus({ dispatch: 'manual' });
          const drops: DropEvent[] = [];
          bus.on('drop', (e) => drops.push(e));
          const got: number[] = [];
          const gotWide: number[] = [];
          const sub = bus.subscribe('q.x', (m) => void got.push(m.payload as number), {
            queueSize,
            overflow
          });
          // A second, never-full subscriber on the same topic: fan-out must not be affected by the
          // first queue's policy, and a 'block' refusal must leave it untouched too.
          const wide = bus.subscribe('q.*', (m) => void gotWide.push(m.payload as number), {
            queueSize: 4096,
            overflow: 'drop-oldest'
          });

          const cap = boundOf(queueSize);
          let queue: number[] = [];
          let wideQueue: number[] = [];
          const expected: number[] = [];
          const expectedWide: number[] = [];
          const expectedDrops: number[] = [];
          let next = 0;

          for (const op of ops) {
            if (op.kind === 'flush') {
              bus.flush();
              expected.push(...queue);
              expectedWide.push(...wideQueue);
              queue = [];
              wideQueue = [];
            } else {
              for (let i = 0; i < op.count; i++) {
                const v = next++;
                const full = queue.length === cap;
                if (overflow === 'block' && full) {
                  assert.throws(() => bus.publish('q.x', v), assertQueueFull);
                  continue; // nothing was enqueued anywhere
                }
                let entered = 2;
                if (!full) queue.push(v);
                else if (overflow === 'drop-oldest') {
                  expectedDrops.push(queue.shift()!);
                  queue.push(v);
                } else {
                  expectedDrops.push(v);
                  entered = 1;
                }
                wideQueue.push(v);
                assert.equal(
                  bus.publish('q.x', v),
                  entered,
                  `publish ${v} entered ${entered} queue(s)`
                );
              }
            }
            assert.equal(sub.pending, queue.length, 'pending');
            assert.equal(wide.pending, wideQueue.length, 'pending of the wide subscriber');
            assert.equal(sub.dropped, expectedDrops.length, 'dropped');
            assert.equal(wide.dropped, 0, 'the wide subscriber dropped nothing');
          }
          bus.flush();
          expected.push(...queue);
          expectedWide.push(...wideQueue);

          assert.deepEqual(got, expected, 'messages delivered to the bounded subscriber');
          assert.deepEqual(gotWide, expectedWide, 'messages delivered to the wide subscriber');
          assert.equal(sub.dropped, expectedDrops.length);
          assert.equal(drops.length, expectedDrops.length, "one 'drop' event per dropped message");
          assert.deepEqual(
            drops.map((d) => d.message.payload),
            expectedDrops,
            "the 'drop' events carry the dropped messages, in order"
          );
          for (const d of drops) {
            assert.equal(d.reason, 'overflow');
            assert.equal(d.pattern, 'q.x');
            assert.equal(d.channel, undefined);
          }
          if (overflow === 'block') assert.equal(expectedDrops.length, 0, "'block' never drops");
          const s = bus.stats();
          assert.equal(
            s.totals.dropped.overflow,
            expectedDrops.length,
            'stats count the same drops'
          );
          assert.equal(
            s.totals.delivered,
            expected.length + expectedWide.length,
            'stats count the deliveries'
          );
        }),
        { seed: 42, numRuns: 150 }
      );
    });
  }

  it("makes publish throw ERR_QUEUE_FULL on a full 'block' queue and enqueue the message nowhere", () => {
    const bus = new Bus({ dispatch: 'manual' });
    const got: number[] = [];
    const other: number[] = [];
    const full = bus.subscribe('q.x', (m) => void got.push(m.payload as number), {
      queueSize: 2,
      overflow: 'block'
    });
    const roomy = bus.subscribe('q.>', (m) => void other.push(m.payload as number), {
      queueSize: 64
    });
    assert.equal(bus.publish('q.x', 1), 2);
    assert.equal(bus.publish('q.x', 2), 2);
    assert.throws(() => bus.publish('q.x', 3), assertQueueFull);
    assert.throws(
      () => bus.topic('q.x').publish(4),
      assertQueueFull,
      'a topic handle obeys the same policy'
    );
    assert.equal(full.pending, 2);
    assert.equal(
      roomy.pending,
      2,
      'the non-full subscriber did not get the refused messages either'
    );
    bus.flush();
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(other, [1, 2]);
    assert.equal(bus.stats().totals.published, 2, 'a refused publish is not counted as published');
  });

  it("makes publishAsync wait on a full 'block' queue and complete once a flush frees room", async () => {
    const bus = new Bus({ dispatch: 'manual' });
    const got: number[] = [];
    const other: number[] = [];
    bus.subscribe('q.x', (m) => void got.push(m.payload as number), {
      queueSize: 1,
      overflow: 'block'
    });
    bus.subscribe('q.*', (m) => void other.push(m.payload as number), { queueSize: 64 });
    assert.equal(bus.publish('q.x', 0), 2);

    const p1 = bus.publishAsync('q.x', 1);
    const p2 = bus.publishAsync('q.x', 2);
    assert.equal(await isSettled(p1), false, 'publishAsync waits while the queue is full');
    assert.equal(await isSettled(p2), false);
    bus.flush(); // delivers 0, frees one slot
    assert.deepEqual(got, [0]);
    assert.deepEqual(other, [0], 'nothing entered the other queue while waiting');
    assert.equal(
      await within(p1, 2000, 'first publishAsync'),
      2,
      'entered both queues once there was room'
    );
    assert.equal(
      await isSettled(p2),
      false,
      'the second waiter waits again: the freed slot was taken'
    );
    bus.flush();
    assert.equal(await within(p2, 2000, 'second publishAsync'), 2);
    bus.flush();
    assert.deepEqual(got, [0, 1, 2], 'FIFO order of the waiting publishers is kept');
    assert.deepEqual(other, [0, 1, 2]);
  });

  it('rejects a waiting publishAsync with ERR_CLOSED when the bus closes', async () => {
    const bus = new Bus({ dispatch: 'manual' });
    const sub = bus.subscribe('q.x', () => {}, { queueSize: 1, overflow: 'block' });
    sub.pause();
    bus.publish('q.x', 0);
    const p = bus.publishAsync('q.x', 1);
    assert.equal(await isSettled(p), false);
    await bus.close();
    await assert.rejects(within(p, 2000, 'publishAsync after close'), (err: unknown) => {
      assert.ok(err instanceof RingbusError);
      assert.equal(err.code, 'ERR_CLOSED');
      assert.match(err.message, /publishAsync/u);
      return true;
    });
  });
});

describe('conflation (property, manual dispatch)', () => {
  const TOPICS = ['c.t0', 'c.t1', 'c.t2', 'c.t3', 'c.t4'];
  type COp = { readonly kind: 'publish'; readonly topic: number } | { readonly kind: 'flush' };
  const cOpsArb: fc.Arbitrary<COp[]> = fc.array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .integer({ min: 0, max: TOPICS.length - 1 })
          .map((topic) => ({ kind: 'publish', topic }) as const)
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'flush' } as const) }
    ),
    { maxLength: 80 }
  );

  it('delivers exactly the latest payload per topic, in first-arrival order of the topics', () => {
    fc.assert(
      fc.property(cOpsArb, (ops) => {
        const bus = new Bus({ dispatch: 'manual' });
        const got: [string, number][] = [];
        const sub = bus.subscribe('c.*', (m) => void got.push([m.topic, m.payload as number]), {
          conflate: true
        });
        let model = new Map<string, number>();
        const expected: [string, number][] = [];
        let next = 0;
        for (const op of ops) {
          if (op.kind === 'flush') {
            bus.flush();
            expected.push(...model);
            model = new Map();
          } else {
            const topic = TOPICS[op.topic];
            const v = next++;
            model.set(topic, v); // a Map keeps first-insertion order on overwrite
            assert.equal(bus.publish(topic, v), 1);
          }
          assert.equal(sub.pending, model.size, 'one queued message per topic');
        }
        bus.flush();
        expected.push(...model);
        assert.deepEqual(got, expected);
        assert.equal(sub.dropped, 0, 'conflation is not a drop');
      }),
      { seed: 42, numRuns: 200 }
    );
  });

  for (const overflow of ['drop-oldest', 'drop-newest'] as const) {
    it(`conflates per topic and applies ${overflow} when a new topic finds the queue full`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), cOpsArb, (queueSize, ops) => {
          const bus = new Bus({ dispatch: 'manual' });
          const drops: unknown[] = [];
          bus.on('drop', (e) => drops.push(e.message.payload));
          const got: [string, number][] = [];
          const sub = bus.subscribe('c.*', (m) => void got.push([m.topic, m.payload as number]), {
            conflate: true,
            queueSize,
            overflow
          });
          const cap = boundOf(queueSize);
          let model = new Map<string, number>();
          const expected: [string, number][] = [];
          const expectedDrops: number[] = [];
          let next = 0;
          for (const op of ops) {
            if (op.kind === 'flush') {
              bus.flush();
              expected.push(...model);
              model = new Map();
              continue;
            }
            const topic = TOPICS[op.topic];
            const v = next++;
            let entered = 1;
            if (model.has(topic)) model.set(topic, v);
            else if (model.size < cap) model.set(topic, v);
            else if (overflow === 'drop-oldest') {
              const [oldestTopic, oldestValue] = model.entries().next().value!;
              model.delete(oldestTopic);
              expectedDrops.push(oldestValue);
              model.set(topic, v);
            } else {
              expectedDrops.push(v);
              entered = 0;
            }
            assert.equal(bus.publish(topic, v), entered);
            assert.equal(sub.pending, model.size);
          }
          bus.flush();
          expected.push(...model);
          assert.deepEqual(got, expected);
          assert.deepEqual(drops, expectedDrops);
          assert.equal(sub.dropped, expectedDrops.length);
        }),
        { seed: 42, numRuns: 200 }
      );
    });
  }

  it("lets a conflating 'block' queue replace a queued topic's message even when the queue is full", () => {
    // Replacing the queued message of a topic needs no room, so 'block' has nothing to refuse.
    const bus = new Bus({ dispatch: 'manual' });
    const got: [string, number][] = [];
    bus.subscribe('c.*', (m) => void got.push([m.topic, m.payload as number]), {
      conflate: true,
      queueSize: 2,
      overflow: 'block'
    });
    bus.publish('c.t0', 1);
    bus.publish('c.t1', 2);
    assert.throws(
      () => bus.publish('c.t2', 3),
      (err: unknown) => err instanceof RingbusError && err.code === 'ERR_QUEUE_FULL'
    );
    assert.doesNotThrow(
      () => bus.publish('c.t0', 4),
      'an update of a queued topic fits a full conflating queue'
    );
    bus.flush();
    assert.deepEqual(got, [
      ['c.t0', 4],
      ['c.t1', 2]
    ]);
  });
});
