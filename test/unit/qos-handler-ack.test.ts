import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus, type Message } from '../../src/index.js';
import { manualBus } from '../helpers/bus.js';
import { waitFor } from '../helpers/wait.js';

// A QoS 1 push handler with autoAck is not put in the in-flight list unless it returns a
// promise; these tests pin down that the shortcut keeps every QoS 1 rule.
describe('QoS 1 push handlers that ack by returning', () => {
  it('count as in flight (credit and unacked) while the handler runs, and as acked after', (t) => {
    const bus = manualBus(t);
    let seen: [number, number] | undefined;
    const sub = bus.subscribe('a', () => void (seen = [sub.unacked, bus.stats().totals.acked]), {
      qos: 1
    });
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    assert.deepEqual(seen, [1, 0]);
    assert.equal(sub.unacked, 0);
    assert.equal(bus.stats().totals.acked, 1);
  });

  it('a nack() inside the handler wins over the return: redelivered with attempt + 1', (t) => {
    const bus = manualBus(t);
    const attempts: number[] = [];
    bus.subscribe(
      'a',
      (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) assert.equal(m.nack(), true);
      },
      { qos: 1 }
    );
    bus.publish('a', 1, { qos: 1 });
    bus.flush();
    bus.flush();
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(bus.stats().totals.acked, 1);
    assert.equal(bus.stats().totals.redelivered, 1);
  });

  it('a handler whose promise never settles is redelivered after ackTimeoutMs', async () => {
    const bus = new Bus();
    const attempts: number[] = [];
    bus.subscribe(
      'a',
      (m: Message) => {
        attempts.push(m.attempt);
        return m.attempt === 1 ? new Promise(() => undefined) : undefined;
      },
      { qos: 1, ackTimeoutMs: 20 }
    );
    bus.publish('a', 1, { qos: 1 });
    await waitFor(() => attempts.length === 2, 2000, 'redelivery after the ack timeout');
    assert.deepEqual(attempts, [1, 2]);
    await bus.close();
  });

  it('a channel consumer that unsubscribes inside its handler still acks what it handled', (t) => {
    const bus = manualBus(t);
    const got: string[] = [];
    const first = bus.subscribe(
      'a',
      (m) => {
        got.push(`first:${String(m.payload)}`);
        first.unsubscribe();
      },
      { channel: 'c', qos: 1 }
    );
    bus.subscribe('a', (m) => void got.push(`second:${String(m.payload)}`), {
      channel: 'c',
      qos: 1
    });
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    bus.flush();
    bus.flush();
    assert.deepEqual(got, ['first:1', 'second:2']);
    assert.equal(bus.stats().totals.acked, 2);
    assert.equal(bus.stats().totals.redelivered, 0);
    assert.equal(bus.channel('a', 'c').inFlight, 0);
  });

  it('a throwing handler nacks: dead-lettered after maxAttempts', (t) => {
    const bus = manualBus(t);
    const dead: unknown[] = [];
    bus.subscribe('$dlq.a', (m) => void dead.push(m.payload));
    bus.subscribe(
      'a',
      () => {
        throw new Error('poison');
      },
      { qos: 1, maxAttempts: 3 }
    );
    bus.publish('a', 'x', { qos: 1 });
    for (let i = 0; i < 5; i++) bus.flush();
    assert.deepEqual(dead, ['x']);
    assert.equal(bus.stats().totals.redelivered, 2);
    assert.equal(bus.stats().totals.deadLettered, 1);
  });
});
