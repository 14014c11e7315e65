import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus, type DropEvent } from '../../src/index.js';
import { Message, PLAIN } from '../../src/message.js';
import { type LogReader, TopicLog } from '../../src/topic-log.js';

/** A reader that records what it reads and drops, draining only when told. */
class FakeReader implements LogReader {
  cursor = 0;
  readonly read: number[] = [];
  readonly dropped: number[] = [];
  constructor(
    private readonly log: () => TopicLog,
    readonly capacity: number,
    public active = true
  ) {}
  skipTo(seq: number): void {
    while (this.cursor < seq) this.dropped.push(this.log().at(this.cursor++).payload as number);
  }
  drain(): void {
    if (!this.active) return;
    const log = this.log();
    log.end = log.head; // what the dispatcher does at the start of a drain
    if (log.end - this.cursor > this.capacity) this.skipTo(log.end - this.capacity);
    while (this.cursor < log.end) this.read.push(log.at(this.cursor++).payload as number);
  }
}

const message = (n: number): Message => new Message('t', n, n, 1, 0, PLAIN);

function setup(capacities: number[]): {
  log: TopicLog;
  readers: FakeReader[];
  scheduled: number[];
} {
  const scheduled: number[] = [];
  const log: TopicLog = new TopicLog({ scheduleLog: () => scheduled.push(log.head) }, 't', 4);
  const readers = capacities.map((c) => new FakeReader(() => log, c));
  for (const r of readers) log.addReader(r);
  return { log, readers, scheduled };
}

describe('TopicLog', () => {
  it('delivers every message to every reader in order, writing each once', () => {
    const { log, readers } = setup([8, 8, 8]);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 5; i++) log.append(message(round * 5 + i));
      log.drain();
    }
    const expected = Array.from({ length: 250 }, (_, i) => i);
    for (const r of readers) {
      assert.deepEqual(r.read, expected);
      assert.deepEqual(r.dropped, []);
    }
  });

  it('grows to twice the largest reader capacity', () => {
    const { log } = setup([100]);
    assert.ok(log.head === 0);
    const big = new FakeReader(() => log, 1000);
    log.addReader(big);
    for (let i = 0; i < 1500; i++) log.append(message(i));
    log.drain();
    assert.equal(big.read.length, 1000);
    assert.deepEqual(
      big.dropped,
      Array.from({ length: 500 }, (_, i) => i)
    );
  });

  it('a stalled reader drops its oldest beyond its capacity while others read everything', () => {
    const { log, readers } = setup([4, 16]);
    const [slow, fast] = readers as [FakeReader, FakeReader];
    slow.active = false;
    for (let i = 0; i < 100; i++) {
      log.append(message(i));
      if (i % 3 === 0) log.drain();
    }
    log.drain();
    assert.deepEqual(
      fast.read,
      Array.from({ length: 100 }, (_, i) => i)
    );
    slow.active = true;
    log.drain();
    assert.deepEqual(slow.read, [96, 97, 98, 99]);
    assert.deepEqual(
      slow.dropped,
      Array.from({ length: 96 }, (_, i) => i)
    );
  });

  it('clears slots once every reader has passed them', () => {
    const { log } = setup([4]);
    for (let i = 0; i < 4; i++) log.append(message(i));
    log.drain();
    const slots = (log as unknown as { slots: (Message | undefined)[] }).slots;
    assert.ok(slots.every((s) => s === undefined));
  });

  it('rebases sequence numbers without losing or reordering messages', () => {
    const { log, readers } = setup([4]);
    const internals = log as unknown as { head: number; tail: number; limit: number };
    const start = 2 ** 30 - 3;
    internals.head = internals.tail = start;
    internals.limit = start + 8;
    readers[0].cursor = start;
    for (let i = 0; i < 40; i++) {
      log.append(message(i));
      if (i % 2 === 1) log.drain();
    }
    assert.deepEqual(
      readers[0].read,
      Array.from({ length: 40 }, (_, i) => i)
    );
    assert.ok(log.head < 2 ** 30, `head ${log.head} was rebased`);
  });
});

describe('direct subscribers (shared log) through the bus', () => {
  it('a paused subscriber keeps only its newest queueSize messages and reports every drop with its message', async () => {
    const bus = new Bus({ dispatch: 'manual' });
    const got: number[] = [];
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    const sub = bus.subscribe('sim.pos', (m) => void got.push(m.payload as number), {
      queueSize: 8
    });
    const other: number[] = [];
    bus.subscribe('sim.pos', (m) => void other.push(m.payload as number), { queueSize: 8 });
    sub.pause();
    for (let i = 0; i < 100; i++) {
      bus.publish('sim.pos', i);
      if (i % 5 === 4) bus.flush();
    }
    assert.equal(sub.pending, 8);
    assert.equal(sub.dropped, 92);
    sub.resume();
    bus.flush();
    assert.deepEqual(got, [92, 93, 94, 95, 96, 97, 98, 99]);
    assert.deepEqual(
      other,
      Array.from({ length: 100 }, (_, i) => i)
    );
    assert.equal(drops.length, 92);
    assert.deepEqual(
      drops.map((d) => d.message.payload),
      Array.from({ length: 92 }, (_, i) => i)
    );
    assert.equal(bus.stats().totals.dropped.overflow, 92);
    await bus.close();
  });

  it('a burst larger than queueSize between flushes keeps the newest, like a private queue', async () => {
    const bus = new Bus({ dispatch: 'manual' });
    const got: number[] = [];
    const sub = bus.subscribe('a', (m) => void got.push(m.payload as number), { queueSize: 4 });
    for (let i = 0; i < 10; i++) bus.publish('a', i);
    assert.equal(sub.pending, 4);
    assert.equal(sub.dropped, 6);
    bus.flush();
    assert.deepEqual(got, [6, 7, 8, 9]);
    assert.equal(sub.pending, 0);
    assert.equal(sub.dropped, 6);
    await bus.close();
  });

  it('unsubscribing one reader leaves the others reading, and the last one removes the log', async () => {
    const bus = new Bus({ dispatch: 'manual' });
    const a: number[] = [];
    const b: number[] = [];
    const subA = bus.subscribe('x', (m) => void a.push(m.payload as number));
    const subB = bus.subscribe('x', (m) => void b.push(m.payload as number));
    assert.equal(bus.publish('x', 1), 2);
    bus.flush();
    subA.unsubscribe();
    assert.equal(bus.publish('x', 2), 1);
    bus.flush();
    subB.unsubscribe();
    assert.equal(bus.publish('x', 3), 0);
    bus.flush();
    assert.deepEqual(a, [1]);
    assert.deepEqual(b, [1, 2]);
    await bus.close();
  });
});
