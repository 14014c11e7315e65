import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DeadLetterEvent, ErrorCode, type Message, limits } from '../../src/index.js';
import { makeBus, manualBus, nextEvent } from '../helpers/bus.js';
import { ticks, waitFor, within } from '../helpers/wait.js';

describe('QoS 1: ack and nack', () => {
  it('keeps a delivered message in flight until it is acked', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    const sub = bus.subscribe('a', (m) => void held.push(m), { qos: 1, autoAck: false });
    bus.publish('a', 1, { qos: 1 });
    assert.equal(bus.stats().queues[0].inFlight, 0);
    bus.flush();
    assert.equal(held.length, 1);
    assert.equal(held[0].qos, 1);
    assert.equal(sub.unacked, 1);
    assert.equal(bus.stats().queues[0].inFlight, 1);
    assert.equal(held[0].ack(), true);
    assert.equal(sub.unacked, 0);
    assert.equal(bus.stats().queues[0].inFlight, 0);
    assert.equal(bus.stats().totals.acked, 1);
    bus.flush();
    assert.equal(held.length, 1, 'an acked message is not redelivered');
  });

  it('acks when the handler returns', (t) => {
    const bus = manualBus(t);
    let calls = 0;
    const sub = bus.subscribe('a', () => void calls++, { qos: 1 });
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    assert.equal(calls, 1);
    assert.equal(sub.unacked, 0);
    assert.equal(bus.stats().totals.acked, 1);
    bus.flush();
    assert.equal(calls, 1);
  });

  it("nacks when the handler throws: redelivered with attempt + 1 and reported via 'error'", (t) => {
    const bus = manualBus(t);
    const attempts: number[] = [];
    const errors: Error[] = [];
    bus.on('error', (e) => errors.push(e));
    bus.subscribe(
      'a',
      (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) throw new Error('first try fails');
      },
      { qos: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    assert.deepEqual(attempts, [1]);
    bus.flush();
    assert.deepEqual(attempts, [1, 2]);
    bus.flush();
    assert.deepEqual(attempts, [1, 2]);
    const totals = bus.stats().totals;
    assert.equal(totals.redelivered, 1);
    assert.equal(totals.acked, 1);
    assert.equal(errors.length, 1);
  });

  it('acks when an async handler resolves and nacks when it rejects', async (t) => {
    const bus = makeBus(t);
    const attempts: number[] = [];
    const sub = bus.subscribe(
      'a',
      async (m) => {
        attempts.push(m.attempt);
        await Promise.resolve();
        if (m.attempt === 1) throw new Error('reject first');
      },
      { qos: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    await waitFor(() => bus.stats().totals.acked === 1, 2000, 'ack after the second attempt');
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(sub.unacked, 0);
    assert.equal(bus.stats().totals.redelivered, 1);
  });

  it('keeps an async handler’s message in flight until its promise settles', async (t) => {
    const bus = makeBus(t);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sub = bus.subscribe('a', () => gate, { qos: 1 });
    bus.publish('a', 1, { qos: 1 });
    await waitFor(() => sub.delivered === 1);
    assert.equal(sub.unacked, 1);
    release();
    await waitFor(() => sub.unacked === 0);
    assert.equal(bus.stats().totals.acked, 1);
  });

  it('autoAck: false leaves the ack to msg.ack() even when the handler returns', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    const sub = bus.subscribe('a', (m) => void held.push(m), { qos: 1, autoAck: false });
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    bus.flush();
    assert.equal(held.length, 1);
    assert.equal(sub.unacked, 1);
    held[0].ack();
    assert.equal(sub.unacked, 0);
  });

  it('autoAck: false does not nack when the handler throws', (t) => {
    const bus = manualBus(t);
    bus.on('error', () => {});
    const held: Message[] = [];
    const sub = bus.subscribe(
      'a',
      (m) => {
        held.push(m);
        throw new Error('x');
      },
      { qos: 1, autoAck: false }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    bus.flush();
    assert.equal(held.length, 1);
    assert.equal(sub.unacked, 1);
    assert.equal(bus.stats().totals.handlerErrors, 1);
  });

  it('ack() returns false on a second call, after a nack, and on a QoS 0 message', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    bus.subscribe('a', (m) => void held.push(m), { qos: 1, autoAck: false });
    bus.publish('a', 'q1', { qos: 1 });
    bus.publish('a', 'q0');
    bus.publish('a', 'nacked', { qos: 1 });
    bus.flush();
    const [q1, q0, nacked] = held;
    assert.equal(q0.qos, 0);
    assert.equal(q0.ack(), false);
    assert.equal(q0.nack(), false);
    assert.equal(q1.ack(), true);
    assert.equal(q1.ack(), false);
    assert.equal(q1.nack(), false);
    assert.equal(nacked.nack(), true);
    assert.equal(nacked.nack(), false);
    assert.equal(nacked.ack(), false);
    assert.equal(bus.stats().totals.acked, 1);
  });

  it('nack(delayMs) redelivers only after the delay', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const got: Message[] = [];
    bus.subscribe(
      'a',
      (m) => {
        got.push(m);
        if (m.attempt === 1) m.nack(500);
        else m.ack();
      },
      { qos: 1, autoAck: false }
    );
    bus.publish('a', 'x', { qos: 1 });
    bus.flush();
    assert.equal(got.length, 1);
    t.mock.timers.tick(499);
    bus.flush();
    assert.equal(got.length, 1, 'not before the delay');
    assert.equal(bus.stats().queues[0].depth, 1, 'the delayed message still counts as waiting');
    t.mock.timers.tick(1);
    bus.flush();
    assert.equal(got.length, 2);
    assert.equal(got[1].attempt, 2);
    assert.equal(got[1].payload, 'x');
  });

  it('nack(delayMs) rejects a delay outside [0, one day] with ERR_INVALID_OPTIONS and leaves the message in flight', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    const sub = bus.subscribe('a', (m) => void held.push(m), { qos: 1, autoAck: false });
    bus.publish('a', 'x', { qos: 1 });
    bus.flush();
    // limits.MAX_DURATION_MS: "Largest ttlMs, timeoutMs and nack delay accepted (one day)".
    // Past 2^31-1 ms Node would fire the timer after 1 ms instead: an immediate redelivery.
    for (const bad of [limits.MAX_DURATION_MS + 1, 3_000_000_000, -1, Number.NaN]) {
      assert.throws(() => held[0].nack(bad), { code: ErrorCode.INVALID_OPTIONS }, String(bad));
    }
    assert.equal(sub.unacked, 1);
    assert.equal(held[0].ack(), true);
  });

  it('nack(delayMs) redelivers after the delay on a microtask bus (real timers)', async (t) => {
    const bus = makeBus(t);
    const attempts: number[] = [];
    bus.subscribe(
      'a',
      (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) m.nack(20);
        else m.ack();
      },
      { qos: 1, autoAck: false }
    );
    bus.publish('a', 'x', { qos: 1 });
    await waitFor(() => attempts.length === 2, 2000, 'delayed redelivery');
    assert.deepEqual(attempts, [1, 2]);
  });
});

