import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus, ErrorCode, RingbusError } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import {
  LinkEvents,
  LinkProxy,
  PlainServer,
  collect,
  listenUrl,
  portOf,
  quietPeriod,
  rejectsWith
} from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';

const FAST = { initialDelayMs: 1, maxDelayMs: 10 };

describe('reconnect', () => {
  it('comes back by itself when a bus listens on the Unix path again, subscriptions restored', async (t) => {
    const url = listenUrl('unix', 'reconnect');
    let server = new Bus({ id: 'server-1' });
    t.after(() => server.close());
    await server.listen(url);
    const client = makeBus(t, { id: 'client' });
    const events = new LinkEvents(client);
    const reconnectsAtUp: number[] = [];
    client.on('link-up', (l) => void reconnectsAtUp.push(l.stats().reconnects));
    const atClient = collect(client, 'news');
    const link = await client.connect(url, { reconnect: FAST });
    assert.equal(link.peer, 'server-1');

    await server.close();
    await events.downCount(1);
    assert.equal(events.downs[0].link, link);
    assert.equal(events.downs[0].error, undefined, "the server's goodbye");
    assert.notEqual(link.state, 'up');
    assert.equal(client.publish('news', 'while down'), 1, 'only the local subscriber');
    await rejectsWith(link.flush(), ErrorCode.LINK_DOWN);

    server = new Bus({ id: 'server-2' });
    const atServer = collect(server, 'up');
    await server.listen(url);
    await events.upCount(2);
    assert.equal(link.state, 'up');
    assert.equal(link.peer, 'server-2');
    // Both sides' subscriptions are registered again when 'link-up' fires.
    assert.equal(server.publish('news', 'after'), 1);
    assert.equal(client.publish('up', 'after'), 1);
    await link.flush();
    assert.deepEqual(
      atClient.map((m) => m.payload),
      ['while down', 'after']
    );
    assert.deepEqual(
      atServer.map((m) => m.payload),
      ['after']
    );
    assert.equal(link.stats().reconnects, 1);
    assert.equal(client.stats().links[0].reconnects, 1);
    assert.deepEqual(reconnectsAtUp, [0, 1], "stats() already count the reconnect at 'link-up'");
  });

  it('comes back when the listener is closed and opened again on the same TCP port', async (t) => {
    const server = makeBus(t);
    const client = makeBus(t);
    const events = new LinkEvents(client);
    const first = await server.listen('tcp://127.0.0.1:0');
    const link = await client.connect(first.url, { reconnect: FAST });
    await first.close();
    await events.downCount(1);
    const second = await server.listen(first.url);
    assert.equal(second.url, first.url);
    await events.upCount(2);
    const atServer = collect(server, 'ping');
    const atClient = collect(client, 'pong');
    await link.flush();
    client.publish('ping', 1);
    server.publish('pong', 2);
    await link.flush();
    assert.deepEqual([atServer.map((m) => m.payload), atClient.map((m) => m.payload)], [[1], [2]]);
    assert.equal(second.links.length, 1);
    assert.equal(link.stats().reconnects, 1);
  });

  it('reports a connection lost without a goodbye as link-down with an error', async (t) => {
    const server = makeBus(t);
    const client = makeBus(t);
    const events = new LinkEvents(client);
    const listener = await server.listen('tcp://127.0.0.1:0');
    const proxy = await LinkProxy.open(listener.url);
    t.after(() => proxy.close());
    const link = await client.connect(proxy.url, { reconnect: FAST });
    proxy.cut();
    await events.downCount(1);
    assert.ok(
      events.downs[0].error instanceof RingbusError,
      'docs/network.md: error is undefined only for a goodbye or a local close'
    );
    await events.upCount(2); // and it reconnects through the proxy
    assert.equal(link.state, 'up');
    assert.equal(proxy.connections, 2);
  });

  it('stays down with reconnect: false, while a link with reconnect comes back', async (t) => {
    const url = listenUrl('unix');
    const server = makeBus(t);
    await server.listen(url);
    const client = makeBus(t);
    const control = makeBus(t);
    const events = new LinkEvents(client);
    const controlEvents = new LinkEvents(control);
    const stays = await client.connect(url, { reconnect: false });
    const returns = await control.connect(url, { reconnect: FAST });
    await server.close();
    await events.downCount(1);
    await controlEvents.downCount(1);
    const again = makeBus(t);
    const listener = await again.listen(url);
    await controlEvents.upCount(2);
    assert.equal(returns.state, 'up');
    await quietPeriod(100); // ten times the longest retry delay
    assert.equal(stays.state, 'down');
    assert.equal(listener.links.length, 1, 'only the reconnecting link came back');
    assert.equal(stays.stats().reconnects, 0);
  });

  it('stops reconnecting on link.close() while down', async (t) => {
    const server = makeBus(t);
    const listener = await server.listen('tcp://127.0.0.1:0');
    const port = portOf(listener.url);
    const client = makeBus(t);
    const other = makeBus(t);
    const events = new LinkEvents(client);
    const otherEvents = new LinkEvents(other);
    const closed = await client.connect(listener.url, { reconnect: FAST });
    const control = await other.connect(listener.url, { reconnect: FAST });
    await listener.close();
    await events.downCount(1);
    await otherEvents.downCount(1);
    await closed.close();
    assert.equal(closed.state, 'closed');
    assert.equal(events.downs.length, 1, 'no second link-down for a link that was down');
    const counting = await PlainServer.open(port);
    t.after(() => counting.close());
    await waitFor(() => counting.connections >= 1, 2000, "the control link's attempt");
    await quietPeriod(100);
    assert.equal(counting.connections, 1, 'only the control link tried');
    assert.equal(control.state, 'connecting', 'the control link waits for a handshake');
    assert.deepEqual(client.stats().links, [], 'the closed link is gone from stats');
  });

  it('keeps each retry delay under maxDelayMs (counted attempts, not timed)', async (t) => {
    const server = makeBus(t);
    const listener = await server.listen('tcp://127.0.0.1:0');
    const port = portOf(listener.url);
    const client = makeBus(t);
    const events = new LinkEvents(client);
    const link = await client.connect(listener.url, {
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 }
    });
    await listener.close();
    await events.downCount(1);
    // A server that hangs up on every connection: each attempt fails, and is counted here.
    const hangUp = await PlainServer.open(port, true);
    t.after(() => hangUp.close());
    // Uncapped doubling from 1 ms would need 2^29 ms before the 30th attempt; capped at 20 ms, well
    // under a second.
    await waitFor(() => hangUp.connections >= 30, 5000, '30 attempts');
    assert.notEqual(link.state, 'up');
    assert.equal(link.stats().reconnects, 0, 'failed attempts are not reconnects');
    assert.equal(events.ups.length, 1);
    await hangUp.close();
    const again = await server.listen(`tcp://127.0.0.1:${port}`);
    await events.upCount(2);
    assert.equal(again.links.length, 1);
    assert.equal(link.stats().reconnects, 1);
  });
});
