import assert from 'node:assert/strict';
import { type Socket, connect } from 'node:net';
import { type TestContext, describe, it } from 'node:test';
import { ErrorCode } from '../../adapters/node.js';
import { makeBus } from '../helpers/bus.js';
import {
  LinkEvents,
  PlainServer,
  type UrlKind,
  collect,
  listenUrl,
  rejectsWith,
  socketPathOf
} from '../helpers/links.js';
import { waitFor } from '../helpers/wait.js';

/** docs/protocol.md golden vector: the frame of "Hello nanoQ". */
const HELLO_FRAME = Buffer.from('0b48656c6c6f206e616e6f51', 'hex');
/** A 300-byte payload: its length prefix is the two bytes ac 02. */
const PAYLOAD_300 = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
const FRAME_300 = Buffer.concat([Buffer.from([0xac, 0x02]), PAYLOAD_300]);

/** A plain `node:net` client (a nanoQ publisher), closed when the test ends. */
async function plainClient(t: TestContext, url: string): Promise<Socket> {
  const path = socketPathOf(url);
  const socket =
    path !== undefined
      ? connect({ path })
      : connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return socket;
}

function write(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => socket.write(bytes, () => resolve()));
}

describe('raw mode (nanoQ framing)', () => {
  for (const kind of ['tcp', 'unix'] as UrlKind[]) {
    it(`publishes each plain frame a nanoQ client writes (${kind}) as exactly those bytes`, async (t) => {
      const bus = makeBus(t);
      const got = collect<Uint8Array>(bus, 't');
      const listener = await bus.listen(listenUrl(kind, 'raw'), { raw: { topic: 't' } });
      const socket = await plainClient(t, listener.url);
      await write(socket, HELLO_FRAME);
      // Split inside the two-byte length prefix and inside the payload.
      await write(socket, FRAME_300.subarray(0, 1));
      await write(socket, FRAME_300.subarray(1, 150));
      await write(socket, FRAME_300.subarray(150));
      await waitFor(() => got.length === 2, 2000, 'two frames published');
      assert.equal(Buffer.from(got[0].payload).toString('utf8'), 'Hello nanoQ');
      assert.deepEqual(got[0].payload, Uint8Array.from(Buffer.from('Hello nanoQ')));
      assert.deepEqual(got[1].payload, PAYLOAD_300);
      for (const m of got) assert.equal(Object.getPrototypeOf(m.payload), Uint8Array.prototype);
      const [accepted] = listener.links;
      assert.equal(accepted.raw, true);
      assert.equal(accepted.peer, undefined);
      const s = accepted.stats();
      assert.deepEqual([s.raw, s.framesIn, s.messagesIn, s.bytesIn], [true, 2, 2, 12 + 302]);
    });
  }

  it('sends each matching message to a nanoQ server as one plain frame', async (t) => {
    const server = await PlainServer.open(0);
    t.after(() => server.close());
    const bus = makeBus(t);
    const link = await bus.connect(server.url, { raw: { pattern: 'p.>' }, reconnect: false });
    assert.deepEqual([link.state, link.raw, link.peer], ['up', true, undefined]);
    bus.publish('p.text', 'Hello nanoQ');
    bus.publish('q.other', 'not matching');
    bus.publish('p.bytes', PAYLOAD_300);
    bus.publish('p.json', { a: 1 });
    await link.flush();
    const published = Buffer.concat([
      HELLO_FRAME,
      FRAME_300,
      Buffer.from([7]),
      Buffer.from('{"a":1}')
    ]);
    // docs/network.md: in raw mode flush() resolves once the bytes are handed to the socket.
    assert.equal(link.stats().bytesOut, published.length, 'flushed');
    await link.publish('ignored.topic', 'direct'); // the topic does not travel in raw mode
    await link.flush();
    const expected = Buffer.concat([published, Buffer.from([6]), Buffer.from('direct')]);
    await waitFor(() => server.bytes().length >= expected.length, 2000, 'every byte');
    assert.equal(server.bytes().toString('hex'), expected.toString('hex'));
    assert.equal(server.connections, 1);
    assert.equal(link.stats().messagesOut, 4);
  });

  it('lets two buses talk raw: a raw publisher link to a raw listener', async (t) => {
    const receiver = makeBus(t);
    const got = collect<Uint8Array>(receiver, 'in');
    const listener = await receiver.listen(listenUrl('unix', 'raw2'), { raw: { topic: 'in' } });
    const sender = makeBus(t);
    const link = await sender.connect(listener.url, { raw: { pattern: 'out.*' } });
    sender.publish('out.a', Uint8Array.of(1, 2, 3));
    sender.publish('out.b', 'two');
    await link.flush();
    await waitFor(() => got.length === 2, 2000, 'both frames');
    assert.deepEqual(
      got.map((m) => Buffer.from(m.payload).toString('hex')),
      ['010203', Buffer.from('two').toString('hex')]
    );
  });

  it('serves nanoQ subscribers from a raw listener with a pattern', async (t) => {
    const bus = makeBus(t);
    const listener = await bus.listen('tcp://127.0.0.1:0', { raw: { pattern: 'feed.>' } });
    const socket = await plainClient(t, listener.url);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => void chunks.push(c));
    await waitFor(() => listener.links.length === 1, 2000, 'the accepted raw link');
    bus.publish('feed.x', 'Hello nanoQ');
    bus.publish('other', 'no');
    await waitFor(() => Buffer.concat(chunks).length >= 12, 2000, 'the frame');
    assert.equal(Buffer.concat(chunks).toString('hex'), HELLO_FRAME.toString('hex'));
  });

  it('drops a raw peer whose frame exceeds maxFrameBytes', async (t) => {
    const bus = makeBus(t);
    const events = new LinkEvents(bus);
    const got = collect(bus, 't');
    const listener = await bus.listen('tcp://127.0.0.1:0', {
      raw: { topic: 't' },
      maxFrameBytes: 4096
    });
    const socket = await plainClient(t, listener.url);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await write(socket, HELLO_FRAME);
    await write(socket, Buffer.from([0x81, 0x20])); // 4097
    await closed;
    assert.equal(got.length, 1, 'the frame before it was published');
    await waitFor(() => events.downs.length === 1, 2000, 'link-down');
    assert.equal(events.downs[0].error?.code, ErrorCode.FRAME_TOO_LARGE);
  });

  it('does not send a message larger than maxFrameBytes over a raw link: ERR_FRAME_TOO_LARGE', async (t) => {
    const server = await PlainServer.open(0);
    t.after(() => server.close());
    const bus = makeBus(t);
    const events = new LinkEvents(bus);
    const link = await bus.connect(server.url, {
      raw: { pattern: 'p.>' },
      maxFrameBytes: 4096,
      reconnect: false
    });
    bus.publish('p.big', new Uint8Array(5000));
    bus.publish('p.small', 'ok');
    await link.flush();
    await waitFor(() => server.bytes().length === 3, 2000, 'the small frame');
    assert.equal(server.bytes().toString('hex'), '026f6b');
    assert.deepEqual(events.errorCodes, [ErrorCode.FRAME_TOO_LARGE]);
    assert.equal(link.stats().refused, 1);
    assert.equal(link.state, 'up');
  });

  it('rejects raw options without a topic or pattern, naming raw', async (t) => {
    const bus = makeBus(t);
    await rejectsWith(
      bus.listen('tcp://127.0.0.1:0', { raw: {} }),
      ErrorCode.INVALID_OPTIONS,
      /raw/
    );
    await rejectsWith(
      bus.connect('tcp://127.0.0.1:1', { raw: { pattern: 'a..b' } }),
      ErrorCode.INVALID_OPTIONS,
      /raw\.pattern|pattern/
    );
  });
});
