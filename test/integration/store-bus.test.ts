import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { Bus, ErrorCode, type Message, type StoreOptions } from '../../adapters/node.js';
import { linkPair, rejectsWith } from '../helpers/links.js';

/** A fresh store directory, removed when the test ends. */
function storeDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringbus-store-bus-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A bus on `store`, closed when the test ends (closing twice is harmless). */
function storeBus(t: TestContext, store: StoreOptions): Bus {
  const bus = new Bus({ store });
  t.after(() => bus.close());
  return bus;
}

/** Everything a channel holds now, acked. */
async function drain(bus: Bus, pattern: string, channel: string): Promise<Message[]> {
  const sub = bus.subscribe(pattern, { channel });
  const got = await sub.pull(1 << 16, { timeoutMs: 50 });
  for (const m of got) m.ack();
  return got;
}

describe('a bus with a store', () => {
  it('refuses a sync QoS 1 publish into a durable channel with ERR_DURABLE_ASYNC; nothing enters', (t) => {
    const bus = storeBus(t, { dir: storeDir(t) });
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    assert.throws(
      () => bus.publish('jobs.a', 1, { qos: 1 }),
      (err: unknown) =>
        err instanceof Error &&
        (err as { code?: string }).code === ErrorCode.DURABLE_ASYNC &&
        /publishAsync/.test(err.message)
    );
    assert.throws(() => bus.topic('jobs.b').publish(2, { qos: 1 }), /ERR_DURABLE_ASYNC/);
    assert.equal(bus.channel('jobs.*', 'w').depth, 0);
    assert.equal(bus.publish('jobs.a', 3), 1, 'QoS 0 is not durable and stays synchronous');
    assert.equal(bus.stats().totals.published, 1);
  });

  it('keeps private queues, QoS 0 channels and other topics synchronous and in memory', async (t) => {
    const dir = storeDir(t);
    const bus = storeBus(t, { dir });
    const priv = bus.subscribe('a.*', { qos: 1 });
    bus.subscribe('b.*', { channel: 'zero' });
    assert.equal(bus.publish('a.x', 1, { qos: 1 }), 1);
    assert.equal(bus.publish('b.x', 2, { qos: 1 }), 1);
    assert.equal((await priv.pull(1))[0].payload, 1);
    await bus.close();
    const again = storeBus(t, { dir });
    assert.equal(again.stats().store!.recovery.messages, 0);
    assert.deepEqual(again.stats().channels, [], 'a QoS 0 channel is not recreated');
  });

  it('resolves publishAsync after the record is written; the message survives a restart', async (t) => {
    const dir = storeDir(t);
    const bus = storeBus(t, { dir, fsync: 'always' });
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    const entered = await bus.publishAsync('jobs.a', 'one', { qos: 1 });
    assert.equal(entered, 1);
    const s = bus.stats().store!;
    assert.ok(s.syncs >= 1 && s.writes >= 1, 'written and synced before it resolved');
    await bus.close();
    const again = storeBus(t, { dir });
    const got = await drain(again, 'jobs.*', 'w');
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload, m.id, m.attempt]),
      [['jobs.a', 'one', 1, 1]]
    );
    assert.ok(
      (await again.publishAsync('jobs.b', 'two', { qos: 1 })) === 1 &&
        again.stats().totals.published === 1,
      'the recovered channel takes new durable publishes'
    );
    const next = await drain(again, 'jobs.*', 'w');
    assert.ok(next[0].id > 1, 'ids continue after the recovered ones');
  });

  it('group commit: concurrent publishAsync calls share writes and syncs', async (t) => {
    const bus = storeBus(t, { dir: storeDir(t) });
    bus.subscribe('jobs.*', { channel: 'w', qos: 1, queueSize: 4096 });
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => bus.publishAsync('jobs.a', i, { qos: 1 }))
    );
    const s = bus.stats().store!;
    assert.ok(s.appends >= 1000);
    assert.ok(s.syncs < 100, `1000 publishes made ${s.syncs} syncs`);
  });

  it('a QoS 1 link.publish into a durable channel is acked only once on disk', async (t) => {
    const dir = storeDir(t);
    const { server, link } = await linkPair(t, {
      server: { store: { dir } },
      before: (s) => void s.subscribe('orders.*', { channel: 'billing', qos: 1 })
    });
    const syncsBefore = server.stats().store!.syncs;
    await link.publish('orders.new', { id: 7 }, { qos: 1 });
    assert.ok(server.stats().store!.syncs > syncsBefore, 'synced before the PUBACK');
    await server.close();
    const again = storeBus(t, { dir });
    const got = await drain(again, 'orders.*', 'billing');
    assert.deepEqual(
      got.map((m) => m.payload),
      [{ id: 7 }]
    );
  });

  it('a link.publish the store cannot encode is refused with ERR_PAYLOAD, the link stays up', async (t) => {
    const { link } = await linkPair(t, {
      server: {
        store: {
          dir: storeDir(t),
          codec: {
            encode: () => {
              throw new Error('no');
            },
            decode: (b) => b
          }
        }
      },
      before: (s) => void s.subscribe('orders.*', { channel: 'billing', qos: 1 })
    });
    await rejectsWith(link.publish('orders.new', { id: 1 }, { qos: 1 }), ErrorCode.PAYLOAD);
    assert.equal(link.state, 'up');
    await link.flush();
  });

  it('reports the store in stats() and metrics()', (t) => {
    const bus = storeBus(t, { dir: storeDir(t), fsync: 'never' });
    const s = bus.stats().store!;
    assert.equal(s.fsync, 'never');
    assert.equal(s.failure, null);
    assert.equal(s.segments, 1);
    assert.match(bus.metrics(), /^ringbus_store_failing 0$/m);
    assert.match(bus.metrics(), /^ringbus_store_recovery_seconds \d/m);
    assert.equal(new Bus().stats().store, undefined);
  });

  it('more durable channels than one small segment holds: each segment starts with all of them', async (t) => {
    const dir = storeDir(t);
    const bus = storeBus(t, { dir, segmentBytes: 4096 });
    for (let i = 0; i < 60; i++)
      bus.subscribe(`orders.${i}.>`, { channel: `billing-channel-${i}`, qos: 1 });
    await bus.publishAsync('orders.59.new', 'last', { qos: 1 });
    await bus.close();
    const again = storeBus(t, { dir });
    assert.equal(again.stats().store!.recovery.channels, 60);
    assert.equal(again.channel('orders.59.>', 'billing-channel-59').depth, 1);
  });

  it('takes over a LOCK naming its own pid when it does not hold it (a restarted container)', async (t) => {
    const dir = storeDir(t);
    writeFileSync(join(dir, 'LOCK'), String(process.pid));
    const bus = storeBus(t, { dir });
    assert.throws(() => new Bus({ store: { dir } }), /ERR_STORE.*in use by process/);
    await bus.close();
  });

  it('a listener publishing from inside a publishAsync is refused like any sync publish', async (t) => {
    const bus = storeBus(t, { dir: storeDir(t) });
    bus.subscribe('jobs.*', { channel: 'w', qos: 1 });
    bus.subscribe('ticks', { queueSize: 1, overflow: 'drop-newest' }); // pull: never read
    const codes: string[] = [];
    bus.on('drop', () => {
      try {
        bus.publish('jobs.side', 'from a listener', { qos: 1 });
        codes.push('accepted');
      } catch (err) {
        codes.push((err as { code: string }).code);
      }
    });
    await bus.publishAsync('ticks', 1);
    await bus.publishAsync('ticks', 2); // dropped: the listener runs inside this publish
    assert.deepEqual(codes, [ErrorCode.DURABLE_ASYNC]);
    assert.equal(bus.channel('jobs.*', 'w').depth, 0);
  });
});
