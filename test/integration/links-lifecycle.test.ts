import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Bus, type ConnectOptions, ErrorCode, type ListenOptions } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import { LinkEvents, linkPair, listenUrl, rejectsWith, socketPathOf } from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';

describe('bus.close() and links', () => {
  it('closes its listeners and links; every peer sees a goodbye', async (t) => {
    const url = listenUrl('unix', 'life');
    const middle = new Bus({ id: 'middle' });
    t.after(() => middle.close());
    const upstream = makeBus(t, { id: 'upstream' });
    const downstream = makeBus(t, { id: 'downstream' });
    const up = await upstream.listen('tcp://127.0.0.1:0');
    const listener = await middle.listen(url);
    const out = await middle.connect(up.url, { reconnect: false });
    const inLink = await downstream.connect(listener.url, { reconnect: false });
    const atUpstream = new LinkEvents(upstream);
    const atDownstream = new LinkEvents(downstream);
    const atMiddle = new LinkEvents(middle);

    await middle.close();
    assert.equal(out.state, 'closed');
    assert.deepEqual(listener.links, []);
    assert.equal(atMiddle.downs.length, 2, 'its own links report link-down');
    await atUpstream.downCount(1);
    await atDownstream.downCount(1);
    assert.equal(atUpstream.downs[0].error, undefined, 'a goodbye');
    assert.equal(atDownstream.downs[0].error, undefined, 'a goodbye');
    assert.equal(inLink.state, 'down');
    assert.equal(existsSync(socketPathOf(url)!), false, 'the socket file is removed');
    await rejectsWith(downstream.connect(url, { reconnect: false }), ErrorCode.CONNECT);
    await waitFor(() => up.links.length === 0, 2000, 'the upstream listener forgot the link');
  });

  it('stops a link that is reconnecting', async (t) => {
    const { server, client, link } = await linkPair(t, {
      connect: { reconnect: { initialDelayMs: 1, maxDelayMs: 5 } }
    });
    const events = new LinkEvents(client);
    await server.close();
    await events.downCount(1);
    await client.close();
    assert.equal(link.state, 'closed');
    assert.deepEqual(client.stats().links, []);
  });

  it('is seen by the peer as link-down when the client bus closes', async (t) => {
    const { server, client, listener, accepted } = await linkPair(t);
    const events = new LinkEvents(server);
    await client.close();
    await events.downCount(1);
    assert.equal(events.downs[0].link, accepted);
    assert.equal(events.downs[0].error, undefined);
    await waitFor(() => listener.links.length === 0, 2000, 'the listener forgot it');
  });

  it('rejects listen() and connect() after close with ERR_CLOSED', async () => {
    const bus = new Bus();
    await bus.close();
    await rejectsWith(bus.listen('tcp://127.0.0.1:0'), ErrorCode.CLOSED, /listen/);
    await rejectsWith(bus.connect('tcp://127.0.0.1:1'), ErrorCode.CLOSED, /connect/);
  });
});

