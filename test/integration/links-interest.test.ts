import assert from 'node:assert/strict';
import { type TestContext, describe, it } from 'node:test';
import { type Bus, type Link, type Message } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import { type UrlKind, collect, linkPair, listenUrl } from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';

/** Round trips on every link, `rounds` times: a message in transit moves at least one hop per round. */
async function settle(links: readonly Link[], rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const link of links) await link.flush();
}

for (const kind of ['tcp', 'unix'] as UrlKind[]) {
  describe(`connect() over ${kind}: subscriptions in effect when it resolves`, () => {
    it('delivers both ways right after connect() resolves, without waiting', async (t) => {
      const atServer: unknown[] = [];
      const atClient: unknown[] = [];
      const { server, client } = await linkPair(t, {
        url: listenUrl(kind),
        before: (s, c) => {
          s.subscribe('to.server', (m) => void atServer.push(m.payload));
          c.subscribe('to.client', (m) => void atClient.push(m.payload));
        }
      });
      // Each publish enters one queue: the send queue of the link toward the subscriber.
      assert.equal(client.publish('to.server', 'c1'), 1);
      assert.equal(server.publish('to.client', 's1'), 1);
      await waitFor(() => atServer.length === 1 && atClient.length === 1, 2000, 'both deliveries');
      assert.deepEqual([atServer, atClient], [['c1'], ['s1']]);
    });

    it('registers channels and QoS 1 subscriptions before connect() resolves', async (t) => {
      const jobs: unknown[] = [];
      const replies: unknown[] = [];
      const { server, client } = await linkPair(t, {
        url: listenUrl(kind),
        before: (s, c) => {
          s.subscribe('jobs.*', (m) => void jobs.push(m.payload), { channel: 'w', qos: 1 });
          c.subscribe('replies', (m) => void replies.push(m.payload), { qos: 1 });
        }
      });
      assert.equal(client.publish('jobs.a', 1, { qos: 1 }), 1, 'the proxy of the channel');
      assert.equal(server.publish('replies', 2, { qos: 1 }), 1, 'the proxy of the QoS 1 queue');
      await waitFor(() => jobs.length === 1 && replies.length === 1, 2000, 'both deliveries');
    });

    it('applies later (un)subscriptions once link.flush() resolves', async (t) => {
      const { server, client, link } = await linkPair(t, { url: listenUrl(kind) });
      assert.equal(server.publish('late', 0), 0, 'nobody wants it yet');
      const sub = client.subscribe('late', () => undefined);
      const serverSub = server.subscribe('late.back', () => undefined);
      await link.flush();
      assert.equal(server.publish('late', 1), 1);
      assert.equal(client.publish('late.back', 1), 1);
      sub.unsubscribe();
      serverSub.unsubscribe();
      await link.flush();
      assert.equal(server.publish('late', 2), 0, 'the interest was withdrawn');
      assert.equal(client.publish('late.back', 2), 0, 'the other way too');
    });
  });
}

