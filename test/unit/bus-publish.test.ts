import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DropEvent, ErrorCode, type Message, RingbusError } from '../../src/index.js';
import { makeBus, manualBus } from '../helpers/bus.js';
import { ticks } from '../helpers/wait.js';

describe('Bus.publish: fan-out and routing', () => {
  it('delivers every message to every private queue whose pattern matches (fan-out)', (t) => {
    const bus = manualBus(t);
    const a: unknown[] = [];
    const b: unknown[] = [];
    const other: unknown[] = [];
    bus.subscribe('game.tick', (m) => void a.push(m.payload));
    bus.subscribe('game.tick', (m) => void b.push(m.payload));
    bus.subscribe('game.other', (m) => void other.push(m.payload));
    bus.publish('game.tick', 1);
    bus.publish('game.tick', 2);
    bus.flush();
    assert.deepEqual(a, [1, 2]);
    assert.deepEqual(b, [1, 2]);
    assert.deepEqual(other, []);
  });

  it('returns the number of queues the message entered (0 when nothing matches)', (t) => {
    const bus = manualBus(t);
    assert.equal(bus.publish('a.b', 'x'), 0);
    bus.subscribe('a.b', () => {});
    bus.subscribe('a.*', () => {});
    bus.subscribe('a.>', () => {});
    bus.subscribe('c.d', () => {});
    assert.equal(bus.publish('a.b', 'x'), 3);
    assert.equal(bus.publish('a.b.c', 'x'), 1);
    // two consumers of one channel share one queue
    bus.subscribe('x.y', () => {}, { channel: 'w' });
    bus.subscribe('x.y', () => {}, { channel: 'w' });
    assert.equal(bus.publish('x.y', 'x'), 1);
  });

  it('does not count a queue that refused the message (drop-newest on a full queue)', (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {}, { queueSize: 1, overflow: 'drop-newest' });
    bus.subscribe('a', () => {});
    assert.equal(bus.publish('a', 1), 2);
    assert.equal(bus.publish('a', 2), 1);
  });

  it('keeps FIFO order per publisher per queue', (t) => {
    const bus = manualBus(t);
    const got: number[] = [];
    const wild: number[] = [];
    bus.subscribe('seq', (m) => void got.push(m.payload as number));
    bus.subscribe('>', (m) => void wild.push(m.payload as number));
    const expected: number[] = [];
    for (let i = 0; i < 500; i++) {
      bus.publish('seq', i);
      expected.push(i);
    }
    bus.flush();
    assert.deepEqual(got, expected);
    assert.deepEqual(wild, expected);
  });

  it("'*' matches exactly one token and '>' one or more remaining tokens", (t) => {
    const bus = manualBus(t);
    const star: string[] = [];
    const tail: string[] = [];
    const mid: string[] = [];
    bus.subscribe('a.*', (m) => void star.push(m.topic));
    bus.subscribe('a.>', (m) => void tail.push(m.topic));
    bus.subscribe('a.*.c', (m) => void mid.push(m.topic));
    for (const topic of ['a', 'a.b', 'a.b.c', 'a.x.c.d', 'b.a']) bus.publish(topic, null);
    bus.flush();
    assert.deepEqual(star, ['a.b']);
    assert.deepEqual(tail, ['a.b', 'a.b.c', 'a.x.c.d']);
    assert.deepEqual(mid, ['a.b.c']);
  });

  it("does not match '$' topics with a pattern that starts with a wildcard, but does with a literal '$' prefix", (t) => {
    const bus = manualBus(t);
    const wildFirst: string[] = [];
    const sys: string[] = [];
    bus.subscribe('>', (m) => void wildFirst.push(m.topic));
    bus.subscribe('*.x', (m) => void wildFirst.push(m.topic));
    bus.subscribe('$sys.>', (m) => void sys.push(m.topic));
    assert.equal(bus.publish('$sys.x', 1), 1);
    bus.publish('app.x', 2);
    bus.flush();
    assert.deepEqual(sys, ['$sys.x']);
    assert.deepEqual(wildFirst.sort(), ['app.x', 'app.x']);
  });

  it('rejects an invalid topic with ERR_INVALID_TOPIC', (t) => {
    const bus = manualBus(t);
    for (const topic of ['', 'a..b', 'a.*', 'a.>', 'a b']) {
      assert.throws(
        () => bus.publish(topic, 1),
        (err: unknown) => err instanceof RingbusError && err.code === ErrorCode.INVALID_TOPIC,
        topic
      );
    }
  });
});

