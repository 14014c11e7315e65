/**
 * WebSocket fan-out at the scale browsers bring: a thousand client buses on loopback, and slow
 * clients among fast ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Bus, type Link } from '../../adapters/node.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { makeBus } from '../helpers/bus.js';
import { controlFrame, helloFrame, openRawPeer, pingFrame } from '../helpers/raw-peer.js';
import { nextTurn, waitFor } from '../helpers/wait.js';

const CLIENTS = 1000;

/** `count` client buses subscribed to `pattern` and linked to `url`; returns their counters. */
async function clients(
  t: { after(fn: () => unknown): void },
  url: string,
  count: number,
  pattern: string
): Promise<{ received: number[]; links: Link[] }> {
  const received = new Array<number>(count).fill(0);
  const buses: Bus[] = [];
  t.after(() => Promise.all(buses.map((b) => b.close())));
  const links: Link[] = [];
  // A hundred handshakes at a time keeps the accept backlog small.
  for (let start = 0; start < count; start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + 100); i++) {
      const bus = new Bus({ id: `client-${i}` });
      buses.push(bus);
      bus.subscribe(pattern, () => void received[i]++);
      batch.push(bus.connect(url, { reconnect: false }));
    }
    links.push(...(await Promise.all(batch)));
  }
  return { received, links };
}

describe('WebSocket fan-out', () => {
  it(`delivers every message to ${CLIENTS} concurrent clients, in one encoding per message`, async (t) => {
    const hub = makeBus(t);
    const listener = await hub.listen('ws://127.0.0.1:0/fan');
    const { received, links } = await clients(t, listener.url, CLIENTS, 'sim.>');
    assert.equal(listener.links.length, CLIENTS);
    const messages = 200;
    for (let i = 0; i < messages; i++) hub.publish(`sim.e${i % 10}`, new Uint8Array(64));
    await Promise.all(links.map((l) => l.flush()));
    assert.deepEqual([...new Set(received)], [messages], 'every client received every message');
    const out = listener.links.map((l) => l.stats());
    assert.ok(
      out.every((s) => s.messagesOut === messages && s.dropped === 0),
      'nothing dropped'
    );
  });

  it('writes the same bytes of one encoding to every socket of a fan-out', async (t) => {
    const hub = makeBus(t);
    const listener = await hub.listen('ws://127.0.0.1:0/fan');
    const { received, links } = await clients(t, listener.url, 20, 'once.>');
    // Every WebSocket message sent in this process while the hub fans out one message.
    const sent: Uint8Array[] = [];
    const proto = WebSocket.prototype as unknown as { send: (...args: unknown[]) => void };
    const send = proto.send;
    t.after(() => void (proto.send = send));
    proto.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      sent.push(data as Uint8Array);
      send.call(this, data, ...rest);
    };
    hub.publish('once.e1', new Uint8Array(64).fill(7));
    await waitFor(() => sent.length === 20, 2000, 'one message to each of the 20 sockets');
    proto.send = send;
    const views = new Set(sent.map((b) => `${b.byteOffset}:${b.byteLength}`));
    assert.equal(new Set(sent.map((b) => b.buffer)).size, 1, 'one buffer behind every send');
    assert.equal(views.size, 1, 'the same range of it');
    await Promise.all(links.map((l) => l.flush()));
    assert.deepEqual([...new Set(received)], [1]);
  });

  it('bounds and drops for a client that never reads while the others receive everything', async (t) => {
    const hub = makeBus(t);
    // Room for a burst of 200 (a reader's queue drains every tick); a stalled one fills it.
    const sendQueueSize = 1024;
    const listener = await hub.listen('ws://127.0.0.1:0/fan', { sendQueueSize });
    const { received, links } = await clients(t, listener.url, 10, 'bp.>');
    const stalled = await openRawPeer(listener.url);
    t.after(() => stalled.destroy());
    await stalled.write(helloFrame({ bus: 'stalled' }));
    await stalled.write(controlFrame(FrameType.INTEREST, { pattern: 'bp.>' }));
    await stalled.write(pingFrame(1));
    await stalled.waitForFrame(FrameType.PONG);
    stalled.pause();
    const slow = listener.links.find((l) => l.stats().peer === 'stalled')!;

    const payload = new Uint8Array(1024);
    const published = 20_000; // 20 MB per client: far more than the socket buffers hold
    for (let i = 0; i < published; i += 200) {
      for (let j = 0; j < 200; j++) hub.publish('bp.data', payload);
      await nextTurn();
      // The readers keep up; only the stalled client falls behind.
      await waitFor(
        () => links.every((_, k) => received[k] >= i),
        5000,
        'the reading clients keep up'
      );
    }
    await Promise.all(links.map((l) => l.flush()));
    assert.deepEqual([...new Set(received)], [published], 'every reader got every message');
    const s = slow.stats();
    assert.ok(s.dropped > 0, 'the stalled client lost messages to its bounded queue');
    assert.ok(s.queued <= sendQueueSize, `queued ${s.queued} <= ${sendQueueSize}`);
    assert.equal(s.messagesOut + s.queued + s.dropped, published, 'every drop counted');
    assert.ok(s.bytesOut < (published * payload.length) / 4, 'little was written to it');
    assert.equal(slow.state, 'up', 'slow is not dead: it is dropped only after writeTimeoutMs');
  });
});