describe('URLs and options', () => {
  it('rejects unknown schemes with ERR_UNSUPPORTED_SCHEME', async (t) => {
    const bus = makeBus(t);
    for (const url of ['http://127.0.0.1:1', 'foo://bar', 'TCPX://a:1']) {
      await rejectsWith(bus.listen(url), ErrorCode.UNSUPPORTED_SCHEME, /adapter/);
      await rejectsWith(bus.connect(url), ErrorCode.UNSUPPORTED_SCHEME);
    }
  });

  it('rejects malformed URLs with ERR_INVALID_OPTIONS', async (t) => {
    const bus = makeBus(t);
    for (const url of [
      '',
      'not a url',
      '127.0.0.1:4222',
      'tcp://127.0.0.1',
      'tcp://:4222',
      'unix://relative/path.sock',
      'unix:///'
    ]) {
      await rejectsWith(bus.listen(url), ErrorCode.INVALID_OPTIONS, /url|URL/);
      await rejectsWith(bus.connect(url), ErrorCode.INVALID_OPTIONS, /url|URL/);
    }
    assert.deepEqual(bus.stats().links, []);
  });

  it('rejects an unreachable first connect with ERR_CONNECT and keeps no link', async (t) => {
    const bus = makeBus(t);
    await rejectsWith(
      bus.connect(listenUrl('unix', 'nobody')),
      ErrorCode.CONNECT,
      /ENOENT|ECONNREFUSED/
    );
    const free = await makeBus(t).listen('tcp://127.0.0.1:0');
    const { url } = free;
    await free.close();
    await rejectsWith(bus.connect(url), ErrorCode.CONNECT, /ECONNREFUSED/);
    assert.deepEqual(bus.stats().links, []);
  });

  const badListen: [ListenOptions, RegExp][] = [
    [{ maxConnections: 0 }, /maxConnections/],
    [{ maxSubscriptionsPerLink: 1.5 }, /maxSubscriptionsPerLink/],
    [{ handshakeTimeoutMs: -1 }, /handshakeTimeoutMs/],
    [{ maxFrameBytes: 100 }, /maxFrameBytes/],
    [{ keepaliveMs: 'x' as unknown as number }, /keepaliveMs/],
    [{ overflow: 'drop-all' as 'block' }, /overflow/],
    [{ hopLimit: 0 }, /hopLimit/],
    [{ sendQueueSize: 0 }, /sendQueueSize/],
    [{ codec: {} as never }, /codec/],
    [{ auth: { tokens: { '': {} } } }, /auth|token/],
    [{ auth: { tokens: { t: { publish: ['a..b'] } } } }, /publish/],
    [{ bogus: 1 } as ListenOptions, /bogus/]
  ];
  for (const [options, field] of badListen) {
    it(`listen() rejects ${JSON.stringify(options)} with ERR_INVALID_OPTIONS naming the field`, async (t) => {
      const bus = makeBus(t);
      await rejectsWith(bus.listen('tcp://127.0.0.1:0', options), ErrorCode.INVALID_OPTIONS, field);
    });
  }

  const badConnect: [ConnectOptions, RegExp][] = [
    [{ token: 5 as unknown as string }, /token/],
    [{ reconnect: true as unknown as false }, /reconnect/],
    [{ reconnect: { initialDelayMs: 0 } }, /initialDelayMs/],
    [{ reconnect: { maxDelayMs: -5 } }, /maxDelayMs/],
    [{ reconnect: { delayMs: 5 } as never }, /reconnect has unknown option\(s\) 'delayMs'/],
    [{ connectTimeoutMs: 0 }, /connectTimeoutMs/],
    [{ ca: 5 as never }, /ca must be a PEM string/],
    [{ writeTimeoutMs: 0 }, /writeTimeoutMs/],
    [{ flushIntervalMs: -1 }, /flushIntervalMs/],
    [{ noDelay: 'yes' as unknown as boolean }, /noDelay/],
    [{ maxConnections: 1 } as ConnectOptions, /maxConnections/]
  ];
  for (const [options, field] of badConnect) {
    it(`connect() rejects ${JSON.stringify(options)} with ERR_INVALID_OPTIONS naming the field`, async (t) => {
      const bus = makeBus(t);
      await rejectsWith(
        bus.connect('tcp://127.0.0.1:1', options),
        ErrorCode.INVALID_OPTIONS,
        field
      );
      assert.deepEqual(bus.stats().links, []);
    });
  }
});

describe('listener limits', () => {
  it('refuses subscriptions beyond maxSubscriptionsPerLink with ERR_LIMIT; the others work', async (t) => {
    const got: string[] = [];
    const { server, client, link } = await linkPair(t, {
      listen: { maxSubscriptionsPerLink: 2 },
      before: (_s, c) => {
        c.on('error', () => undefined);
        for (const p of ['a.*', 'b.*', 'c.*']) c.subscribe(p, (m) => void got.push(m.topic));
      }
    });
    const events = new LinkEvents(client);
    // Refusals come back as ERROR frames; a channel subscription (by id) counts as well.
    client.subscribe('d.*', () => undefined, { channel: 'w', qos: 1 });
    await link.flush();
    assert.deepEqual(events.errorCodes, [ErrorCode.LIMIT]);
    assert.match(events.errors[0].message, /'d\.\*'.*maxSubscriptionsPerLink/);
    for (const topic of ['a.x', 'b.x', 'c.x']) server.publish(topic, topic);
    await link.flush();
    assert.deepEqual(got, ['a.x', 'b.x'], 'the first two patterns were accepted, the third not');
    assert.equal(link.state, 'up', 'a refusal is not fatal');
  });
});