describe('interest propagation', () => {
  it('forwards only what the peer subscribes to, with * and > wildcards', async (t) => {
    const star: string[] = [];
    const rest: string[] = [];
    const all: string[] = [];
    const { server, client, link } = await linkPair(t, {
      before: (s, c) => {
        c.subscribe('a.*', (m) => void star.push(m.topic));
        c.subscribe('b.>', (m) => void rest.push(m.topic));
        s.subscribe('>', (m) => void all.push(m.topic));
      }
    });
    const topics = ['a.x', 'a.x.y', 'a', 'b.x', 'b.x.y', 'b', 'c.x'];
    // The server's own '>' queue, plus the link's send queue for 'a.x', 'b.x' and 'b.x.y'.
    assert.deepEqual(
      topics.map((topic) => server.publish(topic, topic)),
      [2, 1, 1, 2, 2, 1, 1]
    );
    assert.equal(client.publish('x.y.z', 'up'), 1, "the server's '>' wants it");
    assert.equal(client.publish('$sys.hidden', 'up'), 0, "'>' does not match the bus's $ topics");
    await link.flush();
    assert.deepEqual(star, ['a.x']);
    assert.deepEqual(rest, ['b.x', 'b.x.y']);
    assert.deepEqual(all, [...topics, 'x.y.z']);
  });

  it('conflates a remote conflated subscription on the sending bus: each topic once, the latest', async (t) => {
    const got: [string, unknown][] = [];
    const { server, link, accepted } = await linkPair(t, {
      server: { dispatch: 'manual' }, // its queues hold what is published until flush()
      before: (_s, c) =>
        void c.subscribe('sim.entity.*', (m) => void got.push([m.topic, m.payload]), {
          conflate: true
        })
    });
    for (let tick = 1; tick <= 50; tick++)
      for (const e of ['a', 'b', 'c']) server.publish(`sim.entity.${e}`, tick);
    server.flush();
    await link.flush();
    assert.equal(accepted.stats().messagesOut, 3, 'three MSG frames crossed, not 150');
    assert.deepEqual(got, [
      ['sim.entity.a', 50],
      ['sim.entity.b', 50],
      ['sim.entity.c', 50]
    ]);
    const queue = server.stats().queues.find((q) => q.pattern === 'sim.entity.*');
    assert.equal(queue?.conflated, 147, "the subscriber's queue on the sending bus conflated");
  });

  it('delivers once to a conflated subscription beside a plain one on the same pattern', async (t) => {
    const conflated: unknown[] = [];
    const plain: unknown[] = [];
    const n = (m: Message): unknown => (m.payload as { n: number }).n;
    const { server, link } = await linkPair(t, {
      before: (_s, c) => {
        c.subscribe('pos.*', (m) => void conflated.push(n(m)), { conflate: true });
        c.subscribe('pos.*', (m) => void plain.push(n(m)));
      }
    });
    // Large and one at a time: a second copy would come in a read of its own, not conflated away.
    const pad = 'x'.repeat(200_000);
    for (let i = 1; i <= 5; i++) {
      server.publish('pos.a', { n: i, pad });
      await link.flush();
    }
    assert.deepEqual(conflated, [1, 2, 3, 4, 5], 'by its own id only, not by interest too');
    assert.deepEqual(plain, [1, 2, 3, 4, 5]);
  });

  it('sends a message matching several patterns once; the receiver fans it out', async (t) => {
    const { server, client, link } = await linkPair(t, {
      before: (_s, c) => {
        for (const p of ['a.b', 'a.*', 'a.>', '>']) c.subscribe(p, () => undefined);
      }
    });
    const got = ['a.b', 'a.*', 'a.>', '>'].map((p) => collect(client, p));
    const before = link.stats().messagesIn;
    server.publish('a.b', 'once');
    await link.flush();
    assert.equal(link.stats().messagesIn - before, 1, 'one MSG crossed');
    assert.deepEqual(
      got.map((g) => g.map((m) => m.payload)),
      [['once'], ['once'], ['once'], ['once']]
    );
  });

  it('never echoes a message back to the link it came from', async (t) => {
    const { server, client, link } = await linkPair(t, {
      before: (s, c) => {
        s.subscribe('chat', () => undefined);
        c.subscribe('chat', () => undefined);
      }
    });
    const atServer = collect(server, 'chat');
    const atClient = collect(client, 'chat');
    server.publish('chat', 'from server');
    client.publish('chat', 'from client');
    await link.flush();
    await link.flush(); // an echo would have crossed by now
    for (const got of [atServer, atClient]) {
      assert.deepEqual(got.map((m) => m.payload).sort(), ['from client', 'from server']);
    }
    assert.equal(link.stats().messagesIn, 1);
    assert.equal(link.stats().messagesOut, 1);
  });

  it('relays along a chain A—B—C, and the hop limit stops it', async (t) => {
    const a = makeBus(t, { id: 'a' });
    const b = makeBus(t, { id: 'b' });
    const c = makeBus(t, { id: 'c' });
    const atB = collect(b, 'chain');
    const atC = collect(c, 'chain');
    const lb = await b.listen('tcp://127.0.0.1:0');
    const lc = await c.listen('tcp://127.0.0.1:0');
    const ab = await a.connect(lb.url, { reconnect: false });
    // B→C may carry only messages that crossed no link yet.
    const bc = await b.connect(lc.url, { reconnect: false, hopLimit: 1 });
    await settle([ab, bc], 2); // C's interest reaches A through B
    a.publish('chain', 'from a');
    b.publish('chain', 'from b');
    await settle([ab, bc], 2);
    assert.deepEqual(atB.map((m) => m.payload).sort(), ['from a', 'from b']);
    assert.deepEqual(
      atC.map((m) => m.payload),
      ['from b'],
      'what came from A had one hop and B may not forward it'
    );
    assert.equal(bc.stats().refused, 1, 'counted as refused on B→C');
  });

  it('relays along a chain A—B—C within the default hop limit, once', async (t) => {
    const a = makeBus(t);
    const b = makeBus(t);
    const c = makeBus(t);
    const atC = collect(c, 'chain');
    const lb = await b.listen(listenUrl('unix'));
    const lc = await c.listen('tcp://127.0.0.1:0');
    const ab = await a.connect(lb.url, { reconnect: false });
    const bc = await b.connect(lc.url, { reconnect: false });
    await settle([ab, bc], 2);
    a.publish('chain', 1);
    c.publish('chain', 2); // C's own subscriber, and nothing comes back
    await settle([ab, bc], 3);
    assert.deepEqual(
      atC.map((m) => m.payload),
      [2, 1]
    );
  });

  it('bounds the duplicates in a triangle by the hop limit, and the traffic stops', async (t) => {
    const hopLimit = 3;
    const buses = ['a', 'b', 'c'].map((id) => makeBus(t, { id }));
    const [a, b, c] = buses;
    const got = buses.map((bus) => collect(bus, 'tri'));
    const la = await a.listen('tcp://127.0.0.1:0', { hopLimit });
    const lb = await b.listen('tcp://127.0.0.1:0', { hopLimit });
    const links = [
      await b.connect(la.url, { reconnect: false, hopLimit }),
      await c.connect(la.url, { reconnect: false, hopLimit }),
      await c.connect(lb.url, { reconnect: false, hopLimit })
    ];
    await settle(links, 2);
    a.publish('tri', 'x');
    await settle(links, hopLimit + 2);
    const counts = got.map((g) => g.length);
    await settle(links, 3);
    assert.deepEqual(
      got.map((g) => g.length),
      counts,
      'nothing more arrives: the loop stopped'
    );
    // docs/network.md: a cycle yields duplicates, as many as the hop limit allows. The message
    // walks the triangle both ways, each walk hopLimit (3) links long: a→b→c→a and a→c→b→a.
    // So a gets its own plus two returns, b and c one per walk.
    assert.deepEqual(counts, [3, 2, 2]);
    const refused = (bus: Bus) => bus.stats().links.reduce((n, l) => n + l.refused, 0);
    assert.ok(refused(a) + refused(b) + refused(c) > 0, 'the hop limit refused the rest');
    for (const g of got) assert.ok(g.every((m) => m.payload === 'x'));
  });
});