describe('QoS 1: ack timeout, attempts and dead letters', () => {
  it('redelivers a message not acked within ackTimeoutMs, with attempt + 1', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const got: Message[] = [];
    bus.subscribe('a', (m) => void got.push(m), { qos: 1, autoAck: false, ackTimeoutMs: 100 });
    bus.publish('a', 'x', { qos: 1 });
    bus.flush();
    t.mock.timers.tick(99);
    bus.flush();
    assert.equal(got.length, 1);
    t.mock.timers.tick(1);
    bus.flush();
    assert.equal(got.length, 2);
    assert.equal(got[1].attempt, 2);
    assert.equal(got[1].id, got[0].id);
    assert.equal(got[0].ack(), false, 'the timed-out delivery can no longer be acked');
    assert.equal(got[1].ack(), true);
    assert.equal(bus.stats().totals.redelivered, 1);
  });

  it('redelivers after ackTimeoutMs on a microtask bus (real timers)', async (t) => {
    const bus = makeBus(t);
    const attempts: number[] = [];
    bus.subscribe(
      'a',
      (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 2) m.ack();
      },
      { qos: 1, autoAck: false, ackTimeoutMs: 20 }
    );
    bus.publish('a', 'x', { qos: 1 });
    await waitFor(() => bus.stats().totals.acked === 1, 3000, 'redelivery and ack');
    assert.deepEqual(attempts, [1, 2]);
  });

  it("dead-letters after maxAttempts: published to $dlq.<topic> and a 'dead-letter' event with reason 'max-attempts'", async (t) => {
    const bus = makeBus(t);
    bus.on('error', () => {});
    const attempts: number[] = [];
    bus.subscribe(
      'orders.new',
      (m) => {
        attempts.push(m.attempt);
        throw new Error('always fails');
      },
      { qos: 1, maxAttempts: 3 }
    );
    const dlq: Message[] = [];
    bus.subscribe('$dlq.>', (m) => void dlq.push(m));
    const wildcard: Message[] = [];
    bus.subscribe('>', (m) => void wildcard.push(m));
    const event = nextEvent(bus, 'dead-letter');
    bus.publish('orders.new', { id: 7 }, { qos: 1, headers: { k: 'v' } });
    const e = await within(event, 2000, "'dead-letter' event");
    assert.equal(e.reason, 'max-attempts');
    assert.equal(e.deadLetterTopic, '$dlq.orders.new');
    assert.equal(e.message.attempt, 3);
    assert.deepEqual(e.message.payload, { id: 7 });
    assert.equal(e.pattern, 'orders.new');
    assert.deepEqual(attempts, [1, 2, 3]);
    await waitFor(() => dlq.length === 1, 2000, 'dead letter delivered');
    assert.equal(dlq[0].topic, '$dlq.orders.new');
    assert.deepEqual(dlq[0].payload, { id: 7 });
    assert.equal(dlq[0].headers.k, 'v');
    assert.equal(bus.stats().totals.deadLettered, 1);
    assert.deepEqual(
      wildcard.map((m) => m.topic),
      ['orders.new'],
      "a '>' subscriber does not see the dead letter"
    );
  });

  it('dead-letters after maxAttempts ack timeouts', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const bus = manualBus(t);
    const events: DeadLetterEvent[] = [];
    bus.on('dead-letter', (e) => events.push(e));
    const attempts: number[] = [];
    bus.subscribe('a', (m) => void attempts.push(m.attempt), {
      qos: 1,
      autoAck: false,
      ackTimeoutMs: 10,
      maxAttempts: 2
    });
    bus.publish('a', 'x', { qos: 1 });
    for (let i = 0; i < 5; i++) {
      bus.flush();
      t.mock.timers.tick(10);
    }
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, 'max-attempts');
  });
});

