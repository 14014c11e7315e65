import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeadLetterEvent, Message, Subscription } from '../../src/index.js';
import { makeBus, manualBus } from '../helpers/bus.js';
import { waitFor, within } from '../helpers/wait.js';

// Review tests of QoS 1 push handlers that ack by returning (MessageState.IN_HANDLER) and of the
// credit / wake-up accounting of Queue (release, settle, retryOrDeadLetter).

describe('review: QoS 1 in-handler state', () => {
  it('ack() inside the handler after its private subscription unsubscribed returns false', (t) => {
    const bus = manualBus(t);
    let result: boolean | undefined;
    const sub: Subscription = bus.subscribe(
      'a',
      (m) => {
        sub.unsubscribe();
        result = m.ack();
      },
      { qos: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    // docs/semantics.md: ack() returns false "after its queue is gone".
    assert.equal(result, false);
  });

  it('reference: the same ack on an autoAck:false delivery (listed in flight) returns false', (t) => {
    const bus = manualBus(t);
    let result: boolean | undefined;
    const sub: Subscription = bus.subscribe(
      'a',
      (m) => {
        sub.unsubscribe();
        result = m.ack();
      },
      { qos: 1, autoAck: false }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    assert.equal(result, false);
  });

  it('a handler that deletes its channel and then throws does not dead-letter the discarded message', (t) => {
    const bus = manualBus(t);
    const dead: DeadLetterEvent[] = [];
    bus.on('dead-letter', (e) => dead.push(e));
    bus.on('error', () => undefined);
    const dlq: unknown[] = [];
    bus.subscribe('$dlq.a', (m) => void dlq.push(m.payload));
    bus.subscribe(
      'a',
      () => {
        bus.channel('a', 'c').delete();
        throw new Error('boom');
      },
      { qos: 1, channel: 'c', maxAttempts: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    bus.flush();
    // "In-flight QoS 1 messages discarded by a channel's delete() ... are not dead-lettered".
    assert.deepEqual(
      dead.map((e) => e.reason),
      []
    );
    assert.deepEqual(dlq, []);
    assert.equal(bus.stats().totals.deadLettered, 0);
  });

  it('a handler that unsubscribes its private subscription and throws does not dead-letter the discarded message', (t) => {
    const bus = manualBus(t);
    const dead: DeadLetterEvent[] = [];
    bus.on('dead-letter', (e) => dead.push(e));
    bus.on('error', () => undefined);
    const sub: Subscription = bus.subscribe(
      'a',
      () => {
        sub.unsubscribe();
        throw new Error('boom');
      },
      { qos: 1, maxAttempts: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    // "When a private queue's subscription unsubscribes, the queue and its in-flight messages
    // are discarded."
    assert.equal(dead.length, 0);
  });

  it('channel and stats inFlight count a message a sync handler holds unacked', (t) => {
    const bus = manualBus(t);
    let seen: Record<string, number> | undefined;
    const sub: Subscription = bus.subscribe(
      'a',
      () => {
        const s = bus.stats();
        seen = {
          unacked: sub.unacked,
          channel: bus.channel('a', 'c').inFlight,
          queueStats: s.channels[0].inFlight,
          subStats: s.subscriptions[0].inFlight
        };
      },
      { qos: 1, channel: 'c' }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    // "When a QoS 1 message is handed to a consumer it is in flight with that consumer until
    // settled": every view must agree.
    assert.deepEqual(seen, { unacked: 1, channel: 1, queueStats: 1, subStats: 1 });
  });

  it('ack inside the handler then a throw: acked once, reported, not redelivered', (t) => {
    const bus = manualBus(t);
    const errors: unknown[] = [];
    bus.on('error', (e) => errors.push(e));
    const attempts: number[] = [];
    const results: boolean[] = [];
    bus.subscribe(
      'a',
      (m) => {
        attempts.push(m.attempt);
        results.push(m.ack());
        throw new Error('after ack');
      },
      { qos: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    bus.flush();
    assert.deepEqual(attempts, [1]);
    assert.deepEqual(results, [true]);
    assert.equal(errors.length, 1);
    const s = bus.stats().totals;
    assert.equal(s.acked, 1);
    assert.equal(s.redelivered, 0);
    assert.equal(s.handlerErrors, 1);
  });

  it('maxInFlight 1: sync handlers free their credit on return, so one flush delivers the whole snapshot', (t) => {
    const bus = manualBus(t);
    const got: number[] = [];
    const sub = bus.subscribe('a', (m) => void got.push(m.payload as number), {
      qos: 1,
      maxInFlight: 1
    });
    for (let i = 0; i < 5; i++) bus.publish('a', i, { qos: 1 });
    bus.flush();
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.equal(sub.unacked, 0);
    assert.equal(bus.stats().totals.acked, 5);
  });

  it('a channel consumer leaving with an async handler pending returns the message to the channel (attempt + 1)', async (t) => {
    const bus = makeBus(t);
    const other: Message[] = [];
    let first: Subscription | undefined;
    first = bus.subscribe('a', () => new Promise(() => undefined), {
      qos: 1,
      channel: 'c'
    });
    bus.publish('a', 1, { qos: 1 });
    await waitFor(() => bus.channel('a', 'c').inFlight === 1, 2000, 'in flight');
    bus.subscribe('a', (m) => void other.push(m), { qos: 1, channel: 'c' });
    first.unsubscribe();
    first = undefined;
    await waitFor(() => other.length === 1, 2000, 'redelivery to the other consumer');
    assert.equal(other[0].attempt, 2);
    assert.equal(bus.stats().totals.redelivered, 1);
  });
});

describe('review: a consumer whose credit is freed gets the waiting messages', () => {
  it('a nack that dead-letters (maxAttempts) frees credit and the waiting message goes next', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    bus.subscribe('a', (m) => void held.push(m), {
      qos: 1,
      autoAck: false,
      maxInFlight: 1,
      maxAttempts: 1
    });
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    bus.flush();
    assert.deepEqual(
      held.map((m) => m.payload),
      [1]
    );
    assert.equal(held[0].nack(), true); // attempt 1 >= maxAttempts 1: dead-lettered
    bus.flush();
    bus.flush();
    assert.deepEqual(
      held.map((m) => m.payload),
      [1, 2],
      'the consumer has credit again but message 2 is never delivered'
    );
  });

  it('an async handler rejecting on its last attempt lets the next message go (microtask bus)', async (t) => {
    const bus = makeBus(t);
    bus.on('error', () => undefined);
    const got: number[] = [];
    bus.subscribe(
      'a',
      (m) => {
        got.push(m.payload as number);
        // an async handler: settles later, through its promise
        return m.payload === 1 ? Promise.reject(new Error('fail')) : Promise.resolve();
      },
      { qos: 1, maxInFlight: 1, maxAttempts: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    await waitFor(() => got.length === 2, 500, 'message 2 delivered').catch(() => undefined);
    assert.deepEqual(got, [1, 2]);
  });

  it('a nack with a delay frees credit at once for the waiting message', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    bus.subscribe('a', (m) => void held.push(m), { qos: 1, autoAck: false, maxInFlight: 1 });
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    bus.flush();
    assert.equal(held[0].nack(60_000), true);
    bus.flush();
    assert.deepEqual(
      held.map((m) => m.payload),
      [1, 2],
      'the consumer is ready (no message in flight) but message 2 waits for the 60 s nack delay'
    );
  });

  it('an ack frees credit and the waiting message is delivered by the next flush (reference)', (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    bus.subscribe('a', (m) => void held.push(m), { qos: 1, autoAck: false, maxInFlight: 1 });
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    bus.flush();
    assert.equal(held[0].ack(), true);
    bus.flush();
    assert.deepEqual(
      held.map((m) => m.payload),
      [1, 2]
    );
  });

  it('a requeued message taken by a pull() during a flush strands no later requeue', async (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    const pushGot: Message[] = [];
    // Push consumer H (joins first) and pull consumer P share channel 'c' on 'a'.
    bus.subscribe(
      'a',
      (m) => {
        if (m.attempt === 1) held.push(m);
        else pushGot.push(m);
      },
      { qos: 1, channel: 'c', autoAck: false }
    );
    const p = bus.subscribe('a', { qos: 1, channel: 'c', maxInFlight: 2 });
    // Flush 1: H receives m1 and m2 (P has no pull waiting) and keeps them unacked.
    bus.publish('a', 'm1', { qos: 1 });
    bus.publish('a', 'm2', { qos: 1 });
    bus.flush();
    assert.equal(held.length, 2);
    // Another queue, drained earlier in the next flush, nacks both: they are requeued into 'c'
    // while 'c' is already scheduled for that flush (after its snapshot).
    bus.subscribe('x', () => {
      for (const m of held) m.nack();
    });
    const pulls = [p.pull(1, { timeoutMs: 60_000 }), p.pull(1, { timeoutMs: 60_000 })];
    bus.publish('x', 0);
    bus.publish('a', 'm3', { qos: 1 });
    bus.flush();
    bus.flush();
    bus.flush();
    // Every message is delivered to someone: m3 and one requeue to P (maxInFlight 2), the other
    // requeue to H, which is ready (push, no credit limit reached).
    assert.equal(p.unacked, 2);
    assert.equal(
      pushGot.length,
      1,
      `a requeued message is stranded in the channel (depth ${bus.channel('a', 'c').depth}) while H is ready`
    );
    const pulled = await within(Promise.all(pulls), 1000, 'both pulls');
    assert.deepEqual(
      pulled.map((b) => b.length),
      [1, 1]
    );
  });
});

describe('review: the flush snapshot', () => {
  it('a nack inside a handler is redelivered by the next flush, not the current one', (t) => {
    const bus = manualBus(t);
    const attempts: number[] = [];
    bus.subscribe(
      'a',
      (m) => {
        attempts.push(m.attempt);
        if (m.attempt < 3) m.nack();
      },
      { qos: 1, channel: 'c' }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    assert.deepEqual(attempts, [1]);
    bus.flush();
    assert.deepEqual(attempts, [1, 2]);
    bus.flush();
    assert.deepEqual(attempts, [1, 2, 3]);
    bus.flush();
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  it('a pull consumer gets what a handler publishes during a flush only on the next flush', async (t) => {
    const bus = manualBus(t);
    const p = bus.subscribe('b');
    bus.subscribe('a', () => void bus.publish('b', 'from-handler'));
    const batch = p.pull(10, { timeoutMs: 60_000 });
    bus.publish('a', 1);
    bus.flush();
    assert.equal(p.pending, 1);
    bus.flush();
    const got = await within(batch, 1000, 'pull');
    assert.deepEqual(
      got.map((m) => m.payload),
      ['from-handler']
    );
  });

  it('a second pending pull() is not filled in the same flush with a message a handler published during it', async (t) => {
    const bus = manualBus(t);
    const p = bus.subscribe('b');
    bus.subscribe('x.*', () => void bus.publish('b', 'b2')); // a wildcard: not a direct queue
    bus.flush(); // subscribing scheduled 'b' (addConsumer wakes it): start from a clean slate
    const first = p.pull(1, { timeoutMs: 60_000 });
    const second = p.pull(1, { timeoutMs: 60_000 });
    let secondDone = false;
    void second.then(() => (secondDone = true));
    bus.publish('x.y', 0); // 'x.*' drains first and publishes b2 into 'b' during the flush
    bus.publish('b', 'b1');
    bus.flush();
    const a = await within(first, 1000, 'first pull');
    await Promise.resolve();
    assert.deepEqual(
      a.map((m) => m.payload),
      ['b1']
    );
    assert.equal(
      secondDone,
      false,
      'b2 was published during the flush: it belongs to the next one'
    );
    bus.flush();
    assert.deepEqual(
      (await within(second, 1000, 'second pull')).map((m) => m.payload),
      ['b2']
    );
  });

  it('handlers ping-ponging past 64 chained drains keep delivering (setTimeout fallback) and never strand', async (t) => {
    const bus = makeBus(t);
    let n = 0;
    const limit = 300;
    bus.subscribe('ping', (m) => {
      n++;
      if ((m.payload as number) < limit) bus.publish('pong', (m.payload as number) + 1);
    });
    bus.subscribe('pong', (m) => {
      n++;
      if ((m.payload as number) < limit) bus.publish('ping', (m.payload as number) + 1);
    });
    bus.subscribe('ping.>', () => undefined); // a non-direct queue too
    bus.publish('ping', 0);
    await waitFor(() => n === limit + 1, 5000, 'every hop delivered');
    await new Promise((r) => setImmediate(r));
    assert.equal(n, limit + 1);
  });

  it('a message published by a handler into a queue still waiting its turn waits for the next flush', (t) => {
    const bus = manualBus(t);
    const order: string[] = [];
    // 'first' is scheduled before 'second'; its handler publishes into 'second' and into itself.
    bus.subscribe('first.*', (m) => {
      order.push(m.topic);
      if (m.topic === 'first.a') {
        bus.publish('second.x', 'late');
        bus.publish('first.b', 'late');
      }
    });
    bus.subscribe('second.*', (m) => void order.push(`${m.topic}:${m.payload as string}`));
    bus.publish('first.a', 0);
    bus.publish('second.x', 'early');
    bus.flush();
    assert.deepEqual(order, ['first.a', 'second.x:early']);
    bus.flush();
    assert.deepEqual(order, ['first.a', 'second.x:early', 'first.b', 'second.x:late']);
  });
});
