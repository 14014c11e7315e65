import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, type Message } from '../../src/index.js';
import { makeBus, manualBus } from '../helpers/bus.js';
import { ticks, waitFor, within } from '../helpers/wait.js';

const payloads = (ms: Message[]): unknown[] => ms.map((m) => m.payload);

describe('Subscription.pull', () => {
  it('returns queued messages at once, up to max, in order', async (t) => {
    const bus = manualBus(t);
    const sub = bus.subscribe('a');
    for (let i = 0; i < 5; i++) bus.publish('a', i);
    assert.equal(sub.pending, 5);
    // no flush: pulling takes straight from the queue
    assert.deepEqual(payloads(await within(sub.pull(3), 1000)), [0, 1, 2]);
    assert.deepEqual(payloads(await within(sub.pull(10), 1000)), [3, 4]);
    assert.equal(sub.pending, 0);
  });

  it('returns [] at once when nothing is queued and no timeout is given', async (t) => {
    const bus = manualBus(t);
    const sub = bus.subscribe('a');
    assert.deepEqual(await within(sub.pull(10), 1000), []);
  });

  it('waits up to timeoutMs for the first message', async (t) => {
    const bus = makeBus(t);
    const sub = bus.subscribe('a');
    let result: Message[] | undefined;
    const p = sub.pull(10, { timeoutMs: 5000 }).then((ms) => (result = ms));
    await ticks(5);
    assert.equal(result, undefined, 'still waiting');
    bus.publish('a', 'x');
    bus.publish('a', 'y');
    await within(p, 2000, 'pull');
    assert.deepEqual(payloads(result!), ['x', 'y']);
  });

  it('returns [] when timeoutMs passes without a message', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const bus = makeBus(t);
    const sub = bus.subscribe('a');
    let result: Message[] | undefined;
    void sub.pull(10, { timeoutMs: 100 }).then((ms) => (result = ms));
    t.mock.timers.tick(99);
    await ticks();
    assert.equal(result, undefined);
    t.mock.timers.tick(1);
    await ticks();
    assert.deepEqual(result, []);
  });

  it('rejects with ERR_INVALID_OPTIONS on a push subscription and on bad arguments', async (t) => {
    const bus = manualBus(t);
    const push = bus.subscribe('a', () => {});
    await assert.rejects(push.pull(1), { code: ErrorCode.INVALID_OPTIONS });
    assert.throws(() => push[Symbol.asyncIterator](), { code: ErrorCode.INVALID_OPTIONS });
    const pull = bus.subscribe('a');
    await assert.rejects(pull.pull(0), { code: ErrorCode.INVALID_OPTIONS });
    await assert.rejects(pull.pull(1, { timeoutMs: -1 }), { code: ErrorCode.INVALID_OPTIONS });
  });

  it('unsubscribe resolves a waiting pull with []', async (t) => {
    const bus = makeBus(t);
    const sub = bus.subscribe('a');
    const p = sub.pull(10, { timeoutMs: 60_000 });
    sub.unsubscribe();
    assert.deepEqual(await within(p, 1000, 'pull after unsubscribe'), []);
    assert.equal(sub.closed, true);
    assert.deepEqual(await within(sub.pull(10), 1000), []);
  });

  it('holds at most queueSize messages when it never pulls (drop-oldest)', async (t) => {
    const bus = makeBus(t);
    const sub = bus.subscribe('a', { queueSize: 8 });
    for (let i = 0; i < 100; i++) bus.publish('a', i);
    await ticks();
    assert.equal(sub.pending, 8);
    assert.equal(sub.dropped, 92);
    assert.deepEqual(payloads(await sub.pull(100)), [92, 93, 94, 95, 96, 97, 98, 99]);
  });

  it('QoS 1: pulled messages need an explicit ack, otherwise they are redelivered after ackTimeoutMs', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const sub = bus.subscribe('a', { qos: 1, ackTimeoutMs: 100 });
    bus.publish('a', 'keep', { qos: 1 });
    bus.publish('a', 'acked', { qos: 1 });
    const first = await sub.pull(10);
    assert.deepEqual(payloads(first), ['keep', 'acked']);
    assert.equal(sub.unacked, 2);
    assert.equal(first[1].ack(), true);
    assert.equal(sub.unacked, 1);
    assert.deepEqual(await sub.pull(10), [], 'nothing to pull while in flight');
    t.mock.timers.tick(100);
    const second = await sub.pull(10);
    assert.deepEqual(
      second.map((m) => [m.payload, m.attempt]),
      [['keep', 2]]
    );
    assert.equal(second[0].ack(), true);
    t.mock.timers.tick(1000);
    assert.deepEqual(await sub.pull(10), []);
  });

  it('QoS 1: the ack timeout of a pulled message runs from the pull, not from an earlier publish', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const sub = bus.subscribe('a', { qos: 1, ackTimeoutMs: 5000 });
    bus.publish('a', 'x', { qos: 1 });
    await ticks(); // end of this turn of the event loop
    t.mock.timers.tick(10_000); // pulled ten seconds after it was published
    const first = await sub.pull(10);
    assert.equal(first.length, 1);
    t.mock.timers.tick(100); // well within ackTimeoutMs of the pull
    assert.deepEqual(await sub.pull(10), [], 'not redelivered 100 ms after the pull');
    assert.equal(first[0].ack(), true, 'still in flight, so it can be acked');
  });

  it('QoS 1 with autoAck: true acks on pull', async (t) => {
    const bus = manualBus(t);
    const sub = bus.subscribe('a', { qos: 1, autoAck: true });
    bus.publish('a', 1, { qos: 1 });
    const got = await sub.pull(1);
    assert.equal(got.length, 1);
    assert.equal(sub.unacked, 0);
    assert.equal(bus.stats().totals.acked, 1);
  });

  it('QoS 1: maxInFlight bounds how many a pull returns until acked', async (t) => {
    const bus = manualBus(t);
    const sub = bus.subscribe('a', { qos: 1, maxInFlight: 2 });
    for (let i = 0; i < 4; i++) bus.publish('a', i, { qos: 1 });
    const a = await sub.pull(10);
    assert.deepEqual(payloads(a), [0, 1]);
    a[0].ack();
    assert.deepEqual(payloads(await sub.pull(10)), [2]);
  });
});