describe('QoS 1: flow control and consumers', () => {
  it('with maxInFlight 2 a consumer never holds more than 2 unacked; acking releases the next', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    let maxHeld = 0;
    const sub = bus.subscribe(
      'a',
      (m) => {
        held.push(m);
        maxHeld = Math.max(maxHeld, sub.unacked);
      },
      { qos: 1, autoAck: false, maxInFlight: 2 }
    );
    for (let i = 0; i < 5; i++) bus.publish('a', i, { qos: 1 });
    bus.flush();
    assert.deepEqual(
      held.map((m) => m.payload),
      [0, 1]
    );
    bus.flush();
    assert.equal(held.length, 2, 'no credit, no delivery');
    held[0].ack();
    bus.flush();
    assert.deepEqual(
      held.map((m) => m.payload),
      [0, 1, 2]
    );
    held[1].ack();
    held[2].ack();
    bus.flush();
    assert.deepEqual(
      held.map((m) => m.payload),
      [0, 1, 2, 3, 4]
    );
    assert.equal(maxHeld, 2);
  });

  it('maxInFlight is per consumer: a second channel consumer takes what the first has no credit for', (t) => {
    const bus = manualBus(t);
    const a: Message[] = [];
    const b: Message[] = [];
    bus.subscribe('x', (m) => void a.push(m), {
      channel: 'c',
      qos: 1,
      autoAck: false,
      maxInFlight: 1
    });
    bus.subscribe('x', (m) => void b.push(m), {
      channel: 'c',
      qos: 1,
      autoAck: false,
      maxInFlight: 3
    });
    for (let i = 0; i < 6; i++) bus.publish('x', i, { qos: 1 });
    bus.flush();
    assert.equal(a.length, 1);
    assert.equal(b.length, 3);
    assert.equal(bus.channel('x', 'c').depth, 2);
  });

  it('a channel consumer that unsubscribes returns its in-flight messages (attempt + 1) to another consumer', (t) => {
    const bus = manualBus(t);
    const a: Message[] = [];
    const b: Message[] = [];
    const sa = bus.subscribe('x', (m) => void a.push(m), { channel: 'c', qos: 1, autoAck: false });
    bus.publish('x', 'm1', { qos: 1 });
    bus.publish('x', 'm2', { qos: 1 });
    bus.flush();
    assert.equal(a.length, 2);
    bus.subscribe('x', (m) => void b.push(m), { channel: 'c', qos: 1, autoAck: false });
    sa.unsubscribe();
    assert.equal(a[0].ack(), false, 'the gone consumer can no longer ack');
    bus.flush();
    assert.deepEqual(
      b.map((m) => [m.payload, m.attempt]),
      [
        ['m1', 2],
        ['m2', 2]
      ]
    );
    assert.equal(bus.stats().totals.redelivered, 2);
  });

  it('a channel keeps the in-flight messages of its last consumer for the next one', (t) => {
    const bus = manualBus(t);
    const sa = bus.subscribe('x', () => {}, { channel: 'c', qos: 1, autoAck: false });
    bus.publish('x', 'm1', { qos: 1 });
    bus.flush();
    sa.unsubscribe();
    const ch = bus.channel('x', 'c');
    assert.equal(ch.inFlight, 0);
    assert.equal(ch.depth, 1);
    const b: Message[] = [];
    bus.subscribe('x', (m) => void b.push(m), { channel: 'c' });
    bus.flush();
    assert.deepEqual(
      b.map((m) => [m.payload, m.attempt]),
      [['m1', 2]]
    );
  });

  it('a QoS 1 publish to a full block queue throws ERR_QUEUE_FULL and enters no queue', (t) => {
    const bus = manualBus(t);
    const other: unknown[] = [];
    bus.subscribe('a', () => {}, { qos: 1, queueSize: 2 });
    bus.subscribe('a', (m) => void other.push(m.payload));
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    assert.throws(() => bus.publish('a', 3, { qos: 1 }), { code: ErrorCode.QUEUE_FULL });
    bus.flush();
    assert.deepEqual(other, [1, 2], 'nothing was published, not even to the other queue');
    bus.publish('a', 4, { qos: 1 });
  });

  it('publishAsync waits for room in a full block queue, then publishes', async (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), { qos: 1, queueSize: 1 });
    bus.publish('a', 1, { qos: 1 });
    let settled = false;
    const p = bus.publishAsync('a', 2, { qos: 1 }).then((n) => {
      settled = true;
      return n;
    });
    await ticks(5);
    assert.equal(settled, false, 'waits while the queue is full');
    bus.flush(); // delivers 1 and makes room
    assert.equal(await within(p, 2000, 'publishAsync'), 1);
    bus.flush();
    assert.deepEqual(got, [1, 2]);
  });

  it('publishAsync stops waiting when the full queue goes away, and enters the remaining queues', async (t) => {
    const bus = manualBus(t);
    const blocker = bus.subscribe('a', () => {}, { qos: 1, queueSize: 1 });
    const other: unknown[] = [];
    bus.subscribe('a', (m) => void other.push(m.payload), {
      channel: 'c',
      qos: 1,
      queueSize: 8,
      overflow: 'drop-oldest'
    });
    bus.publish('a', 1, { qos: 1 });
    const p = bus.publishAsync('a', 2, { qos: 1 });
    await ticks(5);
    blocker.unsubscribe();
    assert.equal(await within(p, 2000, 'publishAsync'), 1);
    bus.flush();
    assert.deepEqual(other, [1, 2]);
  });

  it("a QoS 1 subscription with overflow 'drop-oldest' dead-letters the overflowed message (reason 'overflow')", (t) => {
    const bus = manualBus(t);
    const events: DeadLetterEvent[] = [];
    const drops: unknown[] = [];
    bus.on('dead-letter', (e) => events.push(e));
    bus.on('drop', (e) => drops.push(e));
    const dlq: Message[] = [];
    bus.subscribe('$dlq.a', (m) => void dlq.push(m));
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), {
      qos: 1,
      queueSize: 2,
      overflow: 'drop-oldest'
    });
    for (let i = 1; i <= 3; i++) assert.equal(bus.publish('a', i, { qos: 1 }), 1);
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, 'overflow');
    assert.equal(events[0].message.payload, 1);
    assert.equal(events[0].deadLetterTopic, '$dlq.a');
    assert.equal(drops.length, 0, 'not a silent drop');
    bus.flush();
    assert.deepEqual(got, [2, 3]);
    assert.deepEqual(
      dlq.map((m) => m.payload),
      [1]
    );
    assert.equal(bus.stats().totals.deadLettered, 1);
    assert.equal(bus.stats().totals.dropped.overflow, 0);
  });

  it("a QoS 1 subscription with overflow 'drop-newest' dead-letters the refused message and publish does not count it", (t) => {
    const bus = manualBus(t);
    const events: DeadLetterEvent[] = [];
    bus.on('dead-letter', (e) => events.push(e));
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), {
      qos: 1,
      queueSize: 1,
      overflow: 'drop-newest'
    });
    assert.equal(bus.publish('a', 1, { qos: 1 }), 1);
    assert.equal(bus.publish('a', 2, { qos: 1 }), 0);
    assert.deepEqual(
      events.map((e) => [e.reason, e.message.payload]),
      [['overflow', 2]]
    );
    bus.flush();
    assert.deepEqual(got, [1]);
  });

  it('QoS 0 messages in a QoS 1 drop-oldest queue are dropped, not dead-lettered', (t) => {
    const bus = manualBus(t);
    const events: DeadLetterEvent[] = [];
    bus.on('dead-letter', (e) => events.push(e));
    bus.subscribe('a', () => {}, { qos: 1, queueSize: 1, overflow: 'drop-oldest' });
    bus.publish('a', 1);
    bus.publish('a', 2);
    assert.equal(events.length, 0);
    assert.equal(bus.stats().totals.dropped.overflow, 1);
  });
});

