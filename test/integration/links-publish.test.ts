import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, type Message } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import { LinkEvents, LinkProxy, collect, linkPair, rejectsWith } from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';

describe('link.publish(): publishing on the remote bus', () => {
  it('QoS 0 resolves once queued for sending; the remote bus publishes it, not this one', async (t) => {
    const atServer: Message[] = [];
    const atClient: Message[] = [];
    const { link } = await linkPair(t, {
      before: (s, c) => {
        s.subscribe('audit.>', (m) => void atServer.push(m));
        c.subscribe('audit.>', (m) => void atClient.push(m));
      }
    });
    await link.publish('audit.login', { user: 'ada' });
    await link.flush();
    assert.deepEqual(
      atServer.map((m) => [m.topic, m.payload]),
      [['audit.login', { user: 'ada' }]]
    );
    await link.flush();
    assert.deepEqual(atClient, [], 'not published here, and not echoed back');
  });

  it('QoS 1 resolves once the remote bus accepted it: its subscriber already has it', async (t) => {
    const atServer: Message[] = [];
    const { server, link } = await linkPair(t, {
      before: (s) => void s.subscribe('orders', (m) => void atServer.push(m), { qos: 1 })
    });
    for (let i = 0; i < 3; i++) server.publish('orders', i); // the remote id sequence moves on
    await link.publish('orders', 'one', { qos: 1, headers: { k: 'v' } });
    assert.equal(atServer.length, 4, 'delivered by the time the PUBACK arrived');
    const m = atServer[3];
    assert.deepEqual([m.payload, m.headers, m.qos], ['one', { k: 'v' }, 1]);
    assert.equal(m.id, 4, "a new message on the remote bus, with the remote bus's id");
  });

  it('keeps a retained remote publish on the remote bus', async (t) => {
    const { server, link } = await linkPair(t);
    await link.publish('config.mode', 'dark', { qos: 1, retain: true });
    const late = collect(server, 'config.*');
    await waitFor(() => late.length === 1, 2000, 'the retained message');
    assert.equal(late[0].payload, 'dark');
    assert.equal(server.stats().retained, 1);
  });

  it('rejects with ERR_QUEUE_FULL from a full block queue on the remote bus; nothing enters', async (t) => {
    const { server, link, accepted } = await linkPair(t);
    const sub = server.subscribe('full', { queueSize: 2, overflow: 'block' }); // pull: nobody takes
    const other = collect(server, 'full');
    await link.flush();
    assert.equal(server.publish('full', 1), 2);
    assert.equal(server.publish('full', 2), 2);
    await waitFor(() => other.length === 2, 2000, 'the local deliveries');
    await rejectsWith(link.publish('full', 3, { qos: 1 }), ErrorCode.QUEUE_FULL, /full/);
    assert.equal(sub.pending, 2);
    assert.equal(other.length, 2, 'not published at all (block: nothing enqueued)');
    assert.equal(accepted.stats().refused, 1);
    assert.equal(link.state, 'up');
    // QoS 0: nobody awaits an answer, so the remote bus reports it.
    const errors = new LinkEvents(server);
    await link.publish('full', 4);
    await link.flush();
    assert.deepEqual(errors.errorCodes, [ErrorCode.QUEUE_FULL]);
    assert.equal(accepted.stats().refused, 2);
  });

  it('rejects with ERR_LINK_DOWN when the link is not up', async (t) => {
    const { listener, link, client } = await linkPair(t);
    const events = new LinkEvents(client);
    await listener.close();
    await events.downCount(1);
    await rejectsWith(link.publish('x', 1), ErrorCode.LINK_DOWN, /down/);
    await rejectsWith(link.publish('x', 1, { qos: 1 }), ErrorCode.LINK_DOWN);
    await link.close();
    await rejectsWith(link.publish('x', 1, { qos: 1 }), ErrorCode.LINK_DOWN, /closed/);
  });

  it('rejects with ERR_LINK_DOWN when the link drops before the remote bus answered', async (t) => {
    const server = makeBus(t);
    const client = makeBus(t);
    const listener = await server.listen('tcp://127.0.0.1:0');
    const proxy = await LinkProxy.open(listener.url);
    t.after(() => proxy.close());
    const link = await client.connect(proxy.url, { reconnect: false });
    proxy.freeze(); // the PUB never arrives, so no PUBACK either
    const pending = link.publish('x', 1, { qos: 1 });
    proxy.cut();
    await rejectsWith(pending, ErrorCode.LINK_DOWN);
  });

  it('checks the topic and options locally: ERR_INVALID_TOPIC, ERR_INVALID_OPTIONS, nothing sent', async (t) => {
    const { link, accepted } = await linkPair(t);
    await link.flush();
    const before = link.stats().framesOut;
    for (const topic of ['', 'a..b', 'a.*', 'a.>', ' a', 'a b']) {
      await rejectsWith(link.publish(topic, 1), ErrorCode.INVALID_TOPIC);
    }
    await rejectsWith(link.publish('ok', 1, { qos: 2 as 1 }), ErrorCode.INVALID_OPTIONS, /qos/);
    await rejectsWith(link.publish('ok', 1, { ttlMs: -1 }), ErrorCode.INVALID_OPTIONS, /ttlMs/);
    assert.equal(link.stats().framesOut, before, 'nothing was sent');
    assert.equal(accepted.stats().messagesIn, 0);
    assert.equal(link.state, 'up');
  });

  it('rejects a payload that cannot be encoded with ERR_PAYLOAD and sends nothing', async (t) => {
    const { link, accepted } = await linkPair(t);
    await rejectsWith(link.publish('x', { big: 1n }, { qos: 1 }), ErrorCode.PAYLOAD);
    await rejectsWith(
      link.publish('x', () => 1),
      ErrorCode.PAYLOAD
    );
    await link.flush();
    assert.equal(accepted.stats().messagesIn, 0);
    await link.publish('x', 'fine', { qos: 1 });
    assert.equal(accepted.stats().messagesIn, 1);
  });
});
