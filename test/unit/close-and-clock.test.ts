import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLOCK_EPOCH } from '../../src/clock.js';
import { type DropEvent, type Message, RingbusError } from '../../src/index.js';
import { manualBus } from '../helpers/bus.js';
import { within } from '../helpers/wait.js';

const run = promisify(execFile);
const INDEX = new URL('../../src/index.js', import.meta.url).href;

// A child process that leaves every kind of timer the bus can start pending, closes the bus,
// and must then exit by itself (no timer may keep it alive).
const CHILD = `
import { Bus } from ${JSON.stringify(INDEX)};
const bus = new Bus();
const out = {};
bus.on('error', () => undefined);
// ack timeout: an async handler that never settles
bus.subscribe('ack', () => new Promise(() => undefined), { qos: 1, ackTimeoutMs: 600000 });
bus.publish('ack', 1, { qos: 1 });
// nack delay: a channel consumer that nacks with a long delay
bus.subscribe('nack', (m) => void m.nack(600000), { qos: 1, channel: 'c' });
bus.publish('nack', 1, { qos: 1 });
// request timeout: a responder that never answers
bus.subscribe('req', () => undefined);
const req = bus.request('req', 1, { timeoutMs: 600000 }).then(
  () => 'resolved',
  (e) => e.code
);
// pull timeout
const puller = bus.subscribe('pull');
const pulled = puller.pull(10, { timeoutMs: 600000 }).then((b) => b.length);
// publishAsync waiting for room in a full block queue
bus.subscribe('full', { overflow: 'block', queueSize: 1 });
bus.publish('full', 1);
const waiting = bus.publishAsync('full', 2).then(
  () => 'resolved',
  (e) => e.code
);
// an iterator waiting without a timeout
const iter = bus.subscribe('iter');
const iterated = (async () => { let n = 0; for await (const _ of iter) n++; return n; })();
await new Promise((r) => setImmediate(r));
await bus.close();
out.request = await req;
out.pull = await pulled;
out.publishAsync = await waiting;
out.iterated = await iterated;
out.stats = bus.stats().totals.published;
console.log(JSON.stringify(out));
`;

describe('review: close()', () => {
  it('leaves no timer alive: a process that used ack timeouts, nack delays, request and pull timeouts exits by itself', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', CHILD], {
      timeout: 15_000,
      killSignal: 'SIGKILL'
    });
    const out = JSON.parse(stdout.trim()) as Record<string, unknown>;
    assert.deepEqual(out, {
      request: 'ERR_CLOSED',
      pull: 0,
      publishAsync: 'ERR_CLOSED',
      iterated: 0,
      stats: 4
    });
  });

  it('close() from inside a handler stops the rest of the drain and settles waiting pulls', async (t) => {
    const bus = manualBus(t);
    const got: number[] = [];
    bus.subscribe('a', (m) => {
      got.push(m.payload as number);
      void bus.close();
    });
    const p = bus.subscribe('b');
    const pulled = p.pull(5, { timeoutMs: 60_000 });
    bus.publish('a', 1);
    bus.publish('a', 2);
    bus.flush();
    assert.deepEqual(got, [1]);
    assert.deepEqual(await within(pulled, 1000, 'pull'), []);
    assert.throws(
      () => bus.publish('a', 3),
      (e: unknown) => e instanceof RingbusError
    );
  });
});

describe('review: CoarseClock across turns', () => {
  it('a TTL publish reads the precise clock even in a promise callback queued before an earlier publish', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: CLOCK_EPOCH + 10_000 });
    const bus = manualBus(t);
    const got: Message[] = [];
    const drops: DropEvent[] = [];
    bus.on('drop', (e) => drops.push(e));
    bus.subscribe('a', (m) => void got.push(m));
    // A continuation queued now runs after this synchronous run, in a later microtask.
    const later = Promise.resolve().then(() => {
      t.mock.timers.tick(1000); // that turn starts 1 s later (e.g. a long job ran before it)
      bus.publish('a', 'later', { ttlMs: 500 });
    });
    bus.publish('a', 'first'); // reads the clock; its expiry microtask is queued after `later`
    await later;
    bus.flush();
    assert.equal(drops.length, 0, 'a message published with ttlMs 500 expired immediately');
    assert.deepEqual(
      got.map((m) => [m.payload, m.publishedAt]),
      [
        ['first', CLOCK_EPOCH + 10_000],
        ['later', CLOCK_EPOCH + 11_000]
      ]
    );
  });

  it('an ack deadline set after a long handler in the same flush counts from the real time', (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: CLOCK_EPOCH + 10_000 });
    const bus = manualBus(t);
    const attempts: [unknown, number][] = [];
    bus.subscribe(
      'a',
      (m) => {
        attempts.push([m.payload, m.attempt]);
        if (m.payload === 'slow' && m.attempt === 1) {
          t.mock.timers.tick(1000); // a handler doing 1 s of synchronous work
          return undefined;
        }
        return new Promise(() => undefined); // still working: stays in flight
      },
      { qos: 1, ackTimeoutMs: 100 }
    );
    // With a TTL the drain reads the (coarse) clock before the first handler runs.
    bus.publish('a', 'slow', { qos: 1, ttlMs: 60_000 });
    bus.publish('a', 'async', { qos: 1, ttlMs: 60_000 });
    bus.flush();
    // 'async' was handed over at +1000 ms: its deadline is +1100 ms. Nothing is due yet.
    t.mock.timers.tick(50);
    bus.flush();
    assert.deepEqual(attempts, [
      ['slow', 1],
      ['async', 1]
    ]);
    assert.equal(
      bus.stats().totals.redelivered,
      0,
      'redelivered 50 ms after delivery (ackTimeoutMs 100)'
    );
  });

  it('publishedAt and TTL are read afresh in a later macrotask turn', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: CLOCK_EPOCH + 10_000 });
    const bus = manualBus(t);
    const got: Message[] = [];
    bus.subscribe('a', (m) => void got.push(m));
    bus.publish('a', 1, { ttlMs: 100 });
    await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(50);
    bus.publish('a', 2, { ttlMs: 100 });
    await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(60); // 1 has expired (110 > 100), 2 has not (60 < 100)
    bus.flush();
    assert.deepEqual(
      got.map((m) => [m.payload, m.publishedAt]),
      [[2, CLOCK_EPOCH + 10_050]]
    );
    assert.equal(bus.stats().totals.dropped.expired, 1);
  });
});
