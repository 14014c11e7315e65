import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DropEvent, ErrorCode } from '../../src/index.js';
import { manualBus } from '../helpers/bus.js';
import { within } from '../helpers/wait.js';

describe('Bus channels: shared queues', () => {
  it('subscriptions with the same pattern and channel share one queue and round-robin evenly', (t) => {
    const bus = manualBus(t);
    const seen: number[][] = [[], [], []];
    for (let i = 0; i < 3; i++)
      bus.subscribe('job.*', (m) => void seen[i].push(m.payload as number), { channel: 'workers' });
    for (let n = 0; n < 30; n++) assert.equal(bus.publish('job.run', n), 1);
    bus.flush();
    const all = seen.flat().sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: 30 }, (_, i) => i),
      'each message to exactly one consumer'
    );
    for (const s of seen) assert.equal(s.length, 10, 'spread evenly');
    for (const s of seen)
      assert.deepEqual(
        s,
        [...s].sort((a, b) => a - b),
        'FIFO within a consumer'
      );
    assert.equal(bus.stats().channels.length, 1);
    assert.equal(bus.stats().channels[0].consumers, 3);
  });

  it('keeps separate queues for different channel names and for private subscribers on the same pattern', (t) => {
    const bus = manualBus(t);
    const c1: unknown[] = [];
    const c2: unknown[] = [];
    const priv: unknown[] = [];
    bus.subscribe('a', (m) => void c1.push(m.payload), { channel: 'one' });
    bus.subscribe('a', (m) => void c2.push(m.payload), { channel: 'two' });
    bus.subscribe('a', (m) => void priv.push(m.payload));
    assert.equal(bus.publish('a', 1), 3);
    bus.flush();
    assert.deepEqual([c1, c2, priv], [[1], [1], [1]]);
  });

  it('keeps the same channel name on different patterns apart', (t) => {
    const bus = manualBus(t);
    const x: string[] = [];
    const y: string[] = [];
    bus.subscribe('a.x', (m) => void x.push(m.topic), { channel: 'c' });
    bus.subscribe('a.*', (m) => void y.push(m.topic), { channel: 'c' });
    bus.publish('a.x', 1);
    bus.flush();
    assert.deepEqual(x, ['a.x']);
    assert.deepEqual(y, ['a.x']);
  });

  it('outlives its consumers and keeps buffering until a new consumer arrives', (t) => {
    const bus = manualBus(t);
    const first: unknown[] = [];
    const sub = bus.subscribe('a', (m) => void first.push(m.payload), { channel: 'c' });
    bus.publish('a', 1);
    bus.flush();
    sub.unsubscribe();
    assert.equal(sub.closed, true);
    assert.equal(bus.publish('a', 2), 1, 'the channel still takes messages');
    bus.publish('a', 3);
    bus.flush();
    const ch = bus.channel('a', 'c');
    assert.equal(ch.exists, true);
    assert.equal(ch.depth, 2);
    const second: unknown[] = [];
    bus.subscribe('a', (m) => void second.push(m.payload), { channel: 'c' });
    bus.flush();
    assert.deepEqual(first, [1]);
    assert.deepEqual(second, [2, 3]);
    assert.equal(ch.depth, 0);
  });

  it('buffers at most queueSize messages without consumers (drop-oldest, counted)', (t) => {
    const bus = manualBus(t);
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    bus.subscribe('a', () => {}, { channel: 'c', queueSize: 4 }).unsubscribe();
    for (let i = 0; i < 10; i++) bus.publish('a', i);
    assert.equal(bus.channel('a', 'c').depth, 4);
    assert.equal(drops.length, 6);
    assert.ok(
      drops.every((d) => d.reason === 'overflow' && d.channel === 'c' && d.pattern === 'a')
    );
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), { channel: 'c' });
    bus.flush();
    assert.deepEqual(got, [6, 7, 8, 9]);
  });
});

