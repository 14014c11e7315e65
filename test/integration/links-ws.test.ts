import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type Server, createServer, get } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Bus, ErrorCode } from '../../adapters/node.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { transportConformance } from '../conformance/transport.js';
import { makeBus } from '../helpers/bus.js';
import { type LinkPair, LinkProxy, collect, linkPair, rejectsWith } from '../helpers/links.js';
import { helloFrame, openRawPeer, pingFrame } from '../helpers/raw-peer.js';

transportConformance('ws', () => 'ws://127.0.0.1:0/bus');

/** An HTTP server of the test's own on a free loopback port, closed when the test ends. */
async function httpServer(t: { after(fn: () => unknown): void }): Promise<Server> {
  const server = createServer((_req, res) => res.end('plain http'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

/** Status code of an HTTP request (a WebSocket upgrade when `origin` is given). */
function statusOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });
}

/** What an upgrade attempt gets: 'open' or the HTTP status that refused it. */
function upgrade(url: string, origin?: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(String(res.statusCode));
      ws.terminate();
    });
    ws.once('error', (err) => resolve(err.message));
  });
}

/** Publishes `text` on `topic` at the pair's server; the client's `pattern` subscriber gets it. */
async function crosses(
  pair: LinkPair,
  pattern: string,
  topic: string,
  text: string
): Promise<void> {
  const got = collect<string>(pair.client, pattern);
  pair.server.publish(topic, text);
  await pair.link.flush();
  assert.deepEqual(
    got.map((m) => m.payload),
    [text]
  );
}

/** The test key and self-signed certificate of test/fixtures/tls. */
function tlsFixture(): { key: Buffer; cert: string } {
  const dir = new URL('../../../test/fixtures/tls/', import.meta.url);
  return {
    key: readFileSync(new URL('key.pem', dir)),
    cert: readFileSync(new URL('cert.pem', dir), 'utf8')
  };
}

