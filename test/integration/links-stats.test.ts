import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Bus, type LinkStats } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import { LinkEvents, linkPair, listenUrl } from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';

/** The samples of `family` in a metrics text, as `{labels} value` keyed by their label part. */
function samples(text: string, family: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`)) continue;
    const at = line.lastIndexOf(' ');
    const labels = line.slice(family.length, at);
    assert.ok(!out.has(labels), `duplicate series ${family}${labels}`);
    out.set(labels, Number(line.slice(at + 1)));
  }
  return out;
}

/** Every series (name + labels) of a metrics text appears once, as the exposition format needs. */
function assertNoDuplicateSeries(text: string): void {
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    assert.ok(!seen.has(series), `duplicate series: ${series}`);
    seen.add(series);
  }
}

function labelsOf(l: LinkStats): string {
  return `{id="${l.id}",link="${l.url}",direction="${l.direction}"}`;
}

describe('link stats and metrics', () => {
  it('counts frames, bytes and messages; both ends agree after a round trip', async (t) => {
    const { server, client, link, accepted, listener } = await linkPair(t, {
      server: { id: 'srv' },
      client: { id: 'cli' },
      before: (s, c) => {
        s.subscribe('up', () => undefined);
        c.subscribe('down', () => undefined);
      }
    });
    for (let i = 0; i < 5; i++) client.publish('up', 'x'.repeat(100));
    for (let i = 0; i < 3; i++) server.publish('down', i);
    await link.publish('up', 'remote', { qos: 1 });
    await link.flush();
    const out = link.stats();
    const inn = accepted.stats();
    assert.deepEqual(
      [out.url, out.direction, out.state, out.peer, out.raw],
      [listener.url, 'out', 'up', 'srv', false]
    );
    assert.deepEqual([inn.direction, inn.state, inn.peer, inn.raw], ['in', 'up', 'cli', false]);
    assert.equal(out.messagesOut, 6, '5 forwarded and 1 remote publish');
    assert.equal(inn.messagesIn, 6);
    assert.equal(inn.messagesOut, 3);
    assert.equal(out.messagesIn, 3);
    // After the PING/PONG nothing is in transit: what one side sent, the other received.
    assert.equal(out.bytesOut, inn.bytesIn);
    assert.equal(inn.bytesOut, out.bytesIn);
    assert.equal(out.framesOut, inn.framesIn);
    assert.equal(inn.framesOut, out.framesIn);
    assert.ok(out.bytesOut > 5 * 100);
    for (const s of [out, inn]) {
      assert.deepEqual([s.queued, s.dropped, s.refused, s.inFlight, s.reconnects], [0, 0, 0, 0, 0]);
    }
    assert.deepEqual(client.stats().links, [out]);
    assert.deepEqual(server.stats().links, [inn]);
  });

  it('shows the link send queue and its drops (the pattern "(link)")', async (t) => {
    const { server, link, accepted } = await linkPair(t, {
      listen: { sendQueueSize: 4 },
      before: (_s, c) => void c.subscribe('tick', () => undefined)
    });
    for (let i = 1; i <= 10; i++) server.publish('tick', i); // one burst: the queue holds 4
    await link.flush();
    assert.equal(accepted.stats().dropped, 6);
    assert.equal(accepted.stats().messagesOut, 4);
    const queue = server.stats().queues.find((q) => q.pattern === '(link)');
    assert.ok(queue !== undefined, 'the send queue is listed among the queues');
    assert.equal(queue.dropped.overflow, 6);
    assert.equal(server.stats().totals.dropped.overflow, 6);
  });

  it('keeps counters across a reconnect and tracks the state', async (t) => {
    const url = listenUrl('unix');
    const server = makeBus(t);
    const listener = await server.listen(url);
    server.subscribe('up', () => undefined);
    const client = makeBus(t);
    const events = new LinkEvents(client);
    const link = await client.connect(url, { reconnect: { initialDelayMs: 1, maxDelayMs: 10 } });
    client.publish('up', 1);
    client.publish('up', 2);
    await link.flush();
    const before = link.stats();
    assert.equal(before.messagesOut, 2);
    await listener.close();
    await events.downCount(1);
    const down = link.stats();
    assert.notEqual(down.state, 'up');
    assert.equal(down.messagesOut, 2, 'kept while down');
    assert.equal(down.bytesOut, before.bytesOut);
    assert.match(client.metrics(), new RegExp(`ringbus_link_up\\{[^}]*direction="out"\\} 0\\n`));
    await server.listen(url);
    await events.upCount(2);
    client.publish('up', 3);
    await link.flush();
    const after = link.stats();
    assert.equal(after.state, 'up');
    assert.equal(after.messagesOut, 3, 'counted on from where it was');
    assert.ok(after.bytesOut > before.bytesOut);
    assert.ok(after.framesOut > before.framesOut);
    assert.equal(after.reconnects, 1);
  });

  it('exports ringbus_link_* families matching stats()', async (t) => {
    const { server, client, link, accepted } = await linkPair(t, {
      before: (_s, c) => void c.subscribe('m', () => undefined)
    });
    for (let i = 0; i < 4; i++) server.publish('m', i);
    await link.flush();
    for (const [bus, l] of [
      [client, link.stats()],
      [server, accepted.stats()]
    ] as [Bus, LinkStats][]) {
      const text = bus.metrics();
      const key = labelsOf(l);
      const expect: [string, number][] = [
        ['ringbus_link_up', 1],
        ['ringbus_link_messages_in_total', l.messagesIn],
        ['ringbus_link_messages_out_total', l.messagesOut],
        ['ringbus_link_bytes_in_total', l.bytesIn],
        ['ringbus_link_bytes_out_total', l.bytesOut],
        ['ringbus_link_dropped_total', 0],
        ['ringbus_link_refused_total', 0],
        ['ringbus_link_reconnects_total', 0],
        ['ringbus_link_queued', 0],
        ['ringbus_link_in_flight', 0]
      ];
      for (const [family, value] of expect) {
        assert.equal(samples(text, family).get(key), value, `${family}${key}`);
        assert.match(text, new RegExp(`# TYPE ${family} (counter|gauge)\\n`));
      }
      assert.equal(samples(text, 'ringbus_link_messages_out_total').get(key), l.messagesOut);
    }
    assert.equal(accepted.stats().messagesOut, 4);
  });

  it('gives every link its own series, also several Unix clients of one listener', async (t) => {
    const hub = makeBus(t);
    const listener = await hub.listen(listenUrl('unix', 'metrics'));
    const clients = [makeBus(t), makeBus(t), makeBus(t)];
    for (const c of clients) await c.connect(listener.url, { reconnect: false });
    await waitFor(() => listener.links.length === 3, 2000, 'three accepted links');
    const urls = hub.stats().links.map((l) => l.url);
    assert.equal(new Set(urls).size, 3, `distinct link names: ${urls.join(', ')}`);
    const text = hub.metrics();
    assertNoDuplicateSeries(text);
    assert.equal(samples(text, 'ringbus_link_up').size, 3);
  });

  it('gives two raw links of one bus to the same URL their own series', async (t) => {
    const nanoq = makeBus(t);
    const listener = await nanoq.listen('tcp://127.0.0.1:0', { raw: { topic: 'in' } });
    const client = makeBus(t);
    // Two raw links to one nanoQ server, each sending other topics: allowed, and both listed.
    await client.connect(listener.url, { raw: { pattern: 'a.>' }, reconnect: false });
    await client.connect(listener.url, { raw: { pattern: 'b.>' }, reconnect: false });
    assert.equal(client.stats().links.length, 2);
    const text = client.metrics();
    assertNoDuplicateSeries(text);
    assert.equal(samples(text, 'ringbus_link_up').size, 2);
  });
});