describe('Bus.channel controls', () => {
  it('pause() stops delivery while messages keep queueing; resume() delivers them', (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), { channel: 'c' });
    const ch = bus.channel('a', 'c');
    ch.pause();
    assert.equal(ch.paused, true);
    bus.publish('a', 1);
    bus.publish('a', 2);
    bus.flush();
    assert.deepEqual(got, []);
    assert.equal(ch.depth, 2);
    ch.resume();
    assert.equal(ch.paused, false);
    bus.flush();
    assert.deepEqual(got, [1, 2]);
    assert.equal(ch.depth, 0);
  });

  it("empty() drops what is queued, returns the count and counts them as 'emptied'", (t) => {
    const bus = manualBus(t);
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), { channel: 'c' });
    for (let i = 0; i < 3; i++) bus.publish('a', i);
    const ch = bus.channel('a', 'c');
    assert.equal(ch.empty(), 3);
    assert.equal(ch.depth, 0);
    assert.equal(ch.empty(), 0);
    bus.flush();
    assert.deepEqual(got, []);
    assert.deepEqual(
      drops.map((d) => [d.reason, d.message.payload]),
      [
        ['emptied', 0],
        ['emptied', 1],
        ['emptied', 2]
      ]
    );
    assert.equal(bus.stats().totals.dropped.emptied, 3);
    bus.publish('a', 'after');
    bus.flush();
    assert.deepEqual(got, ['after'], 'the channel keeps working after empty()');
  });

  it('empty() leaves in-flight QoS 1 messages alone', (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => new Promise(() => {}), { channel: 'c', qos: 1, maxInFlight: 1 });
    bus.publish('a', 1, { qos: 1 });
    bus.publish('a', 2, { qos: 1 });
    bus.flush();
    const ch = bus.channel('a', 'c');
    assert.equal(ch.inFlight, 1);
    assert.equal(ch.depth, 1);
    assert.equal(ch.empty(), 1);
    assert.equal(ch.inFlight, 1);
  });

  it("empty() also drops a QoS 1 message waiting out a nack delay, and counts it as 'emptied'", (t) => {
    const bus = manualBus(t);
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    bus.subscribe('a', (m) => void m.nack(60_000), { channel: 'c', qos: 1, autoAck: false });
    bus.publish('a', 'delayed', { qos: 1 });
    bus.flush();
    const ch = bus.channel('a', 'c');
    assert.equal(ch.inFlight, 0);
    assert.equal(ch.depth, 1, 'the delayed redelivery counts as waiting');
    assert.equal(ch.empty(), 1, 'empty() returns every message it discarded');
    assert.equal(ch.depth, 0);
    assert.equal(drops.length, 1, "a QoS 1 message is never discarded without a 'drop' event");
    assert.equal(bus.stats().totals.dropped.emptied, 1);
  });

  it('delete() unsubscribes the consumers, drops what is queued and stops intake', (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    const s1 = bus.subscribe('a', (m) => void got.push(m.payload), { channel: 'c' });
    const s2 = bus.subscribe('a', (m) => void got.push(m.payload), { channel: 'c' });
    bus.publish('a', 1);
    const ch = bus.channel('a', 'c');
    assert.equal(ch.delete(), true);
    assert.equal(s1.closed, true);
    assert.equal(s2.closed, true);
    assert.equal(ch.exists, false);
    assert.equal(bus.publish('a', 2), 0);
    bus.flush();
    assert.deepEqual(got, []);
    assert.equal(bus.stats().totals.dropped.emptied, 1);
    assert.equal(bus.stats().channels.length, 0);
    assert.equal(bus.stats().subscriptions.length, 0);
    assert.equal(ch.delete(), false);
  });

  it('delete() resolves a pull waiting on the channel with []', async (t) => {
    const bus = manualBus(t);
    const puller = bus.subscribe('a', { channel: 'c' });
    const waiting = puller.pull(10, { timeoutMs: 60_000 });
    assert.equal(bus.channel('a', 'c').delete(), true);
    assert.deepEqual(await within(waiting, 1000, 'pull'), []);
    assert.equal(puller.closed, true);
  });

  it('a new subscriber after delete() starts a fresh, empty channel', (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {}, { channel: 'c' }).unsubscribe();
    bus.publish('a', 'old');
    bus.channel('a', 'c').delete();
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), { channel: 'c' });
    bus.publish('a', 'new');
    bus.flush();
    assert.deepEqual(got, ['new']);
  });

  it('depth counts queued messages and inFlight counts unacked QoS 1 messages', (t) => {
    const bus = manualBus(t);
    const held: { ack(): boolean }[] = [];
    bus.subscribe(
      'a',
      (m) => {
        held.push(m);
      },
      { channel: 'c', qos: 1, autoAck: false, maxInFlight: 2 }
    );
    for (let i = 0; i < 5; i++) bus.publish('a', i, { qos: 1 });
    const ch = bus.channel('a', 'c');
    assert.equal(ch.depth, 5);
    assert.equal(ch.inFlight, 0);
    bus.flush();
    assert.equal(ch.depth, 3);
    assert.equal(ch.inFlight, 2);
    held[0].ack();
    assert.equal(ch.inFlight, 1);
    bus.flush();
    assert.equal(ch.depth, 2);
    assert.equal(ch.inFlight, 2);
  });

  it('a handle on a missing channel reads 0 and its operations do nothing', (t) => {
    const bus = manualBus(t);
    const ch = bus.channel('no.such', 'thing');
    assert.equal(ch.exists, false);
    assert.equal(ch.depth, 0);
    assert.equal(ch.inFlight, 0);
    assert.equal(ch.paused, false);
    assert.equal(ch.empty(), 0);
    assert.equal(ch.delete(), false);
    ch.pause();
    ch.resume();
    assert.equal(bus.stats().channels.length, 0, 'the handle does not create the channel');
  });

  it('a handle taken before the channel exists controls it once it does', (t) => {
    const bus = manualBus(t);
    const ch = bus.channel('a', 'c');
    const got: unknown[] = [];
    bus.subscribe('a', (m) => void got.push(m.payload), { channel: 'c' });
    bus.publish('a', 1);
    assert.equal(ch.depth, 1);
    ch.pause();
    bus.flush();
    assert.deepEqual(got, []);
    ch.resume();
    bus.flush();
    assert.deepEqual(got, [1]);
  });

  it('rejects an invalid channel name or pattern', (t) => {
    const bus = manualBus(t);
    assert.throws(() => bus.channel('a', 'bad name'), { code: ErrorCode.INVALID_OPTIONS });
    assert.throws(() => bus.channel('a..b', 'c'), { code: ErrorCode.INVALID_TOPIC });
  });
});

