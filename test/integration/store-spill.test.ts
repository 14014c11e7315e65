import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { Bus, type Message } from '../../adapters/node.js';

/**
 * Spill-over: a durable channel keeps at most its queueSize in memory; the rest waits in the log
 * and is read back, in order, as the channel drains — also after a restart.
 */

const QUEUE_SIZE = 64;
const PATTERN = 'jobs.*';

function storeDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringbus-spill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(t: TestContext, dir: string, segmentBytes = 16 * 1024): Bus {
  const bus = new Bus({ store: { dir, segmentBytes } });
  t.after(() => bus.close());
  return bus;
}

async function publishRange(bus: Bus, from: number, to: number): Promise<void> {
  const pending: Promise<number>[] = [];
  for (let i = from; i < to; i++) pending.push(bus.publishAsync('jobs.run', i, { qos: 1 }));
  await Promise.all(pending);
}

/** Pulls until `n` messages came or none comes for a while; acks each unless `keep` says not. */
async function take(
  bus: Bus,
  n: number,
  keep: (m: Message) => boolean = () => false
): Promise<Message[]> {
  const sub = bus.subscribe(PATTERN, { channel: 'w' });
  const got: Message[] = [];
  while (got.length < n) {
    const batch = await sub.pull(Math.min(100, n - got.length), { timeoutMs: 500 });
    if (batch.length === 0) break;
    for (const m of batch) {
      got.push(m);
      if (!keep(m)) m.ack();
    }
  }
  sub.unsubscribe();
  return got;
}

