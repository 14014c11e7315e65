import assert from 'node:assert/strict';
import { type TestContext, describe, it } from 'node:test';
import { type Bus, ErrorCode, type ListenOptions, type Message } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import {
  LinkEvents,
  LinkProxy,
  collect,
  listenUrl,
  quietPeriod,
  rejectsWith
} from '../helpers/links.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { helloFrame, msgFrame, openRawPeer, pingFrame } from '../helpers/raw-peer.js';
import { waitFor } from '../helpers/wait.js';

const AUTH: ListenOptions['auth'] = {
  tokens: {
    'sensor-7f3a': { publish: ['sensors.>', 'time.now'], subscribe: ['alerts.*', 'jobs.sensor'] },
    'admin-91bc': {}
  }
};

/** A hub with auth behind a counting proxy; `messages` records what its subscribers got. */
async function authHub(t: TestContext, url = 'tcp://127.0.0.1:0') {
  const hub = makeBus(t, { id: 'hub' });
  const messages: Message[] = [];
  for (const p of ['sensors.>', 'admin.>']) hub.subscribe(p, (m) => void messages.push(m));
  hub.subscribe('time.now', (m) => void m.respond('12:00'));
  const events = new LinkEvents(hub);
  const listener = await hub.listen(url, { auth: AUTH });
  const proxy = await LinkProxy.open(listener.url);
  t.after(() => proxy.close());
  return { hub, messages, events, listener, proxy };
}

describe('auth: tokens', () => {
  for (const [label, token] of [
    ['a missing token', undefined],
    ['a wrong token', 'guess'],
    ['a prefix of a right token', 'sensor-7f3'],
    ['a right token plus a byte', 'admin-91bcX']
  ] as const) {
    it(`rejects ${label} with ERR_AUTH and does not retry`, async (t) => {
      const { proxy, listener } = await authHub(t);
      const client = makeBus(t);
      await rejectsWith(
        client.connect(proxy.url, { token, reconnect: { initialDelayMs: 1, maxDelayMs: 5 } }),
        ErrorCode.AUTH,
        token === undefined ? /needs a token/ : /not accepted/
      );
      await quietPeriod(50); // ten times the longest retry delay
      assert.equal(proxy.connections, 1, 'one connection, no retry loop');
      assert.deepEqual(client.stats().links, []);
      assert.equal(listener.links.length, 0);
    });
  }

  it('stops retrying when a reconnect is refused (the tokens changed)', async (t) => {
    const oldHub = makeBus(t);
    const l1 = await oldHub.listen(listenUrl('unix', 'auth1'), { auth: AUTH });
    const proxy = await LinkProxy.open(l1.url);
    t.after(() => proxy.close());
    const client = makeBus(t);
    const events = new LinkEvents(client);
    const link = await client.connect(proxy.url, {
      token: 'admin-91bc',
      reconnect: { initialDelayMs: 1, maxDelayMs: 5 }
    });
    // Every reconnect attempt reaches the new hub, which no longer knows the token.
    const newHub = makeBus(t);
    const l2 = await newHub.listen(listenUrl('unix', 'auth2'), {
      auth: { tokens: { 'new-token': {} } }
    });
    proxy.retarget(l2.url);
    await oldHub.close();
    await events.downCount(1);
    await waitFor(() => proxy.connections === 2, 2000, 'a reconnect attempt');
    await quietPeriod(50); // ten times the longest retry delay
    assert.equal(proxy.connections, 2, 'no more attempts after ERR_AUTH');
    assert.equal(link.state, 'down');
    assert.equal(events.ups.length, 1);
  });

  it('accepts a right token; the link carries messages both ways', async (t) => {
    const { hub, messages, proxy, listener } = await authHub(t);
    const client = makeBus(t);
    const got = collect(client, 'alerts.fire');
    const link = await client.connect(proxy.url, { token: 'sensor-7f3a' });
    assert.equal(link.state, 'up');
    assert.equal(listener.links.length, 1);
    client.publish('sensors.temp', 21);
    hub.publish('alerts.fire', 'smoke');
    await link.flush();
    assert.deepEqual(
      messages.map((m) => [m.topic, m.payload]),
      [['sensors.temp', 21]]
    );
    assert.deepEqual(
      got.map((m) => m.payload),
      ['smoke']
    );
    assert.equal((await client.request('time.now', null, { timeoutMs: 2000 })).payload, '12:00');
  });
});

