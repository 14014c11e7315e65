import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Bus, type DeadLetterEvent, type Message } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import { LinkEvents, LinkProxy, linkPair, listenUrl } from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { helloFrame, openRawPeer, pingFrame } from '../helpers/raw-peer.js';

/** The home bus's stats of channel `name` on `pattern`. */
function channelStats(bus: Bus, pattern: string, name: string) {
  const found = bus.stats().channels.find((c) => c.pattern === pattern && c.channel === name);
  assert.ok(found !== undefined, `channel ${pattern}#${name} exists`);
  return found;
}

describe('QoS 1 across a link (the server is the home bus)', () => {
  it('acks from a remote channel consumer settle the home channel', async (t) => {
    const got: Message[] = [];
    const { server, link, accepted } = await linkPair(t, {
      url: listenUrl('unix'),
      before: (_s, c) =>
        void c.subscribe('jobs.*', (m) => void got.push(m), { channel: 'w', qos: 1 })
    });
    for (let i = 0; i < 3; i++) server.publish('jobs.a', i, { qos: 1 });
    await waitFor(() => got.length === 3, 2000, 'three deliveries');
    const home = server.channel('jobs.*', 'w');
    await waitFor(() => home.inFlight === 0, 2000, 'the acks reached home');
    assert.deepEqual(
      got.map((m) => [m.payload, m.attempt]),
      [
        [0, 1],
        [1, 1],
        [2, 1]
      ]
    );
    const s = channelStats(server, 'jobs.*', 'w');
    assert.equal(s.acked, 3);
    assert.equal(s.delivered, 3);
    assert.equal(s.redelivered, 0);
    assert.equal(home.depth, 0);
    assert.equal(accepted.stats().inFlight, 0);
    assert.equal(accepted.stats().messagesOut, 3);
    assert.equal(link.stats().messagesIn, 3);
  });

  it('keeps messages in flight at home until the remote consumer acks (autoAck: false)', async (t) => {
    const held: Message[] = [];
    const { server, link, accepted } = await linkPair(t, {
      before: (_s, c) =>
        void c.subscribe('jobs.*', (m) => void held.push(m), {
          channel: 'w',
          qos: 1,
          autoAck: false
        })
    });
    for (let i = 0; i < 3; i++) server.publish('jobs.a', i, { qos: 1 });
    await waitFor(() => held.length === 3, 2000, 'three deliveries');
    const home = server.channel('jobs.*', 'w');
    assert.equal(home.inFlight, 3);
    assert.equal(accepted.stats().inFlight, 3);
    assert.ok(held[1].ack());
    await link.flush();
    assert.equal(home.inFlight, 2, 'one ack is home');
    assert.ok(held[0].ack() && held[2].ack());
    await link.flush();
    assert.equal(home.inFlight, 0);
    assert.equal(accepted.stats().inFlight, 0);
    assert.equal(channelStats(server, 'jobs.*', 'w').acked, 3);
  });

  it('sends a remote consumer no more than its maxInFlight; the rest stays home for others', async (t) => {
    const held: Message[] = [];
    const { server, link } = await linkPair(t, {
      before: (_s, c) =>
        void c.subscribe('jobs.*', (m) => void held.push(m), {
          channel: 'w',
          qos: 1,
          autoAck: false,
          maxInFlight: 2
        })
    });
    for (let i = 0; i < 10; i++) server.publish('jobs.a', i, { qos: 1 });
    await waitFor(() => held.length === 2, 2000, 'two deliveries');
    await link.flush();
    await link.flush();
    assert.equal(held.length, 2, 'the credit is the consumer maxInFlight, not its queue size');
    const home = server.channel('jobs.*', 'w');
    assert.equal(home.inFlight, 2);
    assert.equal(home.depth, 8);
    const local: Message[] = [];
    server.subscribe('jobs.*', (m) => void local.push(m), { channel: 'w', qos: 1 });
    await waitFor(() => local.length === 8, 2000, 'the local consumer takes the other eight');
    assert.deepEqual(
      local.map((m) => m.payload),
      [2, 3, 4, 5, 6, 7, 8, 9]
    );
  });

  it('raises the credit when another consumer joins on the remote bus (CREDIT)', async (t) => {
    const held: Message[] = [];
    const hold = (m: Message): void => void held.push(m);
    const { server, client, link } = await linkPair(t, {
      before: (_s, c) =>
        void c.subscribe('jobs.*', hold, { channel: 'w', qos: 1, autoAck: false, maxInFlight: 2 })
    });
    for (let i = 0; i < 10; i++) server.publish('jobs.a', i, { qos: 1 });
    await waitFor(() => held.length === 2, 2000, 'two deliveries');
    const second = client.subscribe('jobs.*', hold, {
      channel: 'w',
      qos: 1,
      autoAck: false,
      maxInFlight: 3
    });
    await waitFor(() => held.length === 5, 2000, 'three more for the second consumer');
    await link.flush();
    await link.flush();
    assert.equal(held.length, 5);
    assert.equal(server.channel('jobs.*', 'w').inFlight, 5);
    // It leaves: its three go back to the remote channel; the first consumer takes them as it acks.
    second.unsubscribe();
    for (const m of held.slice(0, 2)) assert.ok(m.ack());
    await waitFor(() => held.length === 7, 2000, 'the requeued ones reach the first consumer');
    for (const m of held.slice(5)) assert.ok(m.ack());
    await waitFor(() => held.length === 9, 2000, 'then one more from home');
    await link.flush();
    await link.flush();
    assert.equal(held.length, 9);
    const home = server.channel('jobs.*', 'w');
    assert.equal(home.inFlight, 2, 'in flight at home within the lowered credit');
    assert.equal(home.depth, 4, 'four acked, the rest at home');
  });

  it('passes a credit change on along a relay chain A—B—C', async (t) => {
    const a = makeBus(t, { id: 'a' });
    const b = makeBus(t, { id: 'b' });
    const c = makeBus(t, { id: 'c' });
    const held: Message[] = [];
    const hold = (m: Message): void => void held.push(m);
    c.subscribe('jobs.*', hold, { channel: 'w', qos: 1, autoAck: false, maxInFlight: 1 });
    const atA = await a.listen('tcp://127.0.0.1:0');
    const atB = await b.listen('tcp://127.0.0.1:0');
    const ab = await b.connect(atA.url, { reconnect: false });
    const cb = await c.connect(atB.url, { reconnect: false });
    await ab.flush();
    for (let i = 0; i < 10; i++) a.publish('jobs.x', i, { qos: 1 });
    await waitFor(() => held.length === 1, 2000, 'one delivery at C');
    // A second consumer on C: C's credit to B goes from 1 to 6, and B's to A with it.
    c.subscribe('jobs.*', hold, { channel: 'w', qos: 1, autoAck: false, maxInFlight: 5 });
    await waitFor(() => held.length === 6, 2000, 'six held at C');
    await cb.flush();
    await ab.flush();
    assert.equal(held.length, 6);
    assert.equal(a.channel('jobs.*', 'w').inFlight, 6, 'the home bus sends what C may hold');
    assert.equal(a.channel('jobs.*', 'w').depth, 4);
  });

  it('sends CREDIT only to a version 2 peer; a version 1 peer gets a version 1 HELLO', async (t) => {
    for (const v of [1, 2]) {
      const server = makeBus(t);
      server.subscribe('jobs.*', () => undefined, { channel: 'w', qos: 1, maxInFlight: 2 });
      const listener = await server.listen('tcp://127.0.0.1:0');
      const peer = await openRawPeer(listener.url);
      t.after(() => peer.destroy());
      await peer.write(helloFrame({ bus: `peer-v${v}`, v }));
      const hello = await peer.waitForFrame(FrameType.HELLO);
      assert.equal((JSON.parse(Buffer.from(hello.body).toString()) as { v: number }).v, v);
      await peer.waitForFrame(FrameType.SUB);
      server.subscribe('jobs.*', () => undefined, { channel: 'w', qos: 1, maxInFlight: 3 });
      await peer.write(pingFrame(1));
      await peer.waitForFrame(FrameType.PONG);
      const credits = peer
        .frames()
        .filter((f) => f.type === FrameType.CREDIT)
        .map((f) => JSON.parse(Buffer.from(f.body).toString()) as unknown);
      assert.deepEqual(credits, v === 1 ? [] : [{ sid: 1, credit: 5 }], `version ${v}`);
      assert.equal(listener.links[0].state, 'up');
    }
  });

  it('redelivers a nacked message on the consumer bus with attempt + 1, then acks home', async (t) => {
    const seen: Message[] = [];
    const { server, client, link } = await linkPair(t, {
      before: (_s, c) =>
        void c.subscribe(
          'jobs.*',
          (m) => {
            seen.push(m);
            if (m.attempt === 1) m.nack(20);
            else m.ack();
          },
          { channel: 'w', qos: 1, autoAck: false }
        )
    });
    server.publish('jobs.a', 'retry me', { qos: 1 });
    await waitFor(() => seen.length === 2, 2000, 'the redelivery');
    assert.deepEqual(
      seen.map((m) => [m.payload, m.attempt]),
      [
        ['retry me', 1],
        ['retry me', 2]
      ]
    );
    assert.equal(seen[0].id, seen[1].id, 'the same message');
    await link.flush();
    assert.equal(server.channel('jobs.*', 'w').inFlight, 0);
    const home = channelStats(server, 'jobs.*', 'w');
    assert.equal(home.acked, 1);
    assert.equal(home.redelivered, 0, 'the nack was handled on the consumer bus');
    assert.equal(channelStats(client, 'jobs.*', 'w').redelivered, 1);
  });

  it('serves a remote pull consumer with autoAck: false', async (t) => {
    const { server, client, link } = await linkPair(t);
    const sub = client.subscribe('jobs.*', { channel: 'p', qos: 1 }); // pull: autoAck false
    await link.flush();
    for (let i = 0; i < 3; i++) server.publish('jobs.x', `job ${i}`, { qos: 1 });
    const batch: Message[] = [];
    while (batch.length < 3) batch.push(...(await sub.pull(10, { timeoutMs: 2000 })));
    assert.deepEqual(
      batch.map((m) => m.payload),
      ['job 0', 'job 1', 'job 2']
    );
    const home = server.channel('jobs.*', 'p');
    assert.equal(home.inFlight, 3, 'nothing acked yet');
    for (const m of batch) assert.ok(m.ack());
    await link.flush();
    assert.equal(home.inFlight, 0);
    assert.equal(channelStats(server, 'jobs.*', 'p').acked, 3);
  });

  it('shares one channel round-robin between local and remote consumers', async (t) => {
    const local: Message[] = [];
    const remote: Message[] = [];
    const { server, link } = await linkPair(t, {
      before: (s, c) => {
        s.subscribe('jobs.*', (m) => void local.push(m), { channel: 'w', qos: 1 });
        c.subscribe('jobs.*', (m) => void remote.push(m), { channel: 'w', qos: 1 });
      }
    });
    assert.equal(server.stats().channels.length, 1, 'one shared channel at home');
    assert.equal(channelStats(server, 'jobs.*', 'w').consumers, 2);
    for (let i = 0; i < 10; i++) server.publish('jobs.a', i, { qos: 1 });
    await waitFor(() => local.length + remote.length === 10, 2000, 'ten deliveries');
    await link.flush();
    assert.deepEqual(
      [...local, ...remote].map((m) => m.payload).sort((x, y) => Number(x) - Number(y)),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      'each message once'
    );
    assert.equal(local.length, 5, `local got ${local.map((m) => m.payload).join()}`);
    assert.equal(remote.length, 5);
    assert.equal(server.channel('jobs.*', 'w').inFlight, 0);
  });

  it('acks a private QoS 1 subscription across the link', async (t) => {
    const got: Message[] = [];
    const { server, link, accepted } = await linkPair(t, {
      before: (_s, c) => void c.subscribe('alerts', (m) => void got.push(m), { qos: 1 })
    });
    server.publish('alerts', 'a', { qos: 1 });
    await waitFor(() => got.length === 1, 2000, 'the delivery');
    await link.flush();
    const proxy = server.stats().queues.find((q) => q.pattern === 'alerts');
    assert.ok(proxy !== undefined, 'a private proxy queue at home');
    assert.equal(proxy.acked, 1);
    assert.equal(proxy.inFlight, 0);
    assert.equal(accepted.stats().inFlight, 0);
  });
});