describe('Subscription as an async iterable', () => {
  it('yields messages in order and break unsubscribes', async (t) => {
    const bus = makeBus(t);
    const sub = bus.subscribe('a');
    for (let i = 0; i < 3; i++) bus.publish('a', i);
    const got: unknown[] = [];
    const loop = (async () => {
      for await (const m of sub) {
        got.push(m.payload);
        if (m.payload === 5) break;
      }
    })();
    await waitFor(() => got.length === 3, 2000, 'first three');
    for (let i = 3; i < 8; i++) bus.publish('a', i);
    await within(loop, 2000, 'for-await loop');
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
    assert.equal(sub.closed, true);
    assert.equal(bus.publish('a', 99), 0, 'nothing is queued for it any more');
    assert.equal(bus.stats().subscriptions.length, 0);
  });

  it('ends the loop when the subscription is unsubscribed elsewhere', async (t) => {
    const bus = makeBus(t);
    const sub = bus.subscribe('a');
    const got: unknown[] = [];
    const loop = (async () => {
      for await (const m of sub) got.push(m.payload);
    })();
    bus.publish('a', 1);
    await waitFor(() => got.length === 1);
    sub.unsubscribe();
    await within(loop, 2000, 'loop end');
    assert.deepEqual(got, [1]);
  });
});

describe('Pull consumers in channels', () => {
  it('share a channel’s messages with push consumers: each message to exactly one of them', async (t) => {
    const bus = makeBus(t);
    const pushed: number[] = [];
    bus.subscribe('w', (m) => void pushed.push(m.payload as number), { channel: 'c' });
    const puller = bus.subscribe('w', { channel: 'c' });
    const pulled: number[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const batch = await puller.pull(1, { timeoutMs: 1000 });
        for (const m of batch) pulled.push(m.payload as number);
      }
    })();
    await ticks();
    for (let i = 0; i < 20; i++) {
      bus.publish('w', i);
      await ticks();
    }
    await waitFor(() => pushed.length + pulled.length === 20, 2000, 'all 20 consumed');
    stop = true;
    puller.unsubscribe();
    await within(loop, 2000);
    assert.deepEqual(
      [...pushed, ...pulled].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i)
    );
    assert.ok(pulled.length > 0, 'the pull consumer got some');
    assert.ok(pushed.length > 0, 'the push consumer got some');
  });

  it('a pull consumer without a waiting pull is skipped by the channel', (t) => {
    const bus = manualBus(t);
    const pushed: unknown[] = [];
    bus.subscribe('w', (m) => void pushed.push(m.payload), { channel: 'c' });
    const puller = bus.subscribe('w', { channel: 'c' });
    for (let i = 0; i < 4; i++) bus.publish('w', i);
    bus.flush();
    assert.deepEqual(pushed, [0, 1, 2, 3]);
    assert.equal(puller.delivered, 0);
  });
});
