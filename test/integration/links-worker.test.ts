import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { type Bus, ErrorCode, type Link, type WorkerLinkOptions } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import { LinkEvents, collect, patternBytes, rejectsWith } from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';
import type { Seen } from './fixtures/worker-bus.js';
import { digest } from '../helpers/digest.js';
import { mapCodec } from '../helpers/map-codec.js';

/**
 * Worker links through real worker threads (test/integration/fixtures/worker-bus.ts): both
 * directions, every payload kind, QoS 1 redelivery after `worker.terminate()`, a parent relaying
 * between several workers, a stalled worker, a crashing one, and bad input.
 */

const FIXTURE = new URL('./fixtures/worker-bus.js', import.meta.url);

interface Child {
  worker: Worker;
  link: Link;
  /** What the worker's subscriptions received, as it reported on `seen.<name>`. */
  readonly seen: Seen[];
  name: string;
}

/** Starts a worker bus named `name` and links `bus` to it; the worker ends with the test. */
async function startChild(
  t: TestContext,
  bus: Bus,
  name: string,
  options: WorkerLinkOptions = {},
  codec?: 'map'
): Promise<Child> {
  const worker = new Worker(FIXTURE, { workerData: { name, codec } });
  // Not events.once: it would reject on the 'error' a crashing worker emits first.
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  t.after(async () => {
    await worker.terminate();
    await exited;
  });
  const reports = collect<Seen>(bus, `seen.${name}`);
  const link = await bus.connectWorker(worker, options);
  return {
    worker,
    link,
    name,
    get seen() {
      return reports.map((m) => m.payload);
    }
  };
}

/** Asks the worker bus to subscribe (over the link); resolves once it has. */
async function order(bus: Bus, child: Child, what: string, payload: unknown): Promise<void> {
  await bus.request(`ctl.${child.name}.${what}`, payload, { timeoutMs: 3000 });
  await child.link.flush();
}