describe('Bus.publish: delivery is never inside publish', () => {
  it('microtask mode: nothing is delivered synchronously; everything after yielding once', async (t) => {
    const bus = makeBus(t);
    const got: number[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload as number));
    bus.subscribe('a', (m) => void got.push((m.payload as number) * 10), { channel: 'c', qos: 1 });
    bus.publish('a', 1);
    bus.publish('a', 2, { qos: 1 });
    assert.deepEqual(got, []);
    await Promise.resolve();
    assert.deepEqual(
      got.sort((x, y) => x - y),
      [1, 2, 10, 20]
    );
  });

  it('manual mode: messages are delivered only at flush(), however long we wait', async (t) => {
    const bus = manualBus(t);
    const got: number[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload as number));
    bus.publish('a', 1);
    await ticks(5);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(got, []);
    bus.flush();
    assert.deepEqual(got, [1]);
    bus.flush();
    assert.deepEqual(got, [1]);
  });

  it('messages published by a handler during a flush wait for the next flush (same queue)', (t) => {
    const bus = manualBus(t);
    const got: number[] = [];
    bus.subscribe('n', (m) => {
      const n = m.payload as number;
      got.push(n);
      if (n < 3) bus.publish('n', n + 1);
    });
    bus.publish('n', 0);
    bus.flush();
    assert.deepEqual(got, [0]);
    bus.flush();
    assert.deepEqual(got, [0, 1]);
    bus.flush();
    bus.flush();
    assert.deepEqual(got, [0, 1, 2, 3]);
  });

  it('messages published by a handler during a flush wait for the next flush (into a queue later in the same flush)', (t) => {
    const bus = manualBus(t);
    const log: string[] = [];
    bus.subscribe('a', () => {
      log.push('a');
      bus.publish('b', 'from-handler');
    });
    bus.subscribe('b', (m) => void log.push(`b:${String(m.payload)}`));
    // Both queues are dirty at the start of the flush, 'a' first.
    bus.publish('a', 'x');
    bus.publish('b', 'direct');
    bus.flush();
    assert.deepEqual(log, ['a', 'b:direct']);
    bus.flush();
    assert.deepEqual(log, ['a', 'b:direct', 'b:from-handler']);
  });

  it('messages published by a handler during a flush wait for the next flush (wildcard and channel queues later in the same flush)', (t) => {
    const bus = manualBus(t);
    const log: string[] = [];
    bus.subscribe('a.*', () => {
      log.push('a');
      bus.publish('b.x', 'from-handler');
    });
    bus.subscribe('b.*', (m) => void log.push(`wild:${String(m.payload)}`));
    bus.subscribe('b.x', (m) => void log.push(`chan:${String(m.payload)}`), { channel: 'c' });
    // All three queues are dirty at the start of the flush, 'a.*' first.
    bus.publish('a.x', 'x');
    bus.publish('b.x', 'direct');
    bus.flush();
    assert.deepEqual(log, ['a', 'wild:direct', 'chan:direct']);
    bus.flush();
    assert.deepEqual(log, [
      'a',
      'wild:direct',
      'chan:direct',
      'wild:from-handler',
      'chan:from-handler'
    ]);
  });

  it('messages published by a handler during a flush wait for the next flush (into a full drop-oldest queue later in the flush)', (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    bus.subscribe('a.*', () => void bus.publish('b.x', 'from-handler'));
    bus.subscribe('b.*', (m) => void got.push(m.payload), { queueSize: 2 });
    bus.publish('a.x', 'go');
    bus.publish('b.x', 'b1');
    bus.publish('b.x', 'b2');
    bus.flush(); // the handler's publish pushes 'b1' out of the full queue before it drains
    assert.deepEqual(got, ['b2'], 'only what was queued when the flush started');
    bus.flush();
    assert.deepEqual(got, ['b2', 'from-handler']);
  });

  it('messages published by a handler during a flush wait for the next flush (two subscribers of one topic)', (t) => {
    const bus = manualBus(t);
    const first: number[] = [];
    const second: number[] = [];
    bus.subscribe('n', (m) => {
      const n = m.payload as number;
      first.push(n);
      if (n === 0) bus.publish('n', 1);
    });
    bus.subscribe('n', (m) => void second.push(m.payload as number));
    bus.publish('n', 0);
    bus.flush();
    assert.deepEqual(first, [0]);
    assert.deepEqual(second, [0], 'the message published during the flush is not delivered in it');
    bus.flush();
    assert.deepEqual(first, [0, 1]);
    assert.deepEqual(second, [0, 1]);
  });

  it('flush() called inside a handler is a no-op (no re-entrancy)', (t) => {
    const bus = manualBus(t);
    const log: string[] = [];
    bus.subscribe('a', (m) => {
      log.push(`start ${String(m.payload)}`);
      bus.publish('a', 'inner');
      bus.flush();
      log.push(`end ${String(m.payload)}`);
    });
    bus.publish('a', 'outer');
    bus.flush();
    assert.deepEqual(log, ['start outer', 'end outer']);
  });
});