describe('QoS 1: effective QoS and per-queue state', () => {
  it('the effective QoS is min(publish, subscribe)', (t) => {
    const bus = manualBus(t);
    const q0sub: Message[] = [];
    const q1sub: Message[] = [];
    bus.subscribe('a', (m) => void q0sub.push(m), { qos: 0 });
    bus.subscribe('a', (m) => void q1sub.push(m), { qos: 1, autoAck: false });
    bus.publish('a', 'p0', { qos: 0 });
    bus.publish('a', 'p1', { qos: 1 });
    bus.flush();
    assert.deepEqual(
      q0sub.map((m) => m.qos),
      [0, 0]
    );
    assert.deepEqual(
      q1sub.map((m) => m.qos),
      [0, 1]
    );
    assert.equal(q0sub[1].ack(), false, 'a QoS 0 subscriber gets nothing to ack');
    assert.equal(
      bus.stats().queues.find((q) => q.qos === 1)?.inFlight,
      1,
      'only the QoS 1 publish is in flight'
    );
  });

  it('a QoS 1 publish to two QoS 1 queues gives each its own ack state', (t) => {
    const bus = manualBus(t);
    const a: Message[] = [];
    const b: Message[] = [];
    const sa = bus.subscribe('a', (m) => void a.push(m), { qos: 1, autoAck: false });
    const sb = bus.subscribe('a', (m) => void b.push(m), {
      qos: 1,
      autoAck: false,
      ackTimeoutMs: 50
    });
    bus.publish('a', 'x', { qos: 1 });
    bus.flush();
    assert.notEqual(a[0], b[0]);
    assert.equal(a[0].id, b[0].id);
    assert.equal(a[0].ack(), true);
    assert.equal(sa.unacked, 0);
    assert.equal(sb.unacked, 1);
    assert.equal(b[0].nack(), true);
    bus.flush();
    assert.equal(a.length, 1, 'the acked copy is not redelivered');
    assert.equal(b.length, 2);
    assert.equal(b[1].attempt, 2);
  });

  it('a redelivered Message is a new object and the old one did not change', (t) => {
    const bus = manualBus(t);
    const got: Message[] = [];
    bus.subscribe('a', (m) => void got.push(m), { qos: 1, autoAck: false });
    const payload = { v: 1 };
    bus.publish('a', payload, { qos: 1, headers: { h: 'x' } });
    bus.flush();
    const first = got[0];
    const snapshot = {
      topic: first.topic,
      payload: first.payload,
      headers: first.headers,
      id: first.id,
      attempt: first.attempt,
      qos: first.qos,
      publishedAt: first.publishedAt
    };
    first.nack();
    bus.flush();
    const second = got[1];
    assert.notEqual(second, first);
    assert.deepEqual(
      {
        topic: first.topic,
        payload: first.payload,
        headers: first.headers,
        id: first.id,
        attempt: first.attempt,
        qos: first.qos,
        publishedAt: first.publishedAt
      },
      snapshot
    );
    assert.equal(first.attempt, 1);
    assert.equal(second.attempt, 2);
    assert.equal(second.payload, payload);
    assert.equal(second.id, first.id);
    assert.equal(second.publishedAt, first.publishedAt);
  });
});
