import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus, ErrorCode, type Message, RingbusError } from '../../src/index.js';
import { makeBus, manualBus } from '../helpers/bus.js';
import { ticks, within } from '../helpers/wait.js';

const isCode = (code: string) => (err: unknown) => err instanceof RingbusError && err.code === code;

describe('Bus.close', () => {
  it('delivers what is queued before it closes', async (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload));
    bus.subscribe('a', (m) => void got.push(`ch:${String(m.payload)}`), { channel: 'c' });
    bus.publish('a', 1);
    bus.publish('a', 2);
    await bus.close();
    assert.deepEqual(got.sort(), [1, 2, 'ch:1', 'ch:2']);
    assert.equal(bus.isClosed, true);
  });

  it('then publish, topic().publish, subscribe and publishAsync throw ERR_CLOSED', async (t) => {
    const bus = manualBus(t);
    const handle = bus.topic('a');
    await bus.close();
    assert.throws(() => bus.publish('a', 1), isCode(ErrorCode.CLOSED));
    assert.throws(() => handle.publish(1), isCode(ErrorCode.CLOSED));
    assert.throws(() => bus.subscribe('a', () => {}), isCode(ErrorCode.CLOSED));
    assert.throws(() => bus.subscribe('a'), isCode(ErrorCode.CLOSED));
    await assert.rejects(bus.publishAsync('a', 1), isCode(ErrorCode.CLOSED));
  });

  it('rejects a publishAsync that waits for room with ERR_CLOSED', async (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {}, { qos: 1, queueSize: 1 });
    bus.publish('a', 1, { qos: 1 });
    const waiting = bus.publishAsync('a', 2, { qos: 1 });
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true)
    );
    await ticks(5);
    assert.equal(settled, false, 'publishAsync is waiting for room');
    // close() flushes first (making room) but must still reject the waiter: the bus is closed
    await bus.close();
    await assert.rejects(within(waiting, 1000, 'publishAsync'), isCode(ErrorCode.CLOSED));
  });

  it('resolves waiting pulls and ends async iterators', async (t) => {
    const bus = makeBus(t);
    const sub = bus.subscribe('a');
    const pending = sub.pull(10, { timeoutMs: 60_000 });
    const iterSub = bus.subscribe('b');
    const loop = (async () => {
      const got: unknown[] = [];
      for await (const m of iterSub) got.push(m.payload);
      return got;
    })();
    await ticks();
    await bus.close();
    assert.deepEqual(await within(pending, 1000, 'pull'), []);
    assert.deepEqual(await within(loop, 1000, 'iterator'), []);
    assert.equal(sub.closed, true);
  });

  it('is idempotent', async (t) => {
    const bus = manualBus(t);
    let calls = 0;
    bus.subscribe('a', () => void calls++);
    bus.publish('a', 1);
    await bus.close();
    await bus.close();
    await assert.doesNotReject(bus.close());
    assert.equal(calls, 1);
  });

  it('never waits for acks: unacked QoS 1 messages do not hold it open', async (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => new Promise(() => {}), { qos: 1 });
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    await within(bus.close(), 1000, 'close');
    assert.equal(bus.isClosed, true);
  });

  it('an ack after close returns false and does not throw', async (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    bus.subscribe('a', (m) => void held.push(m), { qos: 1, autoAck: false });
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    await bus.close();
    assert.equal(held[0].ack(), false);
    assert.equal(held[0].nack(), false);
  });
});