describe('durable spill-over', () => {
  it('a backlog beyond queueSize waits on disk, never dropped or blocking, and drains in order', async (t) => {
    const bus = open(t, storeDir(t));
    bus.subscribe(PATTERN, { channel: 'w', qos: 1, queueSize: QUEUE_SIZE });
    await publishRange(bus, 0, 3000); // resolves: a full durable channel does not block
    const channel = bus.channel(PATTERN, 'w');
    assert.equal(channel.depth, 3000);
    assert.equal(bus.stats().store!.messages, 3000);
    assert.equal(bus.stats().totals.dropped.overflow + bus.stats().totals.deadLettered, 0);
    const got = await take(bus, 3000);
    assert.deepEqual(
      got.map((m) => m.payload),
      Array.from({ length: 3000 }, (_, i) => i)
    );
    assert.equal(channel.depth, 0);
  });

  it('publishing while the backlog drains keeps publish order', async (t) => {
    const bus = open(t, storeDir(t));
    bus.subscribe(PATTERN, { channel: 'w', qos: 1, queueSize: QUEUE_SIZE });
    const seen: number[] = [];
    await publishRange(bus, 0, 500);
    let next = 500;
    while (seen.length < 2000) {
      const got = await take(bus, 150);
      for (const m of got) seen.push(m.payload as number);
      if (next < 2000) {
        await publishRange(bus, next, Math.min(2000, next + 300));
        next = Math.min(2000, next + 300);
      }
      if (got.length === 0 && next === 2000) break;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 2000 }, (_, i) => i)
    );
  });

  it('after a restart: the window in memory, the rest read back; acks and nacks of the last run count', async (t) => {
    const dir = storeDir(t);
    let bus = open(t, dir);
    bus.subscribe(PATTERN, { channel: 'w', qos: 1, queueSize: QUEUE_SIZE });
    await publishRange(bus, 0, 1000);
    // Ack 0..299 except multiples of 50, which stay unacked until the consumer leaves: that
    // requeues them (attempt 2), recorded like a nack.
    await take(bus, 300, (m) => (m.payload as number) % 50 === 0);
    await bus.close();

    bus = open(t, dir);
    const recovery = bus.stats().store!.recovery;
    assert.equal(recovery.messages, 700 + 6);
    const rest = await take(bus, 1000);
    const expected = [
      ...[0, 50, 100, 150, 200, 250],
      ...Array.from({ length: 700 }, (_, i) => 300 + i)
    ];
    assert.deepEqual(
      rest.map((m) => m.payload),
      expected,
      'unacked in id order, acked ones gone'
    );
    for (const m of rest.slice(0, 6)) assert.equal(m.attempt, 2, `requeued ${String(m.payload)}`);
    for (const m of rest.slice(6)) assert.equal(m.attempt, 1);
  });

  it('a restart in the middle of a spill and acks beyond the first window', async (t) => {
    const dir = storeDir(t);
    let bus = open(t, dir, 8192);
    bus.subscribe(PATTERN, { channel: 'w', qos: 1, queueSize: 16 });
    await publishRange(bus, 0, 2000);
    await bus.close();
    bus = open(t, dir, 8192);
    assert.equal(bus.channel(PATTERN, 'w').depth, 2000);
    const firstRun = await take(bus, 1234); // many windows read back from the log, acked
    assert.equal(firstRun.length, 1234);
    await bus.close();
    bus = open(t, dir, 8192);
    const secondRun = await take(bus, 2000);
    assert.deepEqual(
      secondRun.map((m) => m.payload),
      Array.from({ length: 766 }, (_, i) => 1234 + i),
      'acked ones never come back, even those read back from a spill'
    );
    assert.equal(bus.stats().store!.messages, 0);
  });

  it('compaction leaves the spilled part of the log alone and reclaims it once drained', async (t) => {
    const bus = open(t, storeDir(t), 4096);
    bus.subscribe(PATTERN, { channel: 'w', qos: 1, queueSize: 16 });
    await publishRange(bus, 0, 3000);
    const spilledSegments = bus.stats().store!.segments;
    assert.ok(spilledSegments > 10, `${spilledSegments} segments hold the backlog`);
    const got = await take(bus, 3000);
    assert.equal(got.length, 3000);
    await bus.publishAsync('jobs.run', 'last', { qos: 1 }); // a new segment: older ones may go
    await take(bus, 1);
    const deadline = Date.now() + 5000;
    while (bus.stats().store!.segments > 3 && Date.now() < deadline)
      await new Promise((resolve) => setImmediate(resolve));
    assert.ok(bus.stats().store!.segments <= 3, `${bus.stats().store!.segments} segments left`);
  });

  it('acks beyond the first window before a restart: the rest comes back exactly once', async (t) => {
    const dir = storeDir(t);
    const opts = { channel: 'w', qos: 1 as const, queueSize: 4, maxInFlight: 100 };
    let bus = open(t, dir);
    let sub = bus.subscribe(PATTERN, opts);
    await publishRange(bus, 1, 13); // 1..12: 4 in memory, 8 spilled
    const held: Message[] = [];
    while (held.length < 8) held.push(...(await sub.pull(8 - held.length, { timeoutMs: 1000 })));
    held.find((m) => m.payload === 8)!.ack(); // the others stay unacked
    await bus.close();

    bus = open(t, dir);
    assert.equal(bus.channel(PATTERN, 'w').depth, 11);
    sub = bus.subscribe(PATTERN, opts);
    const seen: unknown[] = [];
    for (;;) {
      const got = await sub.pull(3, { timeoutMs: 200 });
      if (got.length === 0) break;
      for (const m of got) {
        seen.push(m.payload);
        m.ack();
      }
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]);
    await publishRange(bus, 13, 17);
    const later = await sub.pull(10, { timeoutMs: 1000 });
    assert.deepEqual(
      later.map((m) => m.payload),
      [13, 14, 15, 16]
    );
  });

  it('empty() drops the spilled backlog too, for good', async (t) => {
    const dir = storeDir(t);
    let bus = open(t, dir);
    bus.subscribe(PATTERN, { channel: 'w', qos: 1, queueSize: 4 });
    await publishRange(bus, 0, 12);
    const channel = bus.channel(PATTERN, 'w');
    assert.equal(channel.depth, 12);
    assert.equal(channel.empty(), 12);
    assert.equal(channel.depth, 0);
    assert.equal(bus.stats().totals.dropped.emptied, 12);
    await publishRange(bus, 12, 14);
    assert.deepEqual(
      (await take(bus, 10)).map((m) => m.payload),
      [12, 13]
    );
    await publishRange(bus, 14, 15);
    await bus.close();
    bus = open(t, dir);
    assert.deepEqual(
      (await take(bus, 10)).map((m) => m.payload),
      [14],
      'the emptied ones stay gone after a restart'
    );
  });
});
