import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Bus, ErrorCode, RingbusError } from '../../adapters/node.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { makeBus } from '../helpers/bus.js';
import {
  LinkEvents,
  collect,
  leaveStaleSocket,
  linkPair,
  patternBytes,
  rejectsWith,
  socketPathOf
} from '../helpers/links.js';
import {
  concat,
  controlFrame,
  frame,
  helloFrame,
  openRawPeer,
  pingFrame,
  pubFrame,
  varint
} from '../helpers/raw-peer.js';
import { prng } from '../helpers/prng.js';
import { nextTurn, waitFor } from '../helpers/wait.js';

/**
 * The behaviour every transport adapter must show, run by each adapter's test file over its own
 * URLs (the aedes-persistence `abstract.js` pattern): framing whatever the chunking, bounded
 * memory toward a peer that stops reading, close semantics, limits and error frames.
 *
 * @param name - the adapter, for test names
 * @param makeUrl - a fresh URL to listen on (port 0, or a new socket path) for every call
 */
export function transportConformance(name: string, makeUrl: () => string): void {
  describe(`${name} transport conformance`, () => {
    describe('framing', () => {
      it('carries byte payloads of many sizes intact and in order, both ways', async (t) => {
        const random = prng(1);
        // Around the varint boundaries of the length prefix (1, 2, 3 bytes), then random sizes.
        const sizes = [0, 1, 2, 100, 127, 128, 129, 16_000, 16_383, 16_384, 16_385, 300_000];
        for (let i = 0; i < 24; i++) sizes.push(Math.floor(random() ** 3 * 200_000));
        const payloads = sizes.map((n, i) => patternBytes(n, i));
        const { server, client, link } = await linkPair(t, {
          url: makeUrl(),
          before: (s, c) => {
            s.subscribe('up', () => undefined);
            c.subscribe('down', () => undefined);
          }
        });
        const atServer = collect<Uint8Array>(server, 'up');
        const atClient = collect<Uint8Array>(client, 'down');
        await link.flush();
        for (const p of payloads) {
          client.publish('up', p);
          server.publish('down', p);
        }
        await waitFor(
          () => atServer.length === payloads.length && atClient.length === payloads.length,
          5000,
          'every payload on both sides'
        );
        for (const got of [atServer, atClient]) {
          assert.deepEqual(
            got.map((m) => m.payload.length),
            sizes,
            'sizes and order'
          );
          got.forEach((m, i) => assert.deepEqual(m.payload, payloads[i], `payload ${i}`));
        }
      });

      it('decodes a byte stream however it is split into chunks', async (t) => {
        const server = makeBus(t);
        const listener = await server.listen(makeUrl());
        const texts: string[] = [];
        for (let i = 0; i < 60; i++) texts.push(`m${i}:` + 'é'.repeat(i * 7)); // up to 2-byte prefixes
        for (const seed of [7, 8, 9]) {
          const random = prng(seed);
          const got = collect<string>(server, `split.${seed}`);
          const stream = concat(
            helloFrame({ bus: `splitter-${seed}` }),
            ...texts.map((text) => pubFrame(0, `split.${seed}`, text)),
            pingFrame(1)
          );
          const peer = await openRawPeer(listener.url);
          try {
            // Chunks of 1 to 40 bytes: prefixes, type bytes and UTF-8 sequences get split.
            const chunks: Uint8Array[] = [];
            for (let at = 0; at < stream.length;) {
              const n = 1 + Math.floor(random() * 40);
              chunks.push(stream.subarray(at, at + n));
              at += n;
            }
            await peer.writeChunks(chunks);
            await peer.waitForFrame(FrameType.PONG);
            await waitFor(() => got.length === texts.length, 2000, `seed ${seed}: every message`);
            assert.deepEqual(
              got.map((m) => m.payload),
              texts,
              `seed ${seed}`
            );
            assert.deepEqual(peer.errors(), [], 'no error frame');
          } finally {
            peer.destroy();
          }
        }
      });
    });

    describe('backpressure', () => {
      /** A raw peer that wants `bp.>` and then stops reading. */
      async function stalledPeer(url: string) {
        const peer = await openRawPeer(url);
        let bytesRead = 0;
        peer.onData((chunk) => void (bytesRead += chunk.length));
        await peer.write(helloFrame({ bus: 'stalled' }));
        await peer.write(controlFrame(FrameType.INTEREST, { pattern: 'bp.>' }));
        await peer.write(pingFrame(1));
        await peer.waitForFrame(FrameType.PONG); // the interest is registered
        peer.pause();
        return { peer, bytesRead: () => bytesRead };
      }

      it('bounds the send queue toward a peer that stops reading, and counts the drops', async (t) => {
        const server = makeBus(t);
        const sendQueueSize = 64;
        const listener = await server.listen(makeUrl(), { sendQueueSize });
        const { peer, bytesRead } = await stalledPeer(listener.url);
        t.after(() => peer.destroy());
        const accepted = listener.links[0];
        const payload = new Uint8Array(1024);
        const published = 20_000; // 20 MB: far more than any socket buffer
        for (let i = 0; i < published; i += 200) {
          for (let j = 0; j < 200; j++) server.publish('bp.data', payload);
          await nextTurn(); // lets the writer flush and the socket fill
        }
        const s = accepted.stats();
        assert.ok(s.dropped > 0, 'the send queue dropped messages');
        assert.ok(s.queued <= sendQueueSize, `queued ${s.queued} <= sendQueueSize`);
        assert.equal(
          s.messagesOut + s.queued + s.dropped,
          published,
          'every message was sent, is queued or was dropped (counted)'
        );
        assert.ok(s.messagesOut < published, 'the sender stopped encoding for the stalled peer');
        assert.ok(
          s.bytesOut < published * payload.length,
          'what was handed to the socket is bounded'
        );
        assert.equal(server.stats().totals.dropped.overflow, s.dropped, 'the bus counts them too');
        assert.equal(accepted.state, 'up', 'a slow peer is not dropped before writeTimeoutMs');

        // Once the peer reads again, it gets everything that was sent and the rest flows.
        peer.resume();
        await waitFor(
          () => accepted.stats().queued === 0 && bytesRead() >= accepted.stats().bytesOut,
          5000,
          'the peer read everything the server sent'
        );
        const after = accepted.stats();
        assert.equal(after.messagesOut + after.dropped, published);
      });

      it('drops a peer that reads nothing for writeTimeoutMs with ERR_TIMEOUT', async (t) => {
        const server = makeBus(t);
        const events = new LinkEvents(server);
        const listener = await server.listen(makeUrl(), { sendQueueSize: 16, writeTimeoutMs: 100 });
        const { peer } = await stalledPeer(listener.url);
        t.after(() => peer.destroy());
        const payload = new Uint8Array(4096);
        // Keep publishing until the socket is full and the stall timer fires.
        while (events.downs.length === 0) {
          for (let j = 0; j < 100; j++) server.publish('bp.data', payload);
          await new Promise((resolve) => setTimeout(resolve, 5));
          assert.ok(server.stats().totals.published < 1_000_000, 'the peer was never dropped');
        }
        assert.equal(events.downs[0].error?.code, ErrorCode.TIMEOUT);
        assert.match(events.downs[0].error.message, /writeTimeoutMs/);
        assert.equal(listener.links.length, 0);
        assert.equal(events.downs[0].link.state, 'closed');
      });
    });

    describe('close semantics', () => {
      it('listener.close() closes the links it accepted; the peer sees a goodbye', async (t) => {
        const { server, client, listener, link, accepted } = await linkPair(t, { url: makeUrl() });
        const atClient = new LinkEvents(client);
        const atServer = new LinkEvents(server);
        await listener.close();
        await atClient.downCount(1);
        assert.equal(atClient.downs[0].link, link);
        assert.equal(atClient.downs[0].error, undefined, 'a goodbye, not an error');
        assert.equal(link.state, 'down', 'reconnect: false stays down');
        assert.equal(accepted.state, 'closed');
        assert.deepEqual(listener.links, []);
        assert.deepEqual(server.stats().links, [], 'the server holds no link');
        assert.equal(atServer.downs.length, 1, 'the server reports its accepted link down once');
        await listener.close(); // idempotent
        await rejectsWith(link.flush(), ErrorCode.LINK_DOWN);
      });

      it('link.close() says goodbye: the peer sees link-down without an error', async (t) => {
        const { server, client, listener, link, accepted } = await linkPair(t, { url: makeUrl() });
        const atClient = new LinkEvents(client);
        const atServer = new LinkEvents(server);
        await link.close();
        assert.equal(link.state, 'closed');
        await atServer.downCount(1);
        assert.equal(atServer.downs[0].link, accepted);
        assert.equal(atServer.downs[0].error, undefined);
        assert.equal(accepted.state, 'closed');
        await waitFor(() => listener.links.length === 0, 2000, 'the listener forgot the link');
        assert.equal(atClient.downs.length, 1, 'the closing side reports link-down too');
        assert.equal(atClient.downs[0].error, undefined);
        assert.deepEqual(client.stats().links, []);
        await link.close(); // idempotent
        assert.equal(atClient.downs.length, 1);
        await rejectsWith(link.publish('x', 1), ErrorCode.LINK_DOWN);
      });

      it('the same URL can be listened on again after close()', async (t) => {
        const first = makeBus(t);
        const l1 = await first.listen(makeUrl());
        const url = l1.url; // with the real port for TCP
        await l1.close();
        const path = socketPathOf(url);
        if (path !== undefined) assert.equal(existsSync(path), false, 'the socket file is gone');
        const second = makeBus(t);
        const l2 = await second.listen(url);
        assert.equal(l2.url, url);
        const client = makeBus(t);
        const link = await client.connect(url, { reconnect: false });
        assert.equal(link.peer, second.id);
      });

      it('refuses to listen where another listener is active, which keeps working', async (t) => {
        const first = makeBus(t);
        const l1 = await first.listen(makeUrl());
        const other = makeBus(t);
        await rejectsWith(other.listen(l1.url), ErrorCode.CONNECT, /EADDRINUSE/);
        const client = makeBus(t);
        const link = await client.connect(l1.url, { reconnect: false });
        assert.equal(link.peer, first.id);
      });

      // Only transports with socket files: a file outlives the process that listened.
      if (socketPathOf(makeUrl()) !== undefined)
        it('listens on a Unix path a dead process left its socket file at', async (t) => {
          const url = makeUrl();
          const path = socketPathOf(url)!;
          await leaveStaleSocket(path);
          const server = makeBus(t);
          const listener = await server.listen(url);
          const client = makeBus(t);
          const link = await client.connect(listener.url, { reconnect: false });
          assert.equal(link.state, 'up');
          await server.close();
          assert.equal(existsSync(path), false, 'close() removed the socket file');
        });
    });

    describe('errors and limits', () => {
      it('enforces maxFrameBytes on what a peer sends, closing only that connection', async (t) => {
        const { server, listener, link } = await linkPair(t, {
          url: makeUrl(),
          listen: { maxFrameBytes: 4096 }
        });
        const events = new LinkEvents(server);
        const peer = await openRawPeer(listener.url);
        t.after(() => peer.destroy());
        await peer.write(helloFrame({ bus: 'big-sender' }));
        await peer.waitForFrame(FrameType.HELLO);
        // Only the length prefix: the limit is checked before any byte of the body.
        await peer.write(varint(4097));
        await peer.closed;
        assert.deepEqual(
          peer.errors().map((e) => [e.code, e.fatal]),
          [[ErrorCode.FRAME_TOO_LARGE, true]]
        );
        await waitFor(() => events.downs.length === 1, 2000, 'link-down for the big sender');
        assert.equal(events.downs[0].error?.code, ErrorCode.FRAME_TOO_LARGE);
        await link.flush(); // the other link is unaffected
        assert.equal(link.state, 'up');
      });

      it('sends nothing larger than the peer accepts: ERR_FRAME_TOO_LARGE, the link stays up', async (t) => {
        const { server, client, link, accepted } = await linkPair(t, {
          url: makeUrl(),
          listen: { maxFrameBytes: 4096 },
          before: (_s, c) => void c.subscribe('big', () => undefined)
        });
        const got = collect<Uint8Array>(client, 'big');
        const serverEvents = new LinkEvents(server);
        // The client may not send the listener a frame above its 4096 bytes.
        await rejectsWith(
          link.publish('big', new Uint8Array(5000), { qos: 1 }),
          ErrorCode.FRAME_TOO_LARGE
        );
        // The listener's own limit (4096) caps what it sends the client, too.
        server.publish('big', new Uint8Array(8000));
        server.publish('big', new Uint8Array(10));
        await link.flush();
        await waitFor(() => got.length === 1, 2000, 'the small message');
        assert.equal(got[0].payload.length, 10);
        assert.deepEqual(serverEvents.errorCodes, [ErrorCode.FRAME_TOO_LARGE]);
        assert.equal(accepted.stats().refused, 1);
        assert.equal(link.state, 'up');
        assert.equal(accepted.state, 'up');
        await link.publish('big', new Uint8Array(100), { qos: 1 });
      });

      it('refuses connections over maxConnections with ERR_LIMIT', async (t) => {
        const server = makeBus(t);
        const listener = await server.listen(makeUrl(), { maxConnections: 1 });
        const first = makeBus(t);
        const link = await first.connect(listener.url, { reconnect: false });
        const second = makeBus(t);
        const err = await rejectsWith(
          second.connect(listener.url, { reconnect: false }),
          ErrorCode.CONNECT,
          /maxConnections/
        );
        assert.ok(err.cause instanceof RingbusError);
        assert.equal(err.cause.code, ErrorCode.LIMIT);
        // A raw peer over the limit is told why before the connection closes.
        const peer = await openRawPeer(listener.url);
        t.after(() => peer.destroy());
        await peer.closed;
        assert.deepEqual(
          peer.errors().map((e) => [e.code, e.fatal]),
          [[ErrorCode.LIMIT, true]]
        );
        assert.equal(listener.links.length, 1);
        await link.flush();
        // The limit counts links at once: after the first leaves, another gets in.
        await link.close();
        await waitFor(() => listener.links.length === 0, 2000, 'the first link gone');
        const third = new Bus();
        t.after(() => third.close());
        const again = await third.connect(listener.url, { reconnect: false });
        assert.equal(again.state, 'up');
      });

      it('answers a garbage frame with a fatal ERROR and closes only that connection', async (t) => {
        const { server, listener, link } = await linkPair(t, { url: makeUrl() });
        const events = new LinkEvents(server);
        const peer = await openRawPeer(listener.url);
        t.after(() => peer.destroy());
        await peer.write(frame([0x7f, 1, 2, 3])); // an unknown frame type before any HELLO
        await peer.closed;
        assert.deepEqual(
          peer.errors().map((e) => [e.code, e.fatal]),
          [[ErrorCode.PROTOCOL, true]]
        );
        await waitFor(() => listener.links.length === 1, 2000, 'only the healthy link left');
        assert.deepEqual(events.downs, [], 'a link that never came up does not go down');
        await link.flush();
      });
    });
  });
}