describe('Bus.topic handle', () => {
  it('publishes the same as bus.publish and returns the queue count', (t) => {
    const bus = manualBus(t);
    const got: Message[] = [];
    bus.subscribe('a.b', (m) => void got.push(m));
    bus.subscribe('a.*', (m) => void got.push(m));
    const handle = bus.topic('a.b');
    assert.equal(handle.name, 'a.b');
    assert.equal(handle.publish('via-handle', { headers: { h: '1' } }), 2);
    bus.flush();
    assert.equal(got.length, 2);
    for (const m of got) {
      assert.equal(m.topic, 'a.b');
      assert.equal(m.payload, 'via-handle');
      assert.equal(m.headers.h, '1');
    }
  });

  it('sees subscriptions made after the handle was taken', (t) => {
    const bus = manualBus(t);
    const handle = bus.topic('late.topic');
    assert.equal(handle.publish(1), 0);
    const got: unknown[] = [];
    bus.subscribe('late.>', (m) => void got.push(m.payload));
    assert.equal(handle.publish(2), 1);
    bus.flush();
    assert.deepEqual(got, [2]);
  });

  it('rejects an invalid topic name with ERR_INVALID_TOPIC', (t) => {
    const bus = manualBus(t);
    assert.throws(() => bus.topic('a.*'), { code: ErrorCode.INVALID_TOPIC });
  });
});

describe('Bus.publish: message fields', () => {
  it('passes payload and headers by reference and fills id, attempt, qos and publishedAt', (t) => {
    const bus = manualBus(t);
    const payload = { big: [1, 2, 3] };
    const headers = { trace: 'abc' };
    const got: Message[] = [];
    bus.subscribe('p', (m) => void got.push(m));
    bus.subscribe('p', (m) => void got.push(m));
    const before = Date.now();
    bus.publish('p', payload, { headers });
    bus.flush();
    assert.equal(got.length, 2);
    for (const m of got) {
      assert.equal(m.payload, payload);
      assert.equal(m.headers, headers);
      assert.equal(m.attempt, 1);
      assert.equal(m.qos, 0);
      assert.equal(m.topic, 'p');
      assert.ok(m.publishedAt >= before - 1 && m.publishedAt <= Date.now());
    }
    assert.equal(got[0].id, got[1].id);
    bus.publish('p', 2);
    bus.flush();
    assert.notEqual(got[2].id, got[0].id);
    assert.deepEqual({ ...got[2].headers }, {});
  });

  it('rejects bad publish options with ERR_INVALID_OPTIONS', (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {});
    assert.throws(() => bus.publish('a', 1, { qos: 2 as 0 }), { code: ErrorCode.INVALID_OPTIONS });
    assert.throws(() => bus.publish('a', 1, { ttlMs: 0 }), { code: ErrorCode.INVALID_OPTIONS });
    assert.throws(() => bus.publish('a', 1, { ttlMs: 1.5 }), { code: ErrorCode.INVALID_OPTIONS });
  });
});

