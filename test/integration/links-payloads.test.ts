import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus, ErrorCode, type Message } from '../../adapters/node.js';
import { mapCodec } from '../helpers/map-codec.js';
import { LinkEvents, collect, linkPair, listenUrl, rejectsWith } from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';

describe('payloads across a link', () => {
  it('delivers bytes as a plain Uint8Array copy, whatever view or Buffer was published', async (t) => {
    const { server, client, link } = await linkPair(t, {
      url: listenUrl('unix'),
      before: (_s, c) => void c.subscribe('bytes', () => undefined)
    });
    const got = collect<Uint8Array>(client, 'bytes');
    const backing = Uint8Array.from([9, 9, 1, 2, 3, 9]);
    server.publish('bytes', Buffer.from([1, 2, 3]));
    server.publish('bytes', backing.subarray(2, 5)); // a view with an offset
    server.publish('bytes', new Uint8Array(0));
    await link.flush();
    assert.equal(got.length, 3);
    for (const m of got) {
      assert.equal(Object.getPrototypeOf(m.payload), Uint8Array.prototype, 'a plain Uint8Array');
      assert.equal(Buffer.isBuffer(m.payload), false);
    }
    assert.deepEqual(got[0].payload, Uint8Array.from([1, 2, 3]));
    assert.deepEqual(got[1].payload, Uint8Array.from([1, 2, 3]));
    assert.equal(got[2].payload.length, 0);
    // Later traffic must not overwrite a payload already delivered (no view of a reused chunk).
    const kept = got[0].payload;
    for (let i = 0; i < 200; i++) server.publish('bytes', new Uint8Array(64).fill(0xee));
    await link.flush();
    assert.deepEqual(kept, Uint8Array.from([1, 2, 3]));
    kept[0] = 42;
    assert.deepEqual(got[1].payload, Uint8Array.from([1, 2, 3]), 'each delivery has its own copy');
  });

  it('delivers strings unchanged: empty, non-ASCII, emoji, a leading BOM', async (t) => {
    const strings = [
      '',
      'plain ascii',
      'héllo wörld — ça va?',
      '日本語のテキスト',
      '👋🏽 family: 👨‍👩‍👧‍👦, flag: 🇫🇷',
      '\uFEFFstarts with a BOM',
      'nul \u0000 inside',
      'x'.repeat(70_000)
    ];
    const { server, client, link } = await linkPair(t, {
      before: (s, c) => {
        s.subscribe('text', () => undefined);
        c.subscribe('text', () => undefined);
      }
    });
    const atClient = collect<string>(client, 'text');
    const atServer = collect<string>(server, 'text');
    for (const s of strings) server.publish('text', s);
    for (const s of strings) await link.publish('text', s, { qos: 1 }); // PUB frames too
    await link.flush();
    assert.deepEqual(
      atClient.map((m) => m.payload),
      strings
    );
    assert.deepEqual(
      atServer.map((m) => m.payload),
      [...strings, ...strings]
    );
    for (const m of atClient) assert.equal(typeof m.payload, 'string');
  });

  it('delivers undefined as undefined and everything else as JSON', async (t) => {
    const { server, client, link } = await linkPair(t, {
      before: (_s, c) => void c.subscribe('json.*', () => undefined)
    });
    const got = collect(client, 'json.*');
    const values: [string, unknown, unknown][] = [
      ['json.undefined', undefined, undefined],
      ['json.null', null, null],
      ['json.zero', 0, 0],
      ['json.number', -1.5e300, -1.5e300],
      ['json.true', true, true],
      ['json.false', false, false],
      [
        'json.object',
        { a: 1, b: [1, 'two', { c: null }], ü: 'ß' },
        { a: 1, b: [1, 'two', { c: null }], ü: 'ß' }
      ],
      ['json.array', [1, [2, [3]], {}], [1, [2, [3]], {}]],
      ['json.date', new Date(0), '1970-01-01T00:00:00.000Z'],
      ['json.map', new Map([['k', 1]]), {}]
    ];
    for (const [topic, value] of values) server.publish(topic, value);
    await link.flush();
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload]),
      values.map(([topic, , expected]) => [topic, expected])
    );
    assert.ok('payload' in got[0] && got[0].payload === undefined);
  });

  it('encodes other payloads with a codec on both ends; bytes and strings bypass it', async (t) => {
    const { server, client, link } = await linkPair(t, {
      listen: { codec: mapCodec },
      connect: { codec: mapCodec },
      before: (s, c) => {
        s.subscribe('up', () => undefined);
        c.subscribe('down', () => undefined);
      }
    });
    const down = collect(client, 'down');
    const up = collect(server, 'up');
    server.publish('down', new Map([['hp', 10]]));
    server.publish('down', new Set([1, 2]));
    server.publish('down', 'text');
    server.publish('down', Uint8Array.of(1));
    server.publish('down', undefined);
    client.publish('up', new Map([['x', [1, 2]]]));
    await link.flush();
    await link.publish('up', new Set(['a']), { qos: 1 });
    await link.flush();
    assert.deepEqual(
      down.map((m) => m.payload),
      [new Map([['hp', 10]]), new Set([1, 2]), 'text', Uint8Array.of(1), undefined]
    );
    assert.deepEqual(
      up.map((m) => m.payload),
      [new Map([['x', [1, 2]]]), new Set(['a'])]
    );
  });

  it('fans one message out to links with and without a codec, each getting its own encoding', async (t) => {
    // The hub encodes an interest delivery once and lets other links write the same bytes: only
    // links with the same codec may share them, and a message with a TTL is not shared at all.
    const hub = new Bus({ id: 'hub' });
    const buses: Bus[] = [];
    t.after(async () => {
      await Promise.all(buses.map((b) => b.close()));
      await hub.close();
    });
    const plain = await hub.listen('tcp://127.0.0.1:0');
    const coded = await hub.listen(listenUrl('unix'), { codec: mapCodec });
    const received: Message[][] = [];
    for (const [url, codec] of [
      [plain.url, undefined],
      [coded.url, mapCodec],
      [plain.url, undefined],
      [coded.url, mapCodec]
    ] as const) {
      const bus = new Bus();
      buses.push(bus);
      received.push(collect(bus, 'fan.>'));
      await bus.connect(url, { reconnect: false, ...(codec === undefined ? {} : { codec }) });
    }
    const bytes = Uint8Array.from({ length: 200 }, (_, i) => i);
    hub.publish('fan.map', new Map([['k', 1]]));
    hub.publish('fan.bytes', bytes);
    hub.publish('fan.ttl', 'soon', { ttlMs: 60_000 });
    hub.publish('fan.text', 'héllo');
    await Promise.all([...plain.links, ...coded.links].map((l) => l.flush()));
    for (const [i, got] of received.entries()) {
      const withCodec = i % 2 === 1;
      assert.deepEqual(
        got.map((m) => [m.topic, m.payload]),
        [
          ['fan.map', withCodec ? new Map([['k', 1]]) : {}],
          ['fan.bytes', bytes],
          ['fan.ttl', 'soon'],
          ['fan.text', 'héllo']
        ],
        `subscriber ${i}`
      );
    }
  });

  it('never shares a frame with a link whose peer takes smaller frames than its encoder', async (t) => {
    // The first link encodes the fan-out and the others write the same bytes: a peer with a
    // smaller maxFrameBytes must get the link's own refusal (counted), not a frame it rejects.
    const hub = new Bus({ id: 'hub-limits' });
    const large = new Bus({ id: 'large' });
    const small = new Bus({ id: 'small' });
    t.after(async () => {
      await Promise.all([large.close(), small.close()]);
      await hub.close();
    });
    const listener = await hub.listen('tcp://127.0.0.1:0');
    const toLarge = collect<Uint8Array>(large, 'big.>');
    const toSmall = collect<Uint8Array>(small, 'big.>');
    const smallEvents = new LinkEvents(small);
    await large.connect(listener.url, { reconnect: false });
    const smallLink = await small.connect(listener.url, { reconnect: false, maxFrameBytes: 4096 });
    hub.publish('big.a', new Uint8Array(8000));
    hub.publish('big.b', new Uint8Array(100));
    await Promise.all(listener.links.map((l) => l.flush()));
    assert.deepEqual(
      toLarge.map((m) => m.payload.length),
      [8000, 100]
    );
    assert.deepEqual(
      toSmall.map((m) => m.payload.length),
      [100]
    );
    assert.equal(smallLink.state, 'up');
    assert.deepEqual([smallEvents.downs, smallEvents.errorCodes], [[], []]);
    const refused = listener.links.map((l) => l.stats().refused).sort();
    assert.deepEqual(refused, [0, 1], 'the small peer’s link refused the large message');
  });

  it('closes a link that receives a codec payload without a codec (ERR_PROTOCOL)', async (t) => {
    const { server, client, link } = await linkPair(t, {
      connect: { codec: mapCodec },
      before: (s) => void s.subscribe('up', () => undefined)
    });
    const atServer = new LinkEvents(server);
    const atClient = new LinkEvents(client);
    client.publish('up', { any: 'object' });
    await atServer.downCount(1);
    assert.equal(atServer.downs[0].error?.code, ErrorCode.PROTOCOL);
    await atClient.downCount(1);
    assert.equal(link.state, 'down');
  });

  it('does not send a payload JSON cannot encode: ERR_PAYLOAD, counted, the link stays up', async (t) => {
    const { server, client, link, accepted } = await linkPair(t, {
      before: (_s, c) => void c.subscribe('odd', () => undefined)
    });
    const got = collect(client, 'odd');
    const events = new LinkEvents(server);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    server.publish('odd', 10n);
    server.publish('odd', cycle);
    server.publish('odd', 'fine');
    await link.flush();
    assert.deepEqual(
      got.map((m) => m.payload),
      ['fine']
    );
    assert.deepEqual(events.errorCodes, [ErrorCode.PAYLOAD, ErrorCode.PAYLOAD]);
    assert.equal(accepted.stats().refused, 2);
    await rejectsWith(link.publish('odd', 10n, { qos: 1 }), ErrorCode.PAYLOAD);
    assert.equal(link.state, 'up');
    assert.equal(accepted.state, 'up');
  });

  it('keeps headers, TTL and the home id; a TTL still expires on the receiving bus', async (t) => {
    const { server, client, link } = await linkPair(t, { before: (s) => s.publish('warm.up', 0) });
    const sub = client.subscribe('meta'); // pull: messages wait in the queue
    const local = collect(server, 'meta');
    await link.flush();
    const headers = { 'x-trace': 'abc', 'x-ü': 'ünïcödé', empty: '' };
    server.publish('meta', 'short', { ttlMs: 40 });
    server.publish('meta', 'long', { ttlMs: 60_000, headers });
    server.publish('meta', 'plain');
    await link.flush();
    const start = Date.now();
    await waitFor(() => Date.now() - start > 60, 1000, 'the short TTL to pass');
    const batch = await sub.pull(10);
    assert.deepEqual(
      batch.map((m) => m.payload),
      ['long', 'plain'],
      'the message with 40 ms to live expired on the client'
    );
    assert.deepEqual(batch[0].headers, headers);
    assert.deepEqual(batch[1].headers, {});
    assert.equal(client.stats().totals.dropped.expired, 1);
    // Ids are the home bus's: the same as its local subscriber saw.
    assert.deepEqual(
      batch.map((m) => m.id),
      local.slice(1).map((m) => m.id)
    );
    assert.ok(batch[0].id > 1, 'not renumbered by the receiving bus');
  });

  it('keeps the home id of QoS 1 deliveries to a remote channel', async (t) => {
    const got: Message[] = [];
    const { server } = await linkPair(t, {
      before: (s, c) => {
        for (let i = 0; i < 5; i++) s.publish('nobody', i); // moves the server's id sequence on
        c.subscribe('jobs', (m) => void got.push(m), { channel: 'w', qos: 1 });
      }
    });
    const local = collect(server, 'jobs');
    server.publish('jobs', 'a', { qos: 1 });
    server.publish('jobs', 'b', { qos: 1 });
    await waitFor(() => got.length === 2 && local.length === 2, 2000, 'both deliveries');
    assert.deepEqual(got.map((m) => m.id).sort(), local.map((m) => m.id).sort());
  });

  it('answers requests across the link, both ways', async (t) => {
    const { server, client } = await linkPair(t, {
      before: (s, c) => {
        s.subscribe('math.double', (m) => void m.respond((m.payload as number) * 2));
        c.subscribe('client.echo', (m) => void m.respond({ echo: m.payload, h: m.headers }));
      }
    });
    const reply = await client.request('math.double', 21, { timeoutMs: 2000 });
    assert.equal(reply.payload, 42);
    assert.match(reply.topic, new RegExp(`^\\$inbox\\.${client.id}\\.`));
    const back = await server.request('client.echo', 'hi', {
      timeoutMs: 2000,
      headers: { k: 'v' }
    });
    assert.deepEqual(back.payload, { echo: 'hi', h: { k: 'v' } });
    await rejectsWith(
      client.request('math.triple', 1, { timeoutMs: 2000 }),
      ErrorCode.NO_RESPONDERS
    );
  });
});