describe('QoS 1 when a link drops', () => {
  it('requeues in-flight messages when the remote bus closes; a local consumer gets them (attempt 2)', async (t) => {
    const held: Message[] = [];
    const { server, client } = await linkPair(t, {
      before: (_s, c) =>
        void c.subscribe('jobs.*', (m) => void held.push(m), {
          channel: 'w',
          qos: 1,
          autoAck: false
        })
    });
    const events = new LinkEvents(server);
    for (let i = 0; i < 3; i++) server.publish('jobs.a', i, { qos: 1 });
    await waitFor(() => held.length === 3, 2000, 'three deliveries');
    const home = server.channel('jobs.*', 'w');
    assert.equal(home.inFlight, 3);
    await client.close();
    await events.downCount(1);
    assert.equal(home.inFlight, 0);
    assert.equal(home.depth, 3, 'back in the home channel, none lost');
    const taken: Message[] = [];
    server.subscribe('jobs.*', (m) => void taken.push(m), { channel: 'w', qos: 1 });
    await waitFor(() => taken.length === 3, 2000, 'the local consumer took them');
    assert.deepEqual(
      taken.map((m) => [m.payload, m.attempt, m.id]),
      held.map((m) => [m.payload, 2, m.id])
    );
    await waitFor(() => home.inFlight === 0, 2000, 'acked locally');
    assert.equal(home.depth, 0);
  });

  it('redelivers to the same consumer after its link is cut and reconnects (attempt 2)', async (t) => {
    const server = makeBus(t, { id: 'home' });
    const client = makeBus(t, { id: 'worker' });
    const listener = await server.listen('tcp://127.0.0.1:0');
    const proxy = await LinkProxy.open(listener.url);
    t.after(() => proxy.close());
    const seen: Message[] = [];
    client.subscribe(
      'jobs.*',
      (m) => {
        seen.push(m);
        if (m.attempt > 1) m.ack(); // first deliveries stay unacked until the link is cut
      },
      { channel: 'w', qos: 1, autoAck: false }
    );
    const clientEvents = new LinkEvents(client);
    const link = await client.connect(proxy.url, {
      reconnect: { initialDelayMs: 1, maxDelayMs: 10 }
    });
    for (let i = 0; i < 3; i++) server.publish('jobs.a', i, { qos: 1 });
    await waitFor(() => seen.length === 3, 2000, 'three first deliveries');
    proxy.cut();
    await clientEvents.upCount(2, 3000); // the connect, then the reconnect
    await waitFor(() => seen.length === 6, 2000, 'three redeliveries');
    const again = seen.slice(3);
    assert.deepEqual(
      again.map((m) => [m.payload, m.attempt, m.id]).sort(),
      seen
        .slice(0, 3)
        .map((m) => [m.payload, 2, m.id])
        .sort()
    );
    await link.flush();
    const home = server.channel('jobs.*', 'w');
    assert.equal(home.inFlight, 0);
    assert.equal(home.depth, 0);
    assert.equal(channelStats(server, 'jobs.*', 'w').acked, 3);
  });

  it('dead-letters on the consumer bus after maxAttempts and settles the home copy', async (t) => {
    const attempts: number[] = [];
    const { server, client, link } = await linkPair(t, {
      before: (_s, c) =>
        void c.subscribe(
          'jobs.*',
          (m) => {
            attempts.push(m.attempt);
            throw new Error('always fails');
          },
          { channel: 'w', qos: 1, maxAttempts: 2 }
        )
    });
    client.on('error', () => undefined); // ERR_HANDLER_FAILED, expected
    const dead: DeadLetterEvent[] = [];
    const homeDead: DeadLetterEvent[] = [];
    client.on('dead-letter', (e) => void dead.push(e));
    server.on('dead-letter', (e) => void homeDead.push(e));
    const dlq: Message[] = [];
    client.subscribe('$dlq.jobs.*', (m) => void dlq.push(m));
    await link.flush();
    server.publish('jobs.a', 'poison', { qos: 1, headers: { h: '1' } });
    await waitFor(() => dlq.length === 1, 2000, "the dead letter on the consumer's bus");
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(dead.length, 1);
    assert.equal(dead[0].deadLetterTopic, '$dlq.jobs.a');
    assert.equal(dlq[0].payload, 'poison');
    assert.deepEqual(dlq[0].headers, { h: '1' });
    await link.flush();
    const home = server.channel('jobs.*', 'w');
    assert.equal(home.inFlight, 0, 'dead-lettering settles the home copy');
    assert.equal(channelStats(server, 'jobs.*', 'w').acked, 1);
    assert.equal(homeDead.length, 0, 'the home bus does not dead-letter it too');
  });
  it('dead-letters a message a remote consumer never acks; the home copy does not stay stuck', async (t) => {
    const attempts: number[] = [];
    const { server, client } = await linkPair(t, {
      before: (_s, c) =>
        void c.subscribe('jobs.*', (m) => void attempts.push(m.attempt), {
          channel: 'w',
          qos: 1,
          autoAck: false, // holds every delivery: only the ack timers act
          ackTimeoutMs: 50,
          maxAttempts: 2
        })
    });
    const dead: DeadLetterEvent[] = [];
    client.on('dead-letter', (e) => void dead.push(e));
    server.publish('jobs.a', 'stuck', { qos: 1 });
    const home = server.channel('jobs.*', 'w');
    await waitFor(
      () => dead.length >= 1 && home.inFlight === 0 && home.depth === 0,
      3000,
      "a dead letter on the consumer's bus and nothing left at home"
    );
    assert.equal(dead[0].reason, 'max-attempts');
    assert.ok(attempts.length >= 2 && attempts.every((a) => a <= 2), `attempts ${attempts.join()}`);
  });
});

describe('QoS 1 sender-side home (the client publishes)', () => {
  it('delivers to a channel on the listening bus and acks back to the client', async (t) => {
    const got: Message[] = [];
    const { client, link } = await linkPair(t, {
      before: (s) => void s.subscribe('orders', (m) => void got.push(m), { channel: 'c', qos: 1 })
    });
    assert.equal(client.publish('orders', { n: 1 }, { qos: 1 }), 1);
    await waitFor(() => got.length === 1, 2000, 'the delivery');
    assert.deepEqual(got[0].payload, { n: 1 });
    await link.flush();
    const home = client.channel('orders', 'c');
    assert.equal(home.inFlight, 0);
    assert.equal(link.stats().inFlight, 0);
  });
});