describe('Bus channels: joining', () => {
  it('rejects explicit options that conflict with the channel with ERR_INVALID_OPTIONS, naming the field', (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {}, {
      channel: 'c',
      qos: 1,
      queueSize: 8,
      overflow: 'drop-newest',
      ackTimeoutMs: 100,
      maxAttempts: 3
    });
    const conflicts = [
      { qos: 0 },
      { queueSize: 16 },
      { overflow: 'block' },
      { ackTimeoutMs: 200 },
      { maxAttempts: 4 },
      { conflate: true }
    ] as const;
    for (const extra of conflicts) {
      const field = Object.keys(extra)[0];
      assert.throws(
        () => bus.subscribe('a', () => {}, { channel: 'c', ...extra }),
        (err: unknown) =>
          (err as { code?: string }).code === ErrorCode.INVALID_OPTIONS &&
          (err as Error).message.includes(field),
        field
      );
    }
    assert.equal(bus.stats().channels[0].consumers, 1, 'a refused join adds no consumer');
  });

  it('accepts a join that repeats the channel options or leaves them out, and per-consumer options may differ', (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {}, { channel: 'c', qos: 1, queueSize: 8 });
    const s2 = bus.subscribe('a', () => {}, {
      channel: 'c',
      qos: 1,
      queueSize: 8,
      maxInFlight: 3,
      autoAck: false
    });
    const s3 = bus.subscribe('a', () => {}, { channel: 'c' });
    assert.equal(s2.qos, 1);
    assert.equal(s3.qos, 1, 'a member that leaves qos out gets the channel qos');
    assert.equal(bus.stats().channels[0].consumers, 3);
  });
});

describe('Subscription pause/resume', () => {
  it('pause() stops delivery to a private subscription and resume() delivers what queued meanwhile', (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    const sub = bus.subscribe('a', (m) => void got.push(m.payload));
    sub.pause();
    bus.publish('a', 1);
    bus.publish('a', 2);
    bus.flush();
    assert.deepEqual(got, []);
    assert.equal(sub.pending, 2);
    sub.resume();
    bus.flush();
    assert.deepEqual(got, [1, 2]);
    assert.equal(sub.pending, 0);
  });

  it('a paused private subscription holds at most queueSize messages, drops the oldest and reports every drop', (t) => {
    const bus = manualBus(t);
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    const got: unknown[] = [];
    const sub = bus.subscribe('exact.topic', (m) => void got.push(m.payload), { queueSize: 4 });
    sub.pause();
    for (let i = 0; i < 10; i++) bus.publish('exact.topic', i);
    bus.flush();
    assert.equal(sub.pending, 4);
    assert.equal(sub.dropped, 6);
    assert.equal(bus.stats().totals.dropped.overflow, 6);
    sub.resume();
    bus.flush();
    assert.deepEqual(got, [6, 7, 8, 9]);
    assert.deepEqual(
      drops.map((d) => [d.reason, d.message.payload]),
      [0, 1, 2, 3, 4, 5].map((n) => ['overflow', n])
    );
    assert.equal(sub.dropped, 6);
  });

  it('pause() inside a handler stops delivery of the rest of the batch', (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    const sub = bus.subscribe('a', (m) => {
      got.push(m.payload);
      if (m.payload === 2) sub.pause();
    });
    for (let i = 1; i <= 4; i++) bus.publish('a', i);
    bus.flush();
    assert.deepEqual(got, [1, 2]);
    sub.resume();
    bus.flush();
    assert.deepEqual(got, [1, 2, 3, 4]);
  });

  it('a paused channel consumer is skipped: the others get every message', (t) => {
    const bus = manualBus(t);
    const a: unknown[] = [];
    const b: unknown[] = [];
    const sa = bus.subscribe('x', (m) => void a.push(m.payload), { channel: 'c' });
    bus.subscribe('x', (m) => void b.push(m.payload), { channel: 'c' });
    sa.pause();
    for (let i = 0; i < 4; i++) bus.publish('x', i);
    bus.flush();
    assert.deepEqual(a, []);
    assert.deepEqual(b, [0, 1, 2, 3]);
    sa.resume();
    for (let i = 4; i < 8; i++) bus.publish('x', i);
    bus.flush();
    assert.equal(a.length, 2);
    assert.equal(b.length, 6);
  });
});