describe('hub topology A—Hub—B', () => {
  async function hub(t: TestContext) {
    const h = makeBus(t, { id: 'hub' });
    const a = makeBus(t, { id: 'a' });
    const b = makeBus(t, { id: 'b' });
    const listener = await h.listen(listenUrl('unix', 'hub'));
    return { h, a, b, listener };
  }

  it('relays QoS 0 from A to B through the hub, and not back to A', async (t) => {
    const { h, a, b, listener } = await hub(t);
    const atA = collect(a, 'news.>');
    const toA = await a.connect(listener.url, { reconnect: false });
    const atB = collect(b, 'news.>');
    const toB = await b.connect(listener.url, { reconnect: false });
    await toB.flush(); // the hub has B's interest...
    await toA.flush(); // ...and has passed it on to A
    a.publish('news.today', 'hello');
    await toA.flush(); // at the hub
    await toB.flush(); // at B
    assert.deepEqual(
      atB.map((m) => [m.topic, m.payload]),
      [['news.today', 'hello']]
    );
    assert.equal(atA.length, 1, 'A got its own message once, locally');
    assert.equal(listener.links.length, 2);
    assert.equal(h.stats().links.length, 2);
  });

  it('carries QoS 1 through the hub to a channel consumer on B; the ack travels home to A', async (t) => {
    const { h, a, b, listener } = await hub(t);
    const toA = await a.connect(listener.url, { reconnect: false });
    const atB = collect(b, 'jobs.*', { channel: 'w', qos: 1 });
    const toB = await b.connect(listener.url, { reconnect: false });
    await toB.flush();
    await toA.flush();
    assert.equal(a.publish('jobs.one', 'work', { qos: 1 }), 1, 'A holds it for the hub');
    await waitFor(() => atB.length === 1, 2000, 'B got the job');
    assert.equal(atB[0].payload, 'work');
    assert.equal(atB[0].attempt, 1);
    const home = a.channel('jobs.*', 'w');
    await waitFor(() => home.inFlight === 0, 2000, "the ack reached A's channel");
    assert.equal(home.depth, 0);
    assert.equal(a.stats().channels[0].acked, 1);
    assert.equal(h.channel('jobs.*', 'w').inFlight, 0);
    assert.equal(h.stats().channels[0].acked, 1);
  });
});
