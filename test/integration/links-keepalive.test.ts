import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../adapters/node.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { makeBus } from '../helpers/bus.js';
import { LinkEvents, LinkProxy, PlainServer, linkPair, rejectsWith } from '../helpers/links.js';
import { helloFrame, openRawPeer } from '../helpers/raw-peer.js';
import { waitFor } from '../helpers/wait.js';

describe('keepalive and timeouts', () => {
  it('detects a peer that stops responding on both sides (ERR_TIMEOUT)', async (t) => {
    const server = makeBus(t);
    const client = makeBus(t);
    const atServer = new LinkEvents(server);
    const atClient = new LinkEvents(client);
    const listener = await server.listen('tcp://127.0.0.1:0', { keepaliveMs: 50 });
    const proxy = await LinkProxy.open(listener.url);
    t.after(() => proxy.close());
    const link = await client.connect(proxy.url, { keepaliveMs: 50, reconnect: false });
    proxy.freeze(); // both sockets stay open, but nothing gets through any more
    await atClient.downCount(1, 3000);
    await atServer.downCount(1, 3000);
    assert.equal(atClient.downs[0].error?.code, ErrorCode.TIMEOUT);
    assert.match(atClient.downs[0].error.message, /keepalive/);
    assert.equal(atServer.downs[0].error?.code, ErrorCode.TIMEOUT);
    assert.equal(link.state, 'down');
    assert.equal(listener.links.length, 0);
  });

  it('drops a peer that completed the handshake but answers no PING', async (t) => {
    const server = makeBus(t);
    const events = new LinkEvents(server);
    const listener = await server.listen('tcp://127.0.0.1:0', { keepaliveMs: 50 });
    const peer = await openRawPeer(listener.url);
    t.after(() => peer.destroy());
    await peer.write(helloFrame({ bus: 'mute', keepaliveMs: 0 }));
    await peer.waitForFrame(FrameType.HELLO);
    await events.downCount(1, 3000);
    assert.equal(events.downs[0].error?.code, ErrorCode.TIMEOUT);
    await peer.closed;
    const types = peer.frames().map((f) => f.type);
    assert.ok(types.includes(FrameType.PING), 'the server pinged first');
    assert.deepEqual(
      peer.errors().map((e) => [e.code, e.fatal]),
      [[ErrorCode.TIMEOUT, true]],
      'and said why it hung up'
    );
  });

  it('drops a silent peer within 2 keepalive intervals of its last frame', async (t) => {
    const every = 200;
    const server = makeBus(t);
    const events = new LinkEvents(server);
    const listener = await server.listen('tcp://127.0.0.1:0', { keepaliveMs: every });
    const peer = await openRawPeer(listener.url);
    t.after(() => peer.destroy());
    await peer.write(helloFrame({ bus: 'mute', keepaliveMs: 0 }));
    // Timers fire in the order they are due, so a late event loop delays this one as much as the
    // link's own: the link is down before it fires iff it gave up within 2.25 intervals.
    let due = false;
    const timer = setTimeout(() => (due = true), 2.25 * every);
    t.after(() => clearTimeout(timer));
    await events.downCount(1, 10 * every);
    assert.equal(due, false, 'the link went down within 2.25 keepalive intervals');
    assert.equal(events.downs[0].error?.code, ErrorCode.TIMEOUT);
    const pings = peer.frames().filter((f) => f.type === FrameType.PING).length;
    assert.ok(pings >= 1 && pings <= 2, `one PING per interval before that (got ${pings})`);
  });

  it('keeps a live link up through a handler that blocks the thread for 5 intervals', async (t) => {
    const { server, client, link } = await linkPair(t, {
      connect: { keepaliveMs: 100 },
      before: (_s, c) =>
        void c.subscribe('block', () => {
          const until = performance.now() + 500;
          while (performance.now() < until); // a handler that hogs the event loop
        })
    });
    const events = new LinkEvents(client);
    server.publish('block', 1);
    await link.flush(); // the handler has run by the time the PONG is read
    await link.flush();
    assert.equal(link.state, 'up');
    assert.deepEqual(events.downs, [], 'its answers were waiting in the socket, unread');
  });

  it('keeps a healthy idle link up across many keepalive intervals', async (t) => {
    const { client, link, accepted } = await linkPair(t, {
      listen: { keepaliveMs: 20 },
      connect: { keepaliveMs: 20 }
    });
    const events = new LinkEvents(client);
    const start = link.stats().framesIn;
    // PINGs from the server and PONGs to the client's PINGs: at least 10 intervals pass.
    await waitFor(() => link.stats().framesIn - start >= 20, 3000, '20 keepalive frames');
    assert.equal(link.state, 'up');
    assert.equal(accepted.state, 'up');
    assert.deepEqual(events.downs, []);
  });

  it('rejects connect() with ERR_CONNECT when the peer never completes the handshake', async (t) => {
    const silent = await PlainServer.open(0);
    t.after(() => silent.close());
    const client = makeBus(t);
    await rejectsWith(
      client.connect(silent.url, { connectTimeoutMs: 100 }),
      ErrorCode.CONNECT,
      /100 ms|handshake/
    );
    assert.equal(silent.connections, 1, 'a first connect is not retried');
    await waitFor(
      () => silent.sockets[0].destroyed || silent.sockets[0].readableEnded,
      2000,
      'the client hung up'
    );
    assert.deepEqual(client.stats().links, []);
  });

  it('drops a connection that sends no HELLO within handshakeTimeoutMs', async (t) => {
    const server = makeBus(t);
    const listener = await server.listen('tcp://127.0.0.1:0', { handshakeTimeoutMs: 50 });
    const peer = await openRawPeer(listener.url);
    t.after(() => peer.destroy());
    await peer.closed;
    assert.deepEqual(
      peer.errors().map((e) => [e.code, e.fatal]),
      [[ErrorCode.TIMEOUT, true]]
    );
    assert.equal(listener.links.length, 0);
  });
});