describe('worker links', () => {
  it('carries every payload kind both ways; link.publish lands on the worker bus', async (t) => {
    const bus = makeBus(t, { id: 'parent' });
    const child = await startChild(t, bus, 'w1');
    assert.equal(child.link.state, 'up');
    assert.equal(child.link.peer, 'w1');
    await order(bus, child, 'subscribe', { pattern: 'down.>' });
    const payloads: unknown[] = [new Uint8Array([0, 1, 2, 255]), 'héllo', { n: 1, list: [1, 2] }];
    for (const p of payloads) bus.publish('down.kind', p);
    await child.link.flush();
    await child.link.publish('down.remote', 'via link.publish');
    await waitFor(() => child.seen.length === 4, 3000, 'four deliveries in the worker');
    assert.deepEqual(
      child.seen.map((s) => [s.kind, s.payload]),
      [
        ['bytes', [0, 1, 2, 255]],
        ['string', 'héllo'],
        ['object', { n: 1, list: [1, 2] }],
        ['string', 'via link.publish']
      ]
    );
    // The reports came back up the other ring, so both directions carried them.
    assert.deepEqual(
      child.seen.map((s) => s.topic),
      ['down.kind', 'down.kind', 'down.kind', 'down.remote']
    );
    const up = collect<string>(bus, 'up.>');
    await child.link.flush();
    await order(bus, child, 'publish', { topic: 'up.one', payload: 'from the worker' });
    await waitFor(() => up.length === 1, 3000, 'the worker message in the parent');
    assert.equal(up[0].payload, 'from the worker');
  });

  it('carries structured payloads through a user codec on both ends', async (t) => {
    let encoded = 0;
    const codec = { ...mapCodec, encode: (v: unknown) => (encoded++, mapCodec.encode(v)) };
    const bus = makeBus(t, { id: 'parent' });
    const child = await startChild(t, bus, 'coded', { codec }, 'map');
    await order(bus, child, 'subscribe', { pattern: 'coded' });
    const before = encoded;
    bus.publish('coded', new Map([['x', 1]]));
    await waitFor(() => child.seen.length === 1, 3000, 'the delivery in the worker');
    assert.deepEqual(child.seen[0], {
      topic: 'coded',
      payload: [['x', 1]],
      kind: 'map',
      attempt: 1
    });
    assert.ok(encoded > before, "the parent's codec encoded it (JSON would have sent {})");
  });

  it('holds QoS 1 messages at home within maxInFlight while the worker reads nothing', async (t) => {
    const bus = makeBus(t, { id: 'parent' });
    const child = await startChild(t, bus, 'paused', { ringBytes: 64 * 1024 });
    const options = { qos: 1, channel: 'w', maxInFlight: 50 };
    await order(bus, child, 'subscribe', { pattern: 'jobs', options });
    await order(bus, child, 'pause', 2000);
    // 50 in flight of 2 KiB are more than the 64 KiB ring holds: the rest of them wait in the
    // link, and the other 250 at home, none dropped.
    const payload = new Uint8Array(2048);
    const count = 300;
    for (let i = 0; i < count; i++) bus.publish('jobs', payload, { qos: 1 });
    const home = bus.channel('jobs', 'w');
    await waitFor(() => home.inFlight === 50, 1000, 'the credit in flight');
    assert.equal(home.depth, 250, 'the rest waits at home');
    await waitFor(() => child.seen.length === count, 10_000, 'every message in the worker');
    assert.ok(child.seen.every((s) => s.topic === 'jobs' && s.attempt === 1));
    await waitFor(() => home.inFlight === 0 && home.depth === 0, 3000, 'every ack at home');
    assert.equal(child.link.stats().dropped, 0);
  });

  it('carries frames far larger than the ring, split into records and joined again', async (t) => {
    const bus = makeBus(t, { id: 'parent' });
    const child = await startChild(t, bus, 'small-ring', { ringBytes: 4096 });
    await order(bus, child, 'subscribe', { pattern: 'big' });
    const payloads = [patternBytes(4096, 1), patternBytes(200_000, 2), patternBytes(1023, 3)];
    for (const p of payloads) await bus.publishAsync('big', p);
    await waitFor(() => child.seen.length === 3, 5000, 'three large payloads in the worker');
    assert.deepEqual(
      child.seen.map((s) => s.payload),
      payloads.map(digest)
    );
  });

  it('puts QoS 1 messages in flight to a terminated worker back in their channel', async (t) => {
    const bus = makeBus(t, { id: 'parent' });
    const events = new LinkEvents(bus);
    const child = await startChild(t, bus, 'holder');
    await order(bus, child, 'subscribe', {
      pattern: 'jobs',
      options: { channel: 'workers', qos: 1 },
      hold: true
    });
    for (let i = 0; i < 5; i++) await bus.publishAsync('jobs', i, { qos: 1 });
    await waitFor(() => child.seen.length === 5, 3000, 'five jobs held by the worker');
    assert.equal(bus.channel('jobs', 'workers').inFlight, 5);
    await child.worker.terminate();
    await events.downCount(1);
    assert.equal(child.link.state, 'down');
    const redelivered = collect<number>(bus, 'jobs', { channel: 'workers', qos: 1 });
    await waitFor(() => redelivered.length === 5, 3000, 'five jobs back in the channel');
    assert.deepEqual(
      redelivered.map((m) => m.payload),
      [0, 1, 2, 3, 4]
    );
    assert.ok(redelivered.every((m) => m.attempt === 2));
  });

  it('relays between workers through the parent, without echo', async (t) => {
    const bus = makeBus(t, { id: 'parent' });
    const children = [
      await startChild(t, bus, 'a'),
      await startChild(t, bus, 'b'),
      await startChild(t, bus, 'c')
    ];
    for (const c of children) await order(bus, c, 'subscribe', { pattern: 'fan.>' });
    const atParent = collect<number>(bus, 'fan.>');
    for (const c of children) await c.link.flush();
    for (let i = 0; i < 10; i++) {
      await order(bus, children[i % 3], 'publish', { topic: `fan.${i}`, payload: i });
    }
    await waitFor(
      () => children.every((c) => c.seen.length >= 10) && atParent.length >= 10,
      3000,
      'ten messages everywhere'
    );
    for (const c of children) await c.link.flush();
    for (const c of children) {
      assert.deepEqual(
        c.seen.map((s) => s.payload),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        `worker ${c.name} got each message once, in order`
      );
    }
    assert.equal(atParent.length, 10);
  });

  it('bounds what it queues for a worker that stopped reading, and drops it', async (t) => {
    const bus = makeBus(t, { id: 'parent' });
    const events = new LinkEvents(bus);
    const child = await startChild(t, bus, 'stuck', {
      ringBytes: 64 * 1024,
      sendQueueSize: 1024,
      writeTimeoutMs: 500
    });
    await order(bus, child, 'subscribe', { pattern: 'flood' });
    await order(bus, child, 'stall', {});
    const payload = new Uint8Array(256);
    let maxQueued = 0;
    for (let i = 0; i < 50_000 && child.link.state === 'up'; i++) {
      bus.publish('flood', payload);
      if (i % 1000 === 0) {
        maxQueued = Math.max(maxQueued, child.link.stats().queued);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const stats = child.link.stats();
    assert.ok(stats.dropped > 0, 'the send queue dropped per its policy');
    assert.ok(maxQueued <= 1024, `at most sendQueueSize queued (saw ${maxQueued})`);
    await events.downCount(1, 5000);
    assert.equal(events.downs[0].error?.code, ErrorCode.TIMEOUT);
    // The parent goes on: a local subscriber still gets its messages.
    const local = collect(bus, 'after');
    bus.publish('after', 1);
    await waitFor(() => local.length === 1);
  });

  it('takes the link down when the worker crashes; the parent keeps running', async (t) => {
    const bus = makeBus(t, { id: 'parent' });
    const events = new LinkEvents(bus);
    const child = await startChild(t, bus, 'crasher');
    const crashed = once(child.worker, 'error');
    bus.publish('ctl.crasher.crash', null);
    const [error] = (await crashed) as [Error];
    assert.match(error.message, /crashed on purpose/);
    await events.downCount(1);
    assert.equal(child.link.state, 'down');
    await rejectsWith(child.link.flush(), ErrorCode.LINK_DOWN);
  });

  it('rejects what is not a worker, a parent link outside a worker, and bad options', async (t) => {
    const bus = makeBus(t);
    await rejectsWith(bus.connectWorker({}), ErrorCode.INVALID_OPTIONS, /Worker/);
    await rejectsWith(bus.connectParent(), ErrorCode.INVALID_OPTIONS, /inside a worker/);
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    t.after(() => worker.terminate());
    await rejectsWith(
      bus.connectWorker(worker, { ringBytes: 5000 }),
      ErrorCode.INVALID_OPTIONS,
      /ringBytes/
    );
    // Raw (nanoQ) mode is for sockets: a worker link refuses it rather than ignore it.
    await rejectsWith(
      bus.connectWorker(worker, { raw: { topic: 'x' } } as never),
      ErrorCode.INVALID_OPTIONS,
      /unknown option\(s\) 'raw'/
    );
    // A worker that never takes the link: the handshake times out.
    await rejectsWith(
      bus.connectWorker(worker, { connectTimeoutMs: 200 }),
      ErrorCode.CONNECT,
      /handshake/
    );
    assert.deepEqual(bus.stats().links, []);
  });
});