describe('Bus.stats', () => {
  it('reports per-topic published counts', (t) => {
    const bus = manualBus(t);
    bus.subscribe('a.*', () => {});
    bus.subscribe('a.>', () => {});
    bus.publish('a.b', 1);
    bus.publish('a.b', 2);
    bus.publish('a.c.d', 3);
    bus.publish('z', 4);
    const s = bus.stats();
    const byTopic = Object.fromEntries(s.topics.map((x) => [x.topic, x]));
    assert.equal(byTopic['a.b'].published, 2);
    assert.equal(byTopic['a.b'].queues, 2);
    assert.equal(byTopic['a.c.d'].published, 1);
    assert.equal(byTopic['a.c.d'].queues, 1);
    assert.equal(byTopic.z.published, 1);
    assert.equal(byTopic.z.queues, 0);
    assert.equal(s.totals.published, 4);
    assert.equal(typeof s.id, 'string');
    assert.doesNotThrow(() => JSON.stringify(s));
  });

  it("counts every queue a topic's messages enter, including private subscriptions on the exact topic", (t) => {
    const bus = manualBus(t);
    bus.subscribe('a.*', () => {});
    bus.subscribe('a.b', () => {});
    bus.subscribe('a.b', () => {});
    const entered = bus.publish('a.b', 1);
    assert.equal(entered, 3);
    const topic = bus.stats().topics.find((x) => x.topic === 'a.b');
    assert.equal(topic?.queues, entered);
  });

  it('reports depth, inFlight and delivered per channel and per private queue', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    const priv = bus.subscribe('p', () => {});
    bus.subscribe('c', (m) => void held.push(m), {
      channel: 'work',
      qos: 1,
      autoAck: false,
      maxInFlight: 1
    });
    bus.publish('p', 1);
    bus.publish('p', 2);
    bus.publish('c', 1, { qos: 1 });
    bus.publish('c', 2, { qos: 1 });
    bus.publish('c', 3, { qos: 1 });
    let s = bus.stats();
    const q = s.queues.find((x) => x.subscription === priv.id)!;
    assert.equal(q.depth, 2);
    assert.equal(q.delivered, 0);
    const ch = s.channels.find((x) => x.channel === 'work')!;
    assert.equal(ch.depth, 3);
    bus.flush();
    s = bus.stats();
    assert.equal(s.queues.find((x) => x.subscription === priv.id)!.depth, 0);
    assert.equal(s.queues.find((x) => x.subscription === priv.id)!.delivered, 2);
    const ch2 = s.channels.find((x) => x.channel === 'work')!;
    assert.equal(ch2.depth, 2);
    assert.equal(ch2.inFlight, 1);
    assert.equal(ch2.delivered, 1);
    assert.equal(ch2.consumers, 1);
    assert.equal(s.totals.delivered, 3);
    const subStats = s.subscriptions.find((x) => x.channel === 'work')!;
    assert.equal(subStats.inFlight, 1);
    assert.equal(subStats.mode, 'push');
    assert.equal(subStats.qos, 1);
  });

  it('counts dropped by reason, acked, redelivered and deadLettered', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    bus.on('error', () => {});
    bus.subscribe('over', () => {}, { queueSize: 1 });
    bus.publish('over', 1);
    bus.publish('over', 2); // overflow
    bus.subscribe('ttl', () => {});
    bus.publish('ttl', 1, { ttlMs: 1 });
    t.mock.timers.tick(5);
    bus.subscribe('em', () => {}, { channel: 'c' });
    bus.channel('em', 'c').pause();
    bus.publish('em', 1);
    bus.channel('em', 'c').empty(); // emptied
    bus.subscribe(
      'q1',
      (m) => {
        if (m.attempt === 1) throw new Error('nack once');
      },
      { qos: 1, maxAttempts: 5 }
    );
    bus.publish('q1', 'ok', { qos: 1 });
    bus.subscribe(
      'dead',
      () => {
        throw new Error('always');
      },
      { qos: 1, maxAttempts: 1 }
    );
    bus.publish('dead', 'x', { qos: 1 });
    bus.flush();
    bus.flush();
    const totals = bus.stats().totals;
    assert.deepEqual(totals.dropped, { overflow: 1, expired: 1, emptied: 1 });
    assert.equal(totals.acked, 1);
    assert.equal(totals.redelivered, 1);
    assert.equal(totals.deadLettered, 1);
    assert.equal(totals.handlerErrors, 2);
  });

  it('keeps totals after subscriptions go away', (t) => {
    const bus = manualBus(t);
    const sub = bus.subscribe('a', () => {}, { qos: 1 });
    const puller = bus.subscribe('b', { queueSize: 1 });
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    bus.publish('b', 1);
    bus.publish('b', 2); // overflow
    bus.flush();
    const before = bus.stats().totals;
    assert.equal(before.delivered, 2);
    assert.equal(before.acked, 2);
    assert.equal(before.dropped.overflow, 1);
    sub.unsubscribe();
    puller.unsubscribe();
    const after = bus.stats();
    assert.equal(after.subscriptions.length, 0);
    assert.equal(after.queues.length, 0);
    assert.deepEqual(after.totals, { ...before, published: after.totals.published });
    assert.equal(after.totals.published, 4);
  });

  it('keeps overflow totals after a paused subscription on an exact topic goes away', (t) => {
    const bus = manualBus(t);
    const sub = bus.subscribe('exact', () => {}, { queueSize: 2 });
    sub.pause();
    for (let i = 0; i < 3; i++) bus.publish('exact', i);
    assert.equal(sub.dropped, 1);
    const before = bus.stats().totals.dropped.overflow;
    assert.equal(before, 1);
    sub.unsubscribe();
    assert.equal(bus.stats().totals.dropped.overflow, before, 'totals never go backwards');
  });

  it('keeps totals after close', async (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {});
    bus.publish('a', 1);
    await bus.close();
    const s = bus.stats();
    assert.equal(s.totals.published, 1);
    assert.equal(s.totals.delivered, 1);
  });
});

describe('RingbusError', () => {
  it('has a stable code, name RingbusError and is an Error', (t) => {
    const bus = manualBus(t);
    let caught: unknown;
    try {
      bus.publish('bad..topic', 1);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof RingbusError);
    assert.ok(caught instanceof Error);
    assert.equal(caught.name, 'RingbusError');
    assert.equal(caught.code, ErrorCode.INVALID_TOPIC);
    assert.match(caught.message, /ERR_INVALID_TOPIC/);
  });

  it('instanceof holds for a duplicate copy that carries the global brand, and not for other errors', () => {
    const foreign = Object.assign(new Error('from another copy of ringbus'), {
      code: 'ERR_TIMEOUT',
      name: 'RingbusError'
    });
    Object.defineProperty(foreign, Symbol.for('ringbus.error'), { value: true });
    assert.ok(foreign instanceof RingbusError);
    const plain = { [Symbol.for('ringbus.error')]: true };
    assert.ok(plain instanceof RingbusError);
    assert.equal(new Error('x') instanceof RingbusError, false);
    assert.equal({ code: 'ERR_TIMEOUT', name: 'RingbusError' } instanceof RingbusError, false);
    assert.equal(
      Object.assign({}, { [Symbol.for('ringbus.error')]: 'yes' }) instanceof RingbusError,
      false
    );
    assert.equal((null as unknown) instanceof RingbusError, false);
  });

  it('invalid bus options fail at construction with ERR_INVALID_OPTIONS naming the field', () => {
    assert.throws(
      () => new Bus({ dispatch: 'sometimes' as 'manual' }),
      (err: unknown) =>
        err instanceof RingbusError &&
        err.code === ErrorCode.INVALID_OPTIONS &&
        err.message.includes('dispatch')
    );
  });
});