describe('auth: permissions', () => {
  async function sensor(t: TestContext, setup: (client: Bus) => void = () => undefined) {
    const h = await authHub(t);
    const client = makeBus(t, { id: 'sensor' });
    const clientEvents = new LinkEvents(client);
    setup(client);
    const link = await client.connect(h.listener.url, { token: 'sensor-7f3a' });
    return { ...h, client, clientEvents, link, accepted: h.listener.links[0] };
  }

  it('refuses a remote publish outside the publish patterns with ERR_FORBIDDEN; nothing delivered', async (t) => {
    const { messages, events, link, accepted } = await sensor(t);
    await rejectsWith(
      link.publish('admin.reboot', 1, { qos: 1 }),
      ErrorCode.FORBIDDEN,
      /admin\.reboot/
    );
    await link.publish('admin.reboot', 2); // QoS 0: reported on the hub
    await link.flush();
    assert.equal(messages.length, 0);
    assert.deepEqual(events.errorCodes, [ErrorCode.FORBIDDEN]);
    assert.equal(accepted.stats().refused, 2);
    assert.equal(link.state, 'up', 'a refusal is not fatal');
    await link.publish('sensors.ok', 3, { qos: 1 });
    assert.deepEqual(
      messages.map((m) => m.payload),
      [3]
    );
  });

  it('drops and counts forwarded messages outside the publish patterns', async (t) => {
    const { messages, listener } = await authHub(t);
    // A peer that forwards what it was never asked for (a plain bus would not send it).
    const peer = await openRawPeer(listener.url);
    t.after(() => peer.destroy());
    await peer.write(helloFrame({ bus: 'raw-sensor', token: 'sensor-7f3a' }));
    await peer.waitForFrame(FrameType.HELLO);
    await peer.write(msgFrame(0, 'admin.reboot', 'x', 1));
    await peer.write(msgFrame(0, 'sensors.temp', '20', 2));
    await peer.write(pingFrame(1));
    await peer.waitForFrame(FrameType.PONG);
    assert.deepEqual(
      messages.map((m) => [m.topic, m.payload]),
      [['sensors.temp', '20']]
    );
    assert.equal(listener.links[0].stats().refused, 1);
    assert.equal(listener.links[0].state, 'up', 'not fatal');
  });

  it('gets what the peer may publish through a subscription wider than the token allows', async (t) => {
    const hub = makeBus(t, { id: 'logger' });
    const everything = collect(hub, '>'); // wider than the sensor's sensors.>
    const listener = await hub.listen('tcp://127.0.0.1:0', { auth: AUTH });
    const client = makeBus(t, { id: 'sensor' });
    const link = await client.connect(listener.url, { token: 'sensor-7f3a' });
    client.publish('sensors.humidity', 40); // allowed
    client.publish('other.topic', 1); // forbidden for the token: never delivered
    await link.flush();
    assert.deepEqual(
      everything.map((m) => [m.topic, m.payload]),
      [['sensors.humidity', 40]],
      'docs/security.md: the hub still advertises its subscriptions; forbidden messages are dropped'
    );
  });

  it('refuses a subscription outside the subscribe patterns: ERR_FORBIDDEN on the subscriber, nothing leaks', async (t) => {
    const secrets: Message[] = [];
    const wide: Message[] = [];
    const { hub, client, clientEvents, link } = await sensor(t, (c) => {
      c.subscribe('secrets.>', (m) => void secrets.push(m));
      c.subscribe('alerts.>', (m) => void wide.push(m)); // wider than alerts.*
    });
    assert.deepEqual(clientEvents.errorCodes.sort(), [ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN]);
    assert.match(clientEvents.errors.map((e) => e.message).join(), /secrets\.>/);
    assert.match(clientEvents.errors.map((e) => e.message).join(), /alerts\.>/);
    for (const topic of ['secrets.db', 'alerts.fire', 'alerts.a.b']) {
      assert.equal(hub.publish(topic, 'never'), 0, `${topic}: the hub holds no interest for it`);
    }
    await link.flush();
    assert.equal(secrets.length + wide.length, 0, 'nothing crossed');
    // An allowed subscription made later works, and the refused ones still get nothing else.
    const ok = collect(client, 'alerts.fire');
    await link.flush();
    hub.publish('alerts.fire', 'smoke');
    hub.publish('alerts.a.b', 'still not');
    await link.flush();
    assert.deepEqual(
      ok.map((m) => m.payload),
      ['smoke']
    );
    assert.equal(secrets.length, 0);
    assert.equal(link.state, 'up');
  });

  it('refuses a channel subscription outside the subscribe patterns; a QoS 1 publish enters nothing', async (t) => {
    const jobs: Message[] = [];
    const allowed: Message[] = [];
    const { hub, clientEvents, link } = await sensor(t, (c) => {
      c.subscribe('jobs.*', (m) => void jobs.push(m), { channel: 'w', qos: 1 });
      c.subscribe('jobs.sensor', (m) => void allowed.push(m), { channel: 'w', qos: 1 });
    });
    assert.deepEqual(clientEvents.errorCodes, [ErrorCode.FORBIDDEN]);
    assert.equal(hub.publish('jobs.other', 1, { qos: 1 }), 0);
    assert.equal(hub.publish('jobs.sensor', 2, { qos: 1 }), 1, 'the allowed channel');
    await waitFor(() => allowed.length === 1, 2000, 'the allowed delivery');
    await link.flush();
    assert.deepEqual(jobs, []);
  });

  it('lets a restricted peer subscribe to its own reply inbox (request works)', async (t) => {
    const { client } = await sensor(t);
    const reply = await client.request('time.now', null, { timeoutMs: 2000 });
    assert.equal(reply.payload, '12:00');
  });
});