describe('WebSocket listener', () => {
  it("attaches to an existing http.Server on its path; other paths and plain HTTP stay the server's", async (t) => {
    const http = await httpServer(t);
    const { port } = http.address() as AddressInfo;
    const pair = await linkPair(t, {
      url: `ws://127.0.0.1:${port}/bus`,
      listen: { httpServer: http },
      before: (_s, c) => void c.subscribe('news.*', () => undefined)
    });
    const { listener } = pair;
    assert.equal(listener.url, `ws://127.0.0.1:${port}/bus`);
    await crosses(pair, 'news.*', 'news.a', 'over ws');
    assert.equal(await statusOf(`http://127.0.0.1:${port}/`), 200, "plain HTTP is the server's");
    await listener.close();
    assert.equal(http.listening, true, 'closing the listener leaves the server running');
  });

  it('answers plain HTTP on its own server with 426 and unknown paths with 404', async (t) => {
    const bus = makeBus(t);
    const listener = await bus.listen('ws://127.0.0.1:0/bus');
    const http = listener.url.replace(/^ws:/u, 'http:');
    assert.equal(await statusOf(http), 426);
    assert.equal(await upgrade(listener.url.replace(/\/bus$/u, '/other')), '404');
  });

  it('refuses an Origin outside `origins` with 403; listed origins and clients without one get in', async (t) => {
    const bus = makeBus(t);
    const listener = await bus.listen('ws://127.0.0.1:0/bus', {
      origins: ['https://app.example.com']
    });
    assert.equal(await upgrade(listener.url, 'https://evil.example.com'), '403');
    assert.equal(await upgrade(listener.url, 'https://app.example.com'), 'open');
    assert.equal(await upgrade(listener.url), 'open');
  });

  it('rejects wss:// without tls or an https server, and an httpServer that is not one', async (t) => {
    const bus = makeBus(t);
    await rejectsWith(
      bus.listen('wss://127.0.0.1:0/bus'),
      ErrorCode.INVALID_OPTIONS,
      /tls: \{ key, cert \} or an https\.Server/u
    );
    const { key, cert } = tlsFixture();
    await rejectsWith(
      bus.listen('ws://127.0.0.1:0/bus', { tls: { key, cert } }),
      ErrorCode.INVALID_OPTIONS,
      /tls applies to wss:\/\/ only/u
    );
    const https = createHttpsServer({ key, cert });
    await rejectsWith(
      bus.listen('wss://127.0.0.1:0/bus', { tls: { key, cert }, httpServer: https }),
      ErrorCode.INVALID_OPTIONS,
      /not both/u
    );
    await rejectsWith(
      bus.listen('wss://127.0.0.1:0/bus', { tls: { key: 5, cert } as never }),
      ErrorCode.INVALID_OPTIONS,
      /tls\.key/u
    );
    await rejectsWith(
      bus.listen('ws://127.0.0.1:0/bus', { httpServer: {} }),
      ErrorCode.INVALID_OPTIONS,
      /httpServer/u
    );
    await rejectsWith(
      bus.listen('ws://127.0.0.1:0/bus', { origins: 'x' as never }),
      ErrorCode.INVALID_OPTIONS,
      /origins/u
    );
  });

  it('listens on wss:// on a port of its own with tls: { key, cert }', async (t) => {
    const { key, cert } = tlsFixture();
    const pair = await linkPair(t, {
      url: 'wss://127.0.0.1:0/bus',
      listen: { tls: { key: new Uint8Array(key), cert } },
      connect: { ca: cert },
      before: (_s, c) => void c.subscribe('secure', () => undefined)
    });
    assert.match(pair.listener.url, /^wss:\/\/127\.0\.0\.1:[1-9]\d*\/bus$/u);
    await crosses(pair, 'secure', 'secure', 'over TLS');
  });

  it('links over wss:// through an https.Server, trusting the CA given in `ca`', async (t) => {
    const { key, cert } = tlsFixture();
    const https = createHttpsServer({ cert, key });
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    const { port } = https.address() as AddressInfo;
    const pair = await linkPair(t, {
      url: `wss://127.0.0.1:${port}/bus`,
      listen: { httpServer: https },
      connect: { ca: cert },
      before: (_s, c) => void c.subscribe('secure', () => undefined)
    });
    const { listener } = pair;
    // After the buses' own hooks (they run in order): a server closes once its sockets are gone.
    t.after(() => new Promise<void>((resolve) => https.close(() => resolve())));
    assert.equal(listener.url, `wss://127.0.0.1:${port}/bus`);
    await crosses(pair, 'secure', 'secure', 'over TLS');
    // Without the CA, Node does not trust a self-signed server.
    const stranger = makeBus(t);
    await rejectsWith(
      stranger.connect(listener.url, { reconnect: false }),
      ErrorCode.CONNECT,
      /self-signed/u
    );
  });

  it('leaves permessage-deflate off unless both ends ask; then links compress', async (t) => {
    const offer = async (url: string): Promise<string> => {
      const ws = new WebSocket(url, { perMessageDeflate: true });
      await once(ws, 'open');
      const extensions = ws.extensions;
      ws.terminate();
      return extensions;
    };
    const plain = await makeBus(t).listen('ws://127.0.0.1:0/bus');
    assert.equal(await offer(plain.url), '', 'a listener declines it by default');
    const server = makeBus(t);
    const listener = await server.listen('ws://127.0.0.1:0/bus', { perMessageDeflate: true });
    assert.match(await offer(listener.url), /permessage-deflate/u, 'accepted when asked');
    // Through a TCP proxy that counts what crosses the wire.
    const proxy = await LinkProxy.open(listener.url.replace('ws:', 'tcp:'));
    t.after(() => proxy.close());
    const client = makeBus(t);
    const got = collect<string>(client, 'big');
    const link = await client.connect(`${proxy.url.replace('tcp:', 'ws:')}/bus`, {
      perMessageDeflate: true,
      reconnect: false
    });
    const text = 'abc'.repeat(100_000);
    const before = proxy.bytes;
    server.publish('big', text);
    await link.flush();
    assert.equal(got[0]?.payload, text);
    const wire = proxy.bytes - before;
    assert.ok(wire < text.length / 10, `${wire} bytes crossed for ${text.length} of text`);
  });

  it('closes only the socket that sends a text message or one over maxPayload', async (t) => {
    const bus = makeBus(t);
    const listener = await bus.listen('ws://127.0.0.1:0/bus', { maxFrameBytes: 4096 });
    const good = new Bus();
    t.after(() => good.close());
    const got = collect<string>(good, 'ok');
    const link = await good.connect(listener.url, { reconnect: false });

    const text = new WebSocket(listener.url);
    await once(text, 'open');
    text.send('hello?');
    const [textCode] = (await once(text, 'close')) as [number];
    assert.equal(textCode, 1003);

    // 64 KiB is the most any message may hold beyond one whole frame of maxFrameBytes.
    const big = new WebSocket(listener.url);
    await once(big, 'open');
    big.send(new Uint8Array(64 * 1024 + 1));
    const [bigCode] = (await once(big, 'close')) as [number];
    assert.equal(bigCode, 1009);

    bus.publish('ok', 'still here');
    await link.flush();
    assert.deepEqual(
      got.map((m) => m.payload),
      ['still here']
    );
  });

  it('decodes frames cut across WebSocket messages', async (t) => {
    const bus = makeBus(t);
    const listener = await bus.listen('ws://127.0.0.1:0/bus');
    const peer = await openRawPeer(listener.url);
    t.after(() => peer.destroy());
    const stream = Buffer.concat([helloFrame({ bus: 'cut' }), pingFrame(7)]);
    // One byte per message: every frame straddles messages.
    await peer.writeChunks(Array.from(stream, (b) => Uint8Array.of(b)));
    await peer.waitForFrame(FrameType.PONG);
    assert.deepEqual(peer.errors(), []);
  });
});
