import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus, type Message } from '../../src/index.js';

describe('Bus.subscribe with retained messages', () => {
  it('a block queue smaller than the matching retained set takes what fits and never jams the topic', async () => {
    const bus = new Bus({ dispatch: 'manual' });
    bus.publish('a.1', 'one', { qos: 1, retain: true });
    bus.publish('a.2', 'two', { qos: 1, retain: true });
    const got: Message[] = [];
    const sub = bus.subscribe('a.*', (m) => void got.push(m), { qos: 1, queueSize: 1 });
    assert.equal(sub.pending, 1);
    bus.flush();
    assert.deepEqual(
      got.map((m) => m.payload),
      ['one']
    );
    // The queue drained, so later publishes enter it instead of failing with ERR_QUEUE_FULL.
    assert.equal(bus.publish('a.3', 'three', { qos: 1 }), 1);
    bus.flush();
    assert.deepEqual(
      got.map((m) => m.payload),
      ['one', 'three']
    );
    await bus.close();
  });

  it('a subscription rejected for its options leaves no queue behind', async () => {
    const bus = new Bus({ dispatch: 'manual' });
    bus.publish('a.1', 'one', { retain: true });
    assert.throws(() => bus.subscribe('a.*', () => undefined, { qos: 1, conflate: true }));
    assert.equal(bus.publish('a.1', 'again'), 0);
    await bus.close();
  });
});
