import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  type JetStreamManager,
  type NatsConnection,
  ErrorCode as NatsErrorCode,
  connect,
  headers
} from 'nats';
import {
  Bus,
  ErrorCode,
  type Link,
  type Message,
  type NatsBridgeOptions,
  type RingbusError
} from '../../adapters/node.js';
import { type NatsCluster, missingNatsServer, startNatsServer } from '../helpers/nats-cluster.js';
import { waitFor, within } from '../helpers/wait.js';

/**
 * The NATS bridge against a real nats-server with JetStream (Debian's binary; .ci/run installs
 * it): mapping, payload kinds, loops, QoS 1 through durable consumers, failures and restarts.
 */

const skip = missingNatsServer();
if (skip !== undefined) console.warn(`nats-bridge tests: ${skip}`);

/** JetStream state has no event to wait for: asks again until `check` passes or time is up. */
async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 5000,
  what = 'JetStream state'
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`eventually: ${what} not reached in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function collect(b: Bus, pattern: string, options?: object): Message[] {
  const got: Message[] = [];
  b.subscribe(pattern, (m) => void got.push(m), options);
  return got;
}

describe('NATS bridge', { skip }, () => {
  let server: NatsCluster;
  let url: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async () => {
    server = await startNatsServer({ jetstream: true });
    url = server.urls[0];
    nc = await connect({ servers: url });
    jsm = await nc.jetstreamManager();
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  /** A bus closed when the test ends, with its 'error' events recorded. */
  function bus(t: TestContext, id: string): Bus & { errors: RingbusError[] } {
    const b = Object.assign(new Bus({ id }), { errors: [] as RingbusError[] });
    b.on('error', (e) => b.errors.push(e));
    t.after(() => b.close());
    return b;
  }

  async function bridge(t: TestContext, b: Bus, options: NatsBridgeOptions): Promise<Link> {
    const link = await b.connect(url, options);
    t.after(() => link.close());
    return link;
  }

  async function messagesIn(stream: string): Promise<number> {
    return (await jsm.streams.info(stream)).state.messages;
  }

  it('carries every payload kind and the headers, and nothing of its own', async (t) => {
    const a = bus(t, 'kinds-a');
    const b = bus(t, 'kinds-b');
    const la = await bridge(t, a, { export: ['k1.>'] });
    const lb = await bridge(t, b, { import: ['k1.>'] });
    const got = collect(b, 'k1.*');
    await lb.flush();
    const payloads: unknown[] = [
      new Uint8Array([0, 1, 255]),
      'héllo',
      { n: 1, list: [true, null] },
      undefined,
      42
    ];
    // Subjects that repeat, change, and share a length: the reading side caches their strings.
    const topics = ['k1.kind', 'k1.ünï', 'k1.kind', 'k1.dnik', 'k1.ünï'];
    payloads.forEach((p, i) =>
      a.publish(topics[i], p, { headers: { trace: 'abc', 'X-Two': '2' } })
    );
    await la.flush();
    await waitFor(() => got.length === payloads.length, 3000, 'every kind');
    assert.deepEqual(
      got.map((m) => m.payload),
      payloads
    );
    assert.ok(got[0].payload instanceof Uint8Array);
    assert.deepEqual(
      got.map((m) => m.topic),
      topics
    );
    for (const m of got) assert.deepEqual(m.headers, { trace: 'abc', 'X-Two': '2' });
    assert.equal(lb.stats().messagesIn, payloads.length);
    assert.equal(la.stats().messagesOut, payloads.length);
  });

  it('interoperates with plain NATS clients both ways', async (t) => {
    const a = bus(t, 'plain-a');
    const la = await bridge(t, a, { export: ['k2.out.>'], import: ['k2.in.>'] });
    const got = collect(a, 'k2.in.*');
    const seen: { subject: string; data: string; kind: string | undefined }[] = [];
    const sub = nc.subscribe('k2.out.>', {
      callback: (_, m) =>
        seen.push({
          subject: m.subject,
          data: new TextDecoder().decode(m.data),
          kind: m.headers?.get('Ringbus-Payload')
        })
    });
    t.after(() => sub.unsubscribe());
    await nc.flush();
    a.publish('k2.out.text', 'plain text');
    a.publish('k2.out.json', { a: 1 });
    await la.flush();
    const h = headers();
    h.set('tenant', 'blue');
    nc.publish('k2.in.raw', new Uint8Array([7, 8]), { headers: h });
    nc.publish('k2.in.bare', new Uint8Array([9]));
    await nc.flush();
    await waitFor(() => seen.length === 2 && got.length === 2, 3000, 'both directions');
    assert.deepEqual(seen, [
      { subject: 'k2.out.text', data: 'plain text', kind: 'string' },
      { subject: 'k2.out.json', data: '{"a":1}', kind: 'json' }
    ]);
    assert.deepEqual(got[0].payload, new Uint8Array([7, 8]));
    assert.deepEqual(got[0].headers, { tenant: 'blue' });
    assert.deepEqual(got[1].payload, new Uint8Array([9]));
    assert.deepEqual(got[1].headers, {});
  });

  it('never hands a bus its own exports back, and two buses bridging one subject do not loop', async (t) => {
    const a = bus(t, 'loop-a');
    const b = bus(t, 'loop-b');
    const both = { export: ['k3.>'], import: ['k3.>'] };
    const la = await bridge(t, a, both);
    const lb = await bridge(t, b, both);
    const onA = collect(a, 'k3.*');
    const onB = collect(b, 'k3.*');
    await la.flush();
    await lb.flush();
    for (let i = 0; i < 10; i++) a.publish('k3.n', `a${i}`);
    for (let i = 0; i < 5; i++) b.publish('k3.n', `b${i}`);
    // A last message from each side: anything echoed would have come before it (per-connection order).
    a.publish('k3.end', 'a');
    b.publish('k3.end', 'b');
    const ends = (got: Message[]): number => got.filter((m) => m.topic === 'k3.end').length;
    await waitFor(() => ends(onA) === 2 && ends(onB) === 2, 3000, 'both ends');
    await la.flush();
    await lb.flush();
    const numbers = (got: Message[]): string[] =>
      got.filter((m) => m.topic === 'k3.n').map((m) => m.payload as string);
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => `a${i}`),
      ...Array.from({ length: 5 }, (_, i) => `b${i}`)
    ];
    assert.deepEqual(numbers(onA).sort(), [...expected].sort());
    assert.deepEqual(numbers(onB).sort(), [...expected].sort());
    assert.equal(la.stats().messagesOut, 11);
    assert.equal(la.stats().messagesIn, 6); // b's six; its own eleven were skipped unread
  });

  it('shares one durable JetStream consumer between the hosts of a QoS 1 channel: each message once', async (t) => {
    const p = bus(t, 'share-p');
    const w1 = bus(t, 'share-w1');
    const w2 = bus(t, 'share-w2');
    await bridge(t, p, { export: ['k4.>'], streams: [{ name: 'K4', subjects: ['k4.>'] }] });
    const got: number[] = [];
    const where = new Map<string, number>();
    for (const w of [w1, w2]) {
      w.subscribe(
        'k4.*',
        (m) => {
          got.push(m.payload as number);
          where.set(w.id, (where.get(w.id) ?? 0) + 1);
        },
        { channel: 'work', qos: 1 }
      );
      await bridge(t, w, { import: ['k4.>'] });
    }
    for (let i = 0; i < 200; i++) await p.publishAsync('k4.job', i, { qos: 1 });
    await waitFor(() => got.length >= 200, 5000, '200 jobs');
    assert.deepEqual(
      [...got].sort((x, y) => x - y),
      Array.from({ length: 200 }, (_, i) => i)
    );
    await eventually(
      async () => {
        const info = await jsm.consumers.info('K4', 'work');
        return info.num_ack_pending === 0 && info.num_pending === 0;
      },
      5000,
      'every job acked in JetStream'
    );
    assert.equal(await messagesIn('K4'), 200);
  });

  it('redelivers a nacked message with attempt + 1 and dead-letters it on the consuming bus', async (t) => {
    const p = bus(t, 'dlq-p');
    const w = bus(t, 'dlq-w');
    await bridge(t, p, { export: ['k5.>'], streams: [{ name: 'K5', subjects: ['k5.>'] }] });
    const attempts: number[] = [];
    w.subscribe(
      'k5.*',
      (m) => {
        attempts.push(m.attempt);
        throw new Error('poison');
      },
      { channel: 'retry', qos: 1, maxAttempts: 3 }
    );
    const dead = collect(w, '$dlq.>');
    await bridge(t, w, { import: ['k5.>'] });
    await p.publishAsync('k5.x', 'bad', { qos: 1 });
    await waitFor(() => dead.length === 1, 5000, 'dead letter');
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal(dead[0].topic, '$dlq.k5.x');
    assert.equal(dead[0].payload, 'bad');
    await eventually(async () => (await jsm.consumers.info('K5', 'retry')).num_ack_pending === 0);
  });

  it('keeps exported QoS 1 messages while no stream stores them, and stores each once when one appears', async (t) => {
    const a = bus(t, 'nostream-a');
    const la = await bridge(t, a, { export: ['k6.>'], connectTimeoutMs: 500 });
    for (let i = 0; i < 5; i++) await a.publishAsync('k6.x', i, { qos: 1 });
    await waitFor(() => a.errors.length > 0, 5000, 'ERR_BRIDGE');
    assert.equal(a.errors[0].code, ErrorCode.BRIDGE);
    assert.match(a.errors[0].message, /k6\.x/);
    assert.equal(la.stats().inFlight, 5);
    await jsm.streams.add({ name: 'K6', subjects: ['k6.>'] });
    t.after(() => jsm.streams.delete('K6'));
    await eventually(async () => (await messagesIn('K6')) === 5 && la.stats().inFlight === 0, 8000);
    assert.equal(a.errors.length, 1, 'failures reported at most every 5 s');
  });

  it('link.publish goes straight to NATS; QoS 1 resolves once stored; retain is refused', async (t) => {
    const a = bus(t, 'direct-a');
    await jsm.streams.add({ name: 'K7', subjects: ['k7.>'] });
    t.after(() => jsm.streams.delete('K7'));
    const link = await bridge(t, a, {});
    const seen: string[] = [];
    const sub = nc.subscribe('k7.>', { callback: (_, m) => seen.push(m.subject) });
    t.after(() => sub.unsubscribe());
    await nc.flush();
    await link.publish('k7.zero', 'x');
    await link.publish('k7.one', 'y', { qos: 1 });
    assert.equal(await messagesIn('K7'), 2);
    await waitFor(() => seen.length === 2, 3000, 'plain subscriber');
    assert.deepEqual(seen, ['k7.zero', 'k7.one']);
    await assert.rejects(link.publish('k7.r', 'z', { retain: true }), {
      code: ErrorCode.INVALID_OPTIONS
    });
    await assert.rejects(link.publish('k7-none.x', 'z', { qos: 1 }), { code: ErrorCode.BRIDGE });
  });

  it('answers requests across the bridge, from ringbus and from plain NATS requesters', async (t) => {
    const svc = bus(t, 'req-svc');
    const caller = bus(t, 'req-caller');
    // A plain NATS requester sends bytes, a bus a string: both come back as text.
    const text = (p: unknown): string =>
      p instanceof Uint8Array ? new TextDecoder().decode(p) : String(p);
    svc.subscribe('svc.echo', (m) => void m.respond(`echo:${text(m.payload)}`));
    const ls = await bridge(t, svc, { import: ['svc.>'] });
    await bridge(t, caller, { export: ['svc.>'] });
    await ls.flush();
    const reply = await within(caller.request('svc.echo', 'hi', { timeoutMs: 3000 }), 4000);
    assert.equal(reply.payload, 'echo:hi');
    const plain = await nc.request('svc.echo', new TextEncoder().encode('yo'), { timeout: 3000 });
    assert.equal(new TextDecoder().decode(plain.data), 'echo:yo');
  });

  it('subscribes to an import in NATS only while a subscriber here could take its messages', async (t) => {
    const b = bus(t, 'demand');
    // A channel fed from JetStream takes its messages there: no core subscription for it.
    b.subscribe('k30.s.>', () => undefined, { channel: 'c30', qos: 1 });
    const link = await bridge(t, b, {
      import: ['k30.>'],
      streams: [{ name: 'K30', subjects: ['k30.s.>'] }]
    });
    await link.flush();
    // A plain NATS request hears "no responders" at once while nothing subscribes in NATS.
    const ask = (): Promise<string> =>
      nc.request('k30.q', new Uint8Array(0), { timeout: 3000 }).then(
        (m) => new TextDecoder().decode(m.data),
        (err: { code?: string }) => `failed: ${err.code}`
      );
    const none = `failed: ${NatsErrorCode.NoResponders}`;
    assert.equal(await ask(), none);
    const sub = b.subscribe('k30.*', (m) => void m.respond('here'));
    await link.flush();
    assert.equal(await ask(), 'here');
    sub.unsubscribe();
    await link.flush();
    assert.equal(await ask(), none);
    // A linked bus's interest counts too (a hub bridges for the buses linked to it).
    const listener = await b.listen('tcp://127.0.0.1:0');
    t.after(() => listener.close());
    const leaf = bus(t, 'demand-leaf');
    leaf.subscribe('k30.q', (m) => void m.respond('leaf'));
    const toHub = await leaf.connect(listener.url, { reconnect: false });
    t.after(() => toHub.close());
    await link.flush();
    assert.equal(await ask(), 'leaf');
    await toHub.close();
    await waitFor(() => listener.links.length === 0, 3000, 'the hub lets the leaf go');
    await link.flush();
    assert.equal(await ask(), none);
  });

  it('takes subscriptions while its NATS connection closes; the next bridge serves them', async (t) => {
    const b = bus(t, 'closing');
    const link = await bridge(t, b, { import: ['k31.>'] });
    await link.flush();
    // The window the session cannot see: nats.js has closed, its closed() promise not yet run.
    void (link as unknown as { current: { nc: NatsConnection } }).current.nc.close();
    const got = collect(b, 'k31.x'); // must not throw into the caller
    await waitFor(() => link.state !== 'up', 3000, 'the link notices');
    const again = await bridge(t, b, { import: ['k31.>'] });
    await again.flush();
    nc.publish('k31.x', new Uint8Array([1]));
    await nc.flush();
    await waitFor(() => got.length === 1, 3000, 'the subscription, subscribed in NATS again');
    assert.deepEqual(b.errors, []);
  });

  it('feeds a channel on the publishing bus through JetStream only: each message once', async (t) => {
    const a = bus(t, 'fed-a');
    const viaChannel: number[] = [];
    a.subscribe('k10.*', (m) => void viaChannel.push(m.payload as number), {
      channel: 'solo',
      qos: 1
    });
    const direct = collect(a, 'k10.*');
    await bridge(t, a, {
      export: ['k10.>'],
      import: ['k10.>'],
      streams: [{ name: 'K10', subjects: ['k10.>'] }]
    });
    for (let i = 0; i < 20; i++) await a.publishAsync('k10.x', i, { qos: 1 });
    await waitFor(() => viaChannel.length === 20 && direct.length === 20, 5000, 'both');
    await eventually(async () => {
      const info = await jsm.consumers.info('K10', 'solo');
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    assert.deepEqual(
      [...viaChannel].sort((x, y) => x - y),
      Array.from({ length: 20 }, (_, i) => i)
    );
    assert.equal(direct.length, 20);
  });

  it('reaches NATS from buses linked to a hub, and feeds their channel members once', async (t) => {
    const hub = bus(t, 'hub');
    const edge = bus(t, 'edge');
    await bridge(t, hub, {
      export: ['k11.>'],
      import: ['k11.>'],
      streams: [{ name: 'K11', subjects: ['k11.>'] }]
    });
    const listener = await hub.listen('tcp://127.0.0.1:0');
    t.after(() => listener.close());
    const worker = bus(t, 'worker');
    const jobs: number[] = [];
    worker.subscribe('k11.*', (m) => void jobs.push(m.payload as number), {
      channel: 'jobs',
      qos: 1
    });
    const lw = await worker.connect(listener.url);
    const le = await edge.connect(listener.url);
    t.after(() => lw.close());
    t.after(() => le.close());
    await lw.flush();
    for (let i = 0; i < 30; i++) await le.publish('k11.job', i, { qos: 1 });
    await waitFor(() => jobs.length >= 30, 5000, '30 jobs at the worker');
    await eventually(async () => (await messagesIn('K11')) === 30);
    await lw.flush();
    assert.deepEqual(
      [...jobs].sort((x, y) => x - y),
      Array.from({ length: 30 }, (_, i) => i)
    );
  });

  it('takes whatever a plain NATS client publishes: bad input is counted or reported, nothing else breaks', async (t) => {
    const a = bus(t, 'fuzz-a');
    const other = bus(t, 'fuzz-other');
    const link = await bridge(t, a, { import: ['k13.>'] });
    const lo = await bridge(t, other, { export: ['k13.>'] });
    const got = collect(a, 'k13.>');
    await link.flush();
    const ours = ['Ringbus-Payload', 'Ringbus-Hops', 'Ringbus-Ttl', 'Ringbus-Qos', 'X-Other'];
    const values = ['json', 'codec', 'string', 'undefined', 'bogus', '99', '-1', '1'];
    const message = fc.record({
      // 'ab*' is a literal NATS token but no ringbus topic: refused, counted.
      token: fc.stringMatching(/^[a-z]{1,3}\*?$/),
      data: fc.uint8Array({ size: 'max', maxLength: 200 }),
      headers: fc.array(
        fc.tuple(
          fc.constantFrom(...ours),
          fc.oneof(fc.constantFrom(...values), fc.stringMatching(/^[\x21-\x7e]{0,10}$/))
        ),
        { maxLength: 4 }
      )
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 10 }), async (batch) => {
        for (const m of batch) {
          const h = headers();
          for (const [k, v] of m.headers) h.append(k, v);
          nc.publish(`k13.${m.token}`, m.data, { headers: h });
        }
        // Then a good message from a bus: it arrives, whatever came before it.
        const end = `end${++run}`;
        other.publish(`k13.${end}`, end);
        await lo.flush();
        await waitFor(() => got.some((g) => g.topic === `k13.${end}`), 3000, end);
      }),
      { seed: 5, numRuns: 40 }
    );
    assert.equal(link.state, 'up');
    assert.ok(a.errors.length > 0, 'undecodable payloads are reported');
    for (const e of a.errors) assert.equal(e.code, ErrorCode.PROTOCOL, e.message);
    assert.ok(link.stats().refused >= a.errors.length);
    assert.equal(got.filter((g) => g.topic.startsWith('k13.end')).length, run);
  });

  it('gives a restarted bus of the same id its own message ids (JetStream does not take them for repeats)', async (t) => {
    await jsm.streams.add({ name: 'K14', subjects: ['k14.>'] });
    t.after(() => jsm.streams.delete('K14'));
    for (let run = 0; run < 2; run++) {
      const b = new Bus({ id: 'same-id' });
      await b.connect(url, { export: ['k14.>'] });
      for (let i = 0; i < 3; i++) await b.publishAsync('k14.x', `${run}.${i}`, { qos: 1 });
      await b.close(); // waits for the exports to be stored
    }
    await eventually(async () => (await messagesIn('K14')) === 6, 5000, '6 messages stored');
  });

  it('stores what is queued for export before close() lets go of the connection', async (t) => {
    await jsm.streams.add({ name: 'K15', subjects: ['k15.>'] });
    t.after(() => jsm.streams.delete('K15'));
    const a = bus(t, 'close-a');
    const link = await a.connect(url, { export: ['k15.>'], maxInFlight: 16 });
    for (let i = 0; i < 300; i++) await a.publishAsync('k15.x', i, { qos: 1 });
    await link.close();
    await eventually(async () => (await messagesIn('K15')) === 300, 5000, '300 stored');
    assert.deepEqual(a.errors, []);
  });

  it('hands what a deleted channel held to its members on other hosts', async (t) => {
    const p = bus(t, 'hand-p');
    const b = bus(t, 'hand-b');
    const c = bus(t, 'hand-c');
    await bridge(t, p, { export: ['k16.>'], streams: [{ name: 'K16', subjects: ['k16.>'] }] });
    // b's member pulls nothing: what b's channel takes stays there.
    b.subscribe('k16.*', { channel: 'pool', qos: 1 });
    await bridge(t, b, { import: ['k16.>'] });
    for (let i = 0; i < 5; i++) await p.publishAsync('k16.x', i, { qos: 1 });
    await eventually(async () => (await jsm.consumers.info('K16', 'pool')).num_ack_pending === 5);
    const got: number[] = [];
    c.subscribe('k16.*', (m) => void got.push(m.payload as number), { channel: 'pool', qos: 1 });
    await bridge(t, c, { import: ['k16.>'] });
    b.channel('k16.*', 'pool').delete();
    await waitFor(() => got.length === 5, 5000, 'all five at c');
    assert.deepEqual(
      [...got].sort((x, y) => x - y),
      [0, 1, 2, 3, 4]
    );
  });

  it('refuses a durable consumer it cannot use and falls back to the queue group, saying why', async (t) => {
    const p = bus(t, 'name-p');
    await bridge(t, p, { export: ['k17.>'], streams: [{ name: 'K17', subjects: ['k17.>'] }] });
    const b = bus(t, 'name-b');
    const first = collect(b, 'k17.a.*', { channel: 'dup', qos: 1 });
    const second = collect(b, 'k17.b.*', { channel: 'dup', qos: 1 }); // same name, other pattern
    const slash = collect(b, 'k17.c.*', { channel: 'team/a', qos: 1 }); // no durable name in NATS
    const lb = await bridge(t, b, { import: ['k17.>'] });
    await waitFor(() => b.errors.length === 2, 5000, 'two reports');
    await lb.flush(); // the queue groups' subscriptions are in at the server
    for (const e of b.errors) assert.equal(e.code, ErrorCode.BRIDGE);
    p.publish('k17.a.x', 'a');
    p.publish('k17.b.x', 'b');
    p.publish('k17.c.x', 'c');
    await waitFor(() => first.length + second.length + slash.length === 3, 5000, 'each once');
    assert.deepEqual(
      [first, second, slash].map((g) => g.map((m) => m.payload)),
      [['a'], ['b'], ['c']]
    );
  });

  it('goes down and up with the server and stores QoS 1 exports made meanwhile', async (t) => {
    const own = await startNatsServer({ jetstream: true });
    t.after(() => own.stop());
    const a = bus(t, 'restart-a');
    const link = await a.connect(own.urls[0], {
      export: ['k12.>'],
      streams: [{ name: 'K12', subjects: ['k12.>'] }],
      reconnect: { waitMs: 50, jitterMs: 10 },
      connectTimeoutMs: 1000
    });
    t.after(() => link.close());
    const events: string[] = [];
    a.on('link-down', () => events.push('down'));
    a.on('link-up', () => events.push('up'));
    await a.publishAsync('k12.x', 0, { qos: 1 });
    await own.nodes[0].kill();
    await waitFor(() => link.state === 'down', 5000, 'link down');
    for (let i = 1; i < 6; i++) await a.publishAsync('k12.x', i, { qos: 1 });
    await own.nodes[0].restart();
    await waitFor(() => link.state === 'up', 10_000, 'link up again');
    const other = await connect({ servers: own.urls[0] });
    t.after(() => other.close());
    const ojsm = await other.jetstreamManager();
    await eventually(async () => (await ojsm.streams.info('K12')).state.messages === 6, 10_000);
    assert.deepEqual(events, ['down', 'up']);
    assert.equal(link.stats().reconnects, 1);
  });

  it("refuses a QoS 1 export over the stream's max_msg_size once, without retrying it", async (t) => {
    await jsm.streams.add({ name: 'K21', subjects: ['k21.>'], max_msg_size: 1000 });
    const a = bus(t, 'max-msg');
    const link = await bridge(t, a, { export: ['k21.>'] });
    await a.publishAsync('k21.big', new Uint8Array(2000), { qos: 1 });
    await a.publishAsync('k21.small', new Uint8Array(10), { qos: 1 });
    await waitFor(() => link.stats().inFlight === 0, 5000, 'nothing left in flight');
    assert.deepEqual(
      a.errors.map((e) => e.code),
      [ErrorCode.FRAME_TOO_LARGE]
    );
    assert.match(a.errors[0].message, /k21\.big.*max_msg_size/u);
    assert.equal(link.stats().refused, 1);
    assert.equal((await jsm.streams.info('K21')).state.messages, 1);
  });

  it('stores a QoS 1 export that fits max_payload only without the retry marker', async (t) => {
    const max = 4096;
    const small = await startNatsServer({ jetstream: true, maxPayload: max });
    t.after(() => small.stop());
    const a = bus(t, 'near');
    const link = await a.connect(small.urls[0], { export: ['k20.>'] }); // no stream yet
    t.after(() => link.close());
    // The first offer's header block: Ringbus-Qos and the msg id (bus id, 8-character nonce, 1).
    const h = headers();
    h.set('Ringbus-Qos', '1');
    h.set('Nats-Msg-Id', 'near.xxxxxxxx.1');
    const headerBytes = (h as unknown as { encode(): Uint8Array }).encode().length;
    const near = new Uint8Array(max - headerBytes - 4); // fits; with 'Ringbus-Retry: 1' it would not
    await a.publishAsync('k20.near', near, { qos: 1 });
    await waitFor(() => a.errors.length > 0, 5000, 'the failed first offer');
    const plain = await connect({ servers: small.urls[0] });
    t.after(() => plain.close());
    const ojsm = await plain.jetstreamManager();
    await ojsm.streams.add({ name: 'K20', subjects: ['k20.>'] });
    await waitFor(() => link.stats().inFlight === 0, 10_000, 'stored');
    assert.equal((await ojsm.streams.info('K20')).state.messages, 1);
    assert.deepEqual(
      a.errors.map((e) => e.code),
      [ErrorCode.BRIDGE]
    );
    assert.equal(link.stats().refused, 0);
  });

  it('does not export retained messages when it connects, only new publishes', async (t) => {
    const a = bus(t, 'retained-a');
    a.publish('k19.r', 'old news', { retain: true });
    const seen: string[] = [];
    const sub = nc.subscribe('k19.>', { callback: (_, m) => seen.push(m.subject) });
    t.after(() => sub.unsubscribe());
    await nc.flush();
    const link = await bridge(t, a, { export: ['k19.>'] });
    await link.flush();
    a.publish('k19.live', 'new');
    await waitFor(() => seen.length > 0, 5000, 'the live publish');
    // One connection keeps order: a retained replay would have come first.
    assert.deepEqual(seen, ['k19.live']);
    assert.equal(a.stats().retained, 1, 'still retained locally');
  });

  it("refuses messages over the server's max_payload once, without retrying them", async (t) => {
    const small = await startNatsServer({ jetstream: true, maxPayload: 4096 });
    t.after(() => small.stop());
    const big = new Uint8Array(8192).fill(7);
    const a = bus(t, 'max-a');
    const link = await a.connect(small.urls[0], {
      export: ['k18.>'],
      streams: [{ name: 'K18', subjects: ['k18.one'] }]
    });
    t.after(() => link.close());
    const plain = await connect({ servers: small.urls[0] });
    t.after(() => plain.close());
    const seen: number[] = [];
    plain.subscribe('k18.>', { callback: (_, m) => seen.push(m.data.length) });
    await plain.flush();

    a.publish('k18.zero', big); // QoS 0: reported, never sent
    await a.publishAsync('k18.one', big, { qos: 1 }); // QoS 1: reported, settled, not retried
    a.publish('k18.zero', new Uint8Array(10)); // what fits still crosses
    await a.publishAsync('k18.one', new Uint8Array(20), { qos: 1 });
    await link.flush();
    await waitFor(() => seen.length === 2, 5000, 'the small ones');
    assert.deepEqual(seen, [10, 20]);
    await waitFor(() => link.stats().inFlight === 0, 5000, 'nothing left in flight');
    assert.deepEqual(
      a.errors.map((e) => e.code),
      [ErrorCode.FRAME_TOO_LARGE, ErrorCode.FRAME_TOO_LARGE]
    );
    assert.equal(link.stats().refused, 2);
    const ojsm = await plain.jetstreamManager();
    assert.equal((await ojsm.streams.info('K18')).state.messages, 1);

    for (const qos of [0, 1] as const)
      await assert.rejects(link.publish('k18.direct', big, { qos }), {
        code: ErrorCode.FRAME_TOO_LARGE
      });
    assert.equal(link.state, 'up');
  });
});

describe('NATS bridge options and connection errors', { skip }, () => {
  let server: NatsCluster;
  before(async () => {
    server = await startNatsServer({ token: 's3cret' });
  });
  after(() => server?.stop());

  it('refuses bad options before connecting, naming the problem', async (t) => {
    const b = new Bus();
    t.after(() => b.close());
    const url = 'nats://127.0.0.1:1';
    const cases: [NatsBridgeOptions, RegExp][] = [
      [{ export: ['a.>', 'a.b'] }, /overlap/],
      [{ import: ['a.*', 'a.b'] }, /overlap/],
      [{ import: ['$JS.API.>'] }, /NATS server/],
      [{ export: ['a..b'] }, /export/],
      [{ user: 'u' }, /user and pass/],
      [{ streams: [{ name: 'a.b', subjects: ['x'] }] }, /streams\.0\.name/],
      [{ bogus: 1 } as NatsBridgeOptions, /bogus/]
    ];
    for (const [options, message] of cases)
      await assert.rejects(b.connect(url, options), { code: ErrorCode.INVALID_OPTIONS, message });
  });

  it('connects to tls:// servers with the CA it is given, and not without it', async (t) => {
    const dir = new URL('../../../test/fixtures/tls/', import.meta.url);
    const tlsServer = await startNatsServer({
      tls: {
        certFile: fileURLToPath(new URL('cert.pem', dir)),
        keyFile: fileURLToPath(new URL('key.pem', dir))
      }
    });
    t.after(() => tlsServer.stop());
    // A host name: the nats client checks an IP address's certificate against 'localhost'.
    const url = tlsServer.urls[0].replace('nats://127.0.0.1', 'tls://localhost');
    const b = new Bus();
    t.after(() => b.close());
    await assert.rejects(b.connect(url, { connectTimeoutMs: 2000 }), { code: ErrorCode.CONNECT });
    const ca = readFileSync(new URL('cert.pem', dir), 'utf8');
    const got = collect(b, 'sec.*');
    const link = await b.connect(url, { ca, import: ['sec.>'], export: ['out.>'] });
    const other = new Bus();
    t.after(() => other.close());
    const lo = await other.connect(url, { ca, export: ['sec.>'] });
    other.publish('sec.x', 'over tls');
    await lo.flush();
    await waitFor(() => got.length === 1, 3000, 'a message over TLS');
    assert.equal(got[0].payload, 'over tls');
    assert.equal(link.state, 'up');
  });

  it('fails with ERR_BRIDGE when a listed stream cannot be made, ERR_CLOSED when its bus closed', async (t) => {
    const b = new Bus();
    t.after(() => b.close());
    // This server has no JetStream.
    await assert.rejects(
      b.connect(server.urls[0], { token: 's3cret', streams: [{ name: 'S', subjects: ['s.>'] }] }),
      { code: ErrorCode.BRIDGE }
    );
    // Closed while the bridge was still getting ready: nothing connects, nothing is left open.
    const c = new Bus();
    const connecting = c.connect(server.urls[0], { token: 's3cret' });
    await c.close();
    await assert.rejects(connecting, { code: ErrorCode.CLOSED });
  });

  it('fails with ERR_AUTH for a wrong token and ERR_CONNECT when nothing listens', async (t) => {
    const b = new Bus();
    t.after(() => b.close());
    await assert.rejects(b.connect(server.urls[0], { token: 'wrong' }), { code: ErrorCode.AUTH });
    await assert.rejects(b.connect('nats://127.0.0.1:1', { connectTimeoutMs: 500 }), {
      code: ErrorCode.CONNECT
    });
    const link = await b.connect(server.urls[0], { token: 's3cret' });
    assert.equal(link.state, 'up');
    await link.close();
    assert.equal(link.state, 'closed');
  });
});
