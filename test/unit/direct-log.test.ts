import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bus, DropEvent, Message, Subscription } from '../../src/index.js';
import type { TopicLog } from '../../src/topic-log.js';
import { manualBus } from '../helpers/bus.js';

// Review tests of the "direct queue" path: private QoS 0 push subscriptions on an exact topic
// that read the topic's shared TopicLog (src/topic-log.ts, Queue.readLog/skipTo, Bus.attachLog).

interface LogInternals {
  head: number;
  end: number;
  tail: number;
  limit: number;
  slots: (Message | undefined)[];
  readers: { cursor: number }[];
}

function logOf(bus: Bus, topic: string): LogInternals {
  const log = (bus as unknown as { logs: Map<string, TopicLog> }).logs.get(topic);
  assert.ok(log, `topic '${topic}' has a shared log`);
  return log as unknown as LogInternals;
}

describe('review: direct queues (shared topic log)', () => {
  it('keeps in totals.delivered the messages delivered before a handler unsubscribes', (t) => {
    const bus = manualBus(t);
    let calls = 0;
    const sub = bus.subscribe('t', () => {
      calls++;
      sub.unsubscribe();
    });
    bus.publish('t', 1);
    bus.publish('t', 2);
    bus.flush();
    assert.equal(calls, 1);
    // A non-direct private queue (pattern 't.*' below) counts it; the direct one does not.
    assert.equal(bus.stats().totals.delivered, 1, 'the one delivery is counted in the totals');
  });

  it('same scenario on a non-direct private queue counts the delivery (reference)', (t) => {
    const bus = manualBus(t);
    const sub: Subscription = bus.subscribe('t.*', () => sub.unsubscribe());
    bus.publish('t.a', 1);
    bus.publish('t.a', 2);
    bus.flush();
    assert.equal(bus.stats().totals.delivered, 1);
  });

  it('counts each delivery before its handler runs (observed from a handler)', (t) => {
    const bus = manualBus(t);
    const seen: number[] = [];
    const sub = bus.subscribe('t', () => void seen.push(sub.delivered));
    for (let i = 0; i < 3; i++) bus.publish('t', i);
    bus.flush();
    // A private non-direct queue reports 1, 2, 3 (counted before the handler runs).
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('never lets the overflow count of a direct queue go backwards: counted drops are really dropped', (t) => {
    const bus = manualBus(t);
    const observed: number[] = [];
    let published = false;
    // First reader: its handler publishes 2 more messages on the topic during the flush.
    bus.subscribe(
      't',
      () => {
        if (published) return;
        published = true;
        bus.publish('t', 'x1');
        bus.publish('t', 'x2');
        observed.push(slow.dropped, bus.stats().totals.dropped.overflow);
      },
      { queueSize: 4 }
    );
    const got: unknown[] = [];
    const slow = bus.subscribe('t', (m) => void got.push(m.payload), { queueSize: 4 });
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    for (let i = 0; i < 4; i++) bus.publish('t', i);
    bus.flush();
    bus.flush();
    // While the first handler ran, `slow` (4 unread, capacity 4, 2 more arriving) reported 2
    // overflow drops, and the first reader 1 (3 unread + 2). A counter must never go backwards,
    // and a message counted as dropped must not be delivered.
    assert.deepEqual(observed, [2, 3]);
    const after = bus.stats().totals.dropped.overflow;
    assert.ok(after >= 3, `totals.dropped.overflow went back from 3 to ${after}`);
    assert.equal(slow.dropped, 2);
    assert.equal(drops.length, 3);
    // Like a private drop-oldest queue of capacity 4: the two oldest are dropped.
    assert.deepEqual(got, [2, 3, 'x1', 'x2']);
  });

  it('reference: a non-direct private drop-oldest queue drops the oldest at publish time in the same scenario', (t) => {
    const bus = manualBus(t);
    let published = false;
    bus.subscribe(
      't.a',
      () => {
        if (published) return;
        published = true;
        bus.publish('t.a', 'x1');
        bus.publish('t.a', 'x2');
      },
      { queueSize: 4 }
    );
    const got: unknown[] = [];
    const slow = bus.subscribe('t.*', (m) => void got.push(m.payload), { queueSize: 4 });
    for (let i = 0; i < 4; i++) bus.publish('t.a', i);
    bus.flush();
    bus.flush();
    assert.equal(slow.dropped, 2);
    assert.deepEqual(got, [2, 3, 'x1', 'x2']);
  });

  it('survives a rebase inside a reader batch (another reader unsubscribes) without reading past the head', (t) => {
    const bus = manualBus(t);
    const got: number[] = [];
    let other: ReturnType<Bus['subscribe']> | undefined;
    bus.subscribe('t', (m) => {
      got.push(m.payload as number);
      other?.unsubscribe();
      other = undefined;
    });
    other = bus.subscribe('t', () => undefined);
    // Fast-forward the log to just below the rebase point (2**30), as after a very long run.
    const log = logOf(bus, 't');
    const start = 2 ** 30;
    log.head = log.end = log.tail = start;
    log.limit = start + log.slots.length;
    for (const r of log.readers) r.cursor = start;
    for (let i = 0; i < 3; i++) bus.publish('t', i);
    assert.doesNotThrow(() => bus.flush());
    assert.deepEqual(got, [0, 1, 2]);
  });

  it('a long run across the rebase point loses, duplicates and reorders nothing (two readers, different sizes)', (t) => {
    const bus = manualBus(t);
    const a: number[] = [];
    const b: number[] = [];
    bus.subscribe('t', (m) => void a.push(m.payload as number), { queueSize: 4 });
    bus.subscribe('t', (m) => void b.push(m.payload as number), { queueSize: 16 });
    const log = logOf(bus, 't');
    const start = 2 ** 30 - 37;
    log.head = log.end = log.tail = start;
    log.limit = start + log.slots.length;
    for (const r of log.readers) r.cursor = start;
    let n = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 3; i++) bus.publish('t', n++);
      bus.flush();
    }
    const all = Array.from({ length: n }, (_, i) => i);
    assert.deepEqual(a, all);
    assert.deepEqual(b, all);
    assert.ok(log.head < 2 ** 30, 'rebased');
    assert.ok(
      log.slots.every((s) => s === undefined),
      'every slot cleared'
    );
  });

  it('clears the log slot once a paused reader resumes and reads it', (t) => {
    const bus = manualBus(t);
    const fast: unknown[] = [];
    const slow: unknown[] = [];
    bus.subscribe('t', (m) => void fast.push(m.payload));
    const sub = bus.subscribe('t', (m) => void slow.push(m.payload));
    sub.pause();
    const payload = { big: 'payload' };
    bus.publish('t', payload);
    bus.flush();
    sub.resume();
    bus.flush();
    assert.deepEqual(slow, [payload]);
    const log = logOf(bus, 't');
    assert.ok(
      !log.slots.some((m) => m?.payload === payload),
      'every reader passed the message, but its slot still holds it'
    );
  });

  it('clears the log slots after a reader that paused inside its handler resumes and reads them', (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    const sub = bus.subscribe('t', (m) => {
      got.push(m.payload);
      if (got.length === 1) sub.pause();
    });
    const p1 = { n: 1 };
    const p2 = { n: 2 };
    bus.publish('t', p1);
    bus.publish('t', p2);
    bus.flush();
    sub.resume();
    bus.flush();
    assert.deepEqual(got, [p1, p2]);
    const log = logOf(bus, 't');
    assert.ok(
      !log.slots.some((m) => m !== undefined),
      'the log still holds payloads every reader has read'
    );
  });

  it('pending, dropped and stats agree at every step for readers of different sizes, one paused', (t) => {
    const bus = manualBus(t);
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    const small = bus.subscribe('t', () => undefined, { queueSize: 2 });
    const big = bus.subscribe('t', () => undefined, { queueSize: 8 });
    const got: number[] = [];
    const paused = bus.subscribe('t', (m) => void got.push(m.payload as number), {
      queueSize: 4
    });
    paused.pause();
    for (let i = 0; i < 30; i++) {
      bus.publish('t', i);
      const s = bus.stats();
      const q = (id: number) => s.queues.find((x) => x.subscription === id)!;
      assert.equal(q(paused.id).depth, Math.min(4, i + 1));
      assert.equal(q(paused.id).dropped.overflow, Math.max(0, i + 1 - 4));
      assert.equal(paused.pending, Math.min(4, i + 1));
      assert.equal(paused.dropped, Math.max(0, i + 1 - 4));
      assert.equal(
        s.totals.dropped.overflow,
        q(small.id).dropped.overflow + q(big.id).dropped.overflow + q(paused.id).dropped.overflow
      );
      if (i % 2 === 1) bus.flush();
    }
    bus.flush();
    paused.resume();
    bus.flush();
    assert.deepEqual(got, [26, 27, 28, 29]);
    assert.equal(paused.dropped, 26);
    assert.equal(small.dropped + big.dropped, 0);
    const mine = drops.filter((d) => d.message.payload !== undefined);
    assert.deepEqual(
      mine.map((d) => d.message.payload),
      Array.from({ length: 26 }, (_, i) => i)
    );
    assert.equal(bus.stats().totals.dropped.overflow, 26);
  });

  it('a subscriber joining while the log holds unread messages gets only later messages, retained first', (t) => {
    const bus = manualBus(t);
    bus.publish('t', 'r', { retain: true });
    const first: unknown[] = [];
    const a = bus.subscribe('t', (m) => void first.push(m.payload));
    a.pause();
    bus.publish('t', 'm1');
    const late: unknown[] = [];
    bus.subscribe('t', (m) => void late.push(m.payload), { queueSize: 2048 }); // grows the log
    bus.publish('t', 'm2');
    a.resume();
    bus.flush();
    assert.deepEqual(first, ['r', 'm1', 'm2']);
    assert.deepEqual(late, ['r', 'm2']);
  });

  it('a subscriber created by a handler gets the retained message, then later messages, in order, on later flushes', (t) => {
    const bus = manualBus(t);
    bus.publish('t', 'r', { retain: true });
    const late: unknown[] = [];
    let made = false;
    bus.subscribe('t', () => {
      if (made) return;
      made = true;
      bus.subscribe('t', (x) => void late.push(x.payload));
      bus.publish('t', 'after');
    });
    bus.flush(); // the first subscriber gets 'r' and subscribes + publishes
    assert.deepEqual(late, []);
    bus.flush();
    assert.deepEqual(late, ['r', 'after']);
  });

  it('drops expired log messages at dequeue, counted and emitted once per reader', (t) => {
    const bus = manualBus(t);
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    const realNow = Date.now;
    t.after(() => {
      Date.now = realNow;
    });
    const base = realNow();
    let now = base;
    Date.now = () => now;
    const a: unknown[] = [];
    const b: unknown[] = [];
    bus.subscribe('t', (m) => void a.push(m.payload));
    bus.subscribe('t', (m) => void b.push(m.payload));
    bus.publish('t', 'short', { ttlMs: 10 });
    bus.publish('t', 'long', { ttlMs: 1000 });
    now = base + 50;
    bus.flush();
    assert.deepEqual(a, ['long']);
    assert.deepEqual(b, ['long']);
    assert.equal(drops.length, 2);
    assert.ok(drops.every((d) => d.reason === 'expired' && d.message.payload === 'short'));
    assert.equal(bus.stats().totals.dropped.expired, 2);
  });

  it('unsubscribing a reader from another reader handler stops it at once and keeps counts', (t) => {
    const bus = manualBus(t);
    const got: unknown[] = [];
    const victims: Subscription[] = [];
    bus.subscribe('t', (m) => {
      if (m.payload === 1) victims[0]?.unsubscribe();
    });
    victims.push(bus.subscribe('t', (m) => void got.push(m.payload)));
    bus.publish('t', 0);
    bus.publish('t', 1);
    bus.publish('t', 2);
    bus.flush();
    // The first reader reads all three before the second reader's turn: the victim gets none.
    assert.deepEqual(got, []);
    assert.equal(bus.stats().totals.delivered, 3);
    assert.equal(logOf(bus, 't').readers.length, 1);
  });
  it('an unsubscribed direct subscription stops counting drops and pending from later publishes', (t) => {
    const bus = manualBus(t);
    bus.subscribe('t', () => undefined, { queueSize: 4 });
    const gone = bus.subscribe('t', () => undefined, { queueSize: 4 });
    bus.publish('t', 0);
    bus.flush();
    gone.unsubscribe();
    const before = { pending: gone.pending, dropped: gone.dropped };
    for (let i = 1; i <= 20; i++) bus.publish('t', i);
    assert.deepEqual({ pending: gone.pending, dropped: gone.dropped }, before);
    assert.deepEqual(before, { pending: 0, dropped: 0 });
  });
});