describe('Bus.publish: TTL', () => {
  it("drops an expired message at dequeue, counts it as 'expired' and emits 'drop'", (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const got: unknown[] = [];
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    const sub = bus.subscribe('t', (m) => void got.push(m.payload));
    bus.publish('t', 'short', { ttlMs: 10 });
    bus.publish('t', 'long', { ttlMs: 1000 });
    bus.publish('t', 'forever');
    t.mock.timers.tick(50);
    bus.flush();
    assert.deepEqual(got, ['long', 'forever']);
    assert.equal(drops.length, 1);
    assert.equal(drops[0].reason, 'expired');
    assert.equal(drops[0].message.payload, 'short');
    assert.equal(drops[0].pattern, 't');
    assert.equal(drops[0].channel, undefined);
    assert.equal(sub.dropped, 1);
    assert.equal(bus.stats().totals.dropped.expired, 1);
  });

  it('delivers a message whose TTL has not run out', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const got: unknown[] = [];
    bus.subscribe('t', (m) => void got.push(m.payload), { channel: 'c' });
    bus.publish('t', 1, { ttlMs: 100 });
    t.mock.timers.tick(99);
    bus.flush();
    assert.deepEqual(got, [1]);
    assert.equal(bus.stats().totals.dropped.expired, 0);
  });

  it('measures TTL from the time of publish even when publishes in different event-loop turns share one flush', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const got: Message[] = [];
    bus.subscribe('t', (m) => void got.push(m));
    bus.publish('t', 'early', { ttlMs: 1000 });
    await ticks(); // the current turn of the event loop ends...
    t.mock.timers.tick(5000); // ...and a later one starts 5 s on, no flush in between
    bus.publish('t', 'late', { ttlMs: 1000 });
    bus.flush(); // 0 ms after 'late' was published
    assert.deepEqual(
      got.map((m) => m.payload),
      ['late']
    );
    assert.equal(got[0]?.publishedAt, 1_005_000);
  });

  it('drops expired messages from a channel queue too (counted on the channel)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const got: unknown[] = [];
    bus.subscribe('t', (m) => void got.push(m.payload), { channel: 'c', qos: 1 });
    bus.publish('t', 1, { ttlMs: 5, qos: 1 });
    bus.publish('t', 2, { qos: 1 });
    t.mock.timers.tick(10);
    bus.flush();
    assert.deepEqual(got, [2]);
    const ch = bus.stats().channels.find((c) => c.channel === 'c');
    assert.equal(ch?.dropped.expired, 1);
  });
});

describe('Bus.publish: retained messages', () => {
  it('gives a new matching subscriber the last retained message of each matching topic', (t) => {
    const bus = manualBus(t);
    bus.publish('cfg.a', 'a1', { retain: true });
    bus.publish('cfg.a', 'a2', { retain: true });
    bus.publish('cfg.b', 'b1', { retain: true });
    bus.publish('cfg.c', 'not-retained');
    bus.publish('other.x', 'x1', { retain: true });
    const got: string[] = [];
    bus.subscribe('cfg.*', (m) => void got.push(`${m.topic}=${String(m.payload)}`));
    bus.flush();
    assert.deepEqual(got.sort(), ['cfg.a=a2', 'cfg.b=b1']);
    assert.equal(bus.stats().retained, 3);
  });

  it('delivers the retained message only to new subscribers, once', (t) => {
    const bus = manualBus(t);
    const first: unknown[] = [];
    bus.subscribe('r', (m) => void first.push(m.payload));
    bus.publish('r', 'v1', { retain: true });
    bus.flush();
    const second: unknown[] = [];
    bus.subscribe('r', (m) => void second.push(m.payload));
    bus.flush();
    bus.flush();
    assert.deepEqual(first, ['v1']);
    assert.deepEqual(second, ['v1']);
  });

  it('clears the retained message with retain: true and payload undefined', (t) => {
    const bus = manualBus(t);
    bus.publish('r', 'v1', { retain: true });
    bus.publish('r', undefined, { retain: true });
    assert.equal(bus.stats().retained, 0);
    const got: unknown[] = [];
    bus.subscribe('r', (m) => void got.push(m.payload));
    bus.flush();
    assert.deepEqual(got, []);
  });

  it('does not deliver an expired retained message', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    bus.publish('r.old', 'old', { retain: true, ttlMs: 10 });
    bus.publish('r.new', 'new', { retain: true, ttlMs: 10_000 });
    t.mock.timers.tick(20);
    const got: unknown[] = [];
    bus.subscribe('r.*', (m) => void got.push(m.payload));
    bus.flush();
    assert.deepEqual(got, ['new']);
  });

  it('measures the TTL of a retained message published with no subscriber from its own publish time', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    bus.publish('r.a', 'a', { retain: true, ttlMs: 10_000 });
    await ticks(); // end of this turn of the event loop
    t.mock.timers.tick(60_000); // a minute later, nothing subscribed, nothing flushed
    bus.publish('r.b', 'b', { retain: true, ttlMs: 10_000 });
    const got: Message[] = [];
    bus.subscribe('r.*', (m) => void got.push(m));
    bus.flush();
    assert.deepEqual(
      got.map((m) => m.payload),
      ['b']
    );
  });
});

describe('Bus.publish: handler failures', () => {
  it("reports a throwing QoS 0 handler through 'error' (ERR_HANDLER_FAILED, cause) and still delivers to the others", (t) => {
    const bus = manualBus(t);
    const boom = new Error('boom');
    const errors: RingbusError[] = [];
    bus.on('error', (e) => errors.push(e));
    const got: unknown[] = [];
    bus.subscribe('a', () => {
      throw boom;
    });
    bus.subscribe('a', (m) => void got.push(m.payload));
    bus.publish('a', 1);
    bus.publish('a', 2);
    bus.flush();
    assert.deepEqual(got, [1, 2]);
    assert.equal(errors.length, 2);
    assert.ok(errors[0] instanceof RingbusError);
    assert.equal(errors[0].code, ErrorCode.HANDLER_FAILED);
    assert.equal(errors[0].cause, boom);
    assert.equal(bus.stats().totals.handlerErrors, 2);
  });

  it("reports a rejected promise from a QoS 0 handler through 'error'", async (t) => {
    const bus = makeBus(t);
    const boom = new Error('async boom');
    const errors: RingbusError[] = [];
    bus.on('error', (e) => errors.push(e));
    const got: unknown[] = [];
    bus.subscribe('a', () => Promise.reject(boom));
    bus.subscribe('a', (m) => void got.push(m.payload));
    bus.publish('a', 1);
    await ticks(5);
    assert.deepEqual(got, [1]);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, ErrorCode.HANDLER_FAILED);
    assert.equal(errors[0].cause, boom);
    assert.equal(bus.stats().totals.handlerErrors, 1);
  });

  it("keeps dispatching when a 'drop' listener throws", (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    let dropCalls = 0;
    bus.on('drop', () => {
      dropCalls++;
      throw new Error('listener bug');
    });
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), { queueSize: 2 });
    bus.publish('a', 'expired', { ttlMs: 1 });
    t.mock.timers.tick(5);
    bus.publish('a', 'b');
    // overflow: drops the expired one at publish time, listener throws inside publish
    assert.doesNotThrow(() => bus.publish('a', 'c'));
    bus.publish('a', 'd', { ttlMs: 1 });
    t.mock.timers.tick(5);
    // 'd' expires at dequeue, listener throws inside the flush
    assert.doesNotThrow(() => bus.flush());
    assert.deepEqual(got, ['c']);
    assert.equal(dropCalls, 3);
    assert.equal(bus.stats().totals.dropped.overflow, 2);
    assert.equal(bus.stats().totals.dropped.expired, 1);
  });
});
