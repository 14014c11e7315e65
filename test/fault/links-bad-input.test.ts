import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { Bus, RingbusError } from '../../adapters/node.js';
import { ErrorCode } from '../../src/errors.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { nextEvent } from '../helpers/bus.js';
import {
  type ErrorBody,
  ListenerHarness,
  type RawFrame,
  type RawPeer,
  concat,
  controlFrame,
  frame,
  helloFrame,
  msgFrame,
  openRawPeer,
  parseFrames,
  pubFrame,
  subBody,
  trapUncaught
} from '../helpers/raw-peer.js';
import { waitFor, within } from '../helpers/wait.js';

/**
 * Bad input against a live listener (DESIGN.md "Safety"): every case must get an ERROR frame
 * (fatal, with the right code) and a closed connection for that peer only. After each one the
 * harness's healthy link still carries messages both ways and the listening bus holds nothing of
 * the bad connection; no exception escapes.
 */

/** Small, so the handshake-timeout cases end fast; every other raw peer says HELLO at once. */
const HANDSHAKE_TIMEOUT_MS = 300;

const PROTOCOL = [ErrorCode.PROTOCOL];
/** docs/protocol.md §5: an invalid topic or pattern from a peer is fatal ERR_INVALID_TOPIC. */
const BAD_SUBJECT = [ErrorCode.INVALID_TOPIC];

interface Outcome {
  /** Accepted codes of the fatal ERROR frame. */
  codes: readonly string[];
  /** A fragment its message must contain. */
  fragment?: string;
}

/**
 * Waits for the server to close `peer`, then checks the last frame it sent is a fatal ERROR with
 * one of the expected codes.
 */
async function expectFatal(peer: RawPeer, outcome: Outcome): Promise<void> {
  await within(peer.closed, 3000, 'the server closing the bad connection');
  assert.ok(peer.closedByServer, 'the server closed it');
  const frames = peer.frames();
  const last = frames.at(-1);
  assert.equal(last?.type, FrameType.ERROR, 'the last frame the server sent is an ERROR');
  const error = peer.errors().at(-1)!;
  assert.equal(error.fatal, true, 'the ERROR is fatal');
  assert.ok(
    outcome.codes.includes(error.code),
    `ERROR code ${error.code} (${error.message}); expected ${outcome.codes.join(' or ')}`
  );
  if (outcome.fragment !== undefined) {
    assert.ok(
      error.message.includes(outcome.fragment),
      `ERROR message ${JSON.stringify(error.message)} names ${JSON.stringify(outcome.fragment)}`
    );
  }
  assert.equal(
    frames.filter((f) => f.type === FrameType.ERROR).length,
    1,
    'exactly one ERROR frame'
  );
}

/** One row of docs/protocol.md §7.2: a whole frame with a malformed body, and its error. */
interface MalformedVector {
  name: string;
  bytes: Uint8Array;
  code: string;
  fragment: string;
}

const PROTOCOL_DOC = new URL('../../../docs/protocol.md', import.meta.url);

/** The §7.2 table ("Malformed bodies"), which a session must answer with a fatal ERROR each. */
function malformedVectors(): MalformedVector[] {
  const text = readFileSync(PROTOCOL_DOC, 'utf8');
  const start = text.indexOf('### 7.2 Malformed bodies');
  assert.ok(start >= 0, 'docs/protocol.md has §7.2');
  const end = text.indexOf('\n#', start + 1);
  const rows: MalformedVector[] = [];
  for (const line of text.slice(start, end < 0 ? undefined : end).split('\n')) {
    const m = /^\|\s*([^|]+?)\s*\|\s*`([0-9a-f *]+)`\s*\|\s*`(ERR_[A-Z_]+) "([^"]*)"`\s*\|/.exec(
      line
    );
    if (m === null) continue;
    const bytes: number[] = [];
    for (const item of m[2].trim().split(/\s+/)) {
      const [hex, times] = item.split('*');
      for (let i = 0; i < Number(times ?? 1); i++) bytes.push(parseInt(hex, 16));
    }
    rows.push({ name: m[1], bytes: Uint8Array.from(bytes), code: m[3], fragment: m[4] });
  }
  return rows;
}

/** A fixed pseudo-random byte string (xorshift32), the same on every run. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

void describe('links: bad input on a live listener', () => {
  let h: ListenerHarness;
  let trap: ReturnType<typeof trapUncaught>;
  const peers: RawPeer[] = [];
  /** The `sid` the listener advertised to a raw peer for its QoS 1 subscription `adv.>`. */
  let advertisedSid = 0;

  before(async () => {
    trap = trapUncaught();
    h = await ListenerHarness.open({ handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }, (home) => {
      // A QoS 1 subscription: advertised to each peer by sid (a SUB frame after HELLO).
      home.subscribe('adv.>', () => undefined, { qos: 1 });
    });
  });

  after(async () => {
    for (const p of peers) p.destroy();
    await h.close();
    trap.uninstall();
  });

  afterEach(async () => {
    assert.deepEqual(trap.errors, [], 'no uncaught exception or unhandled rejection');
    await h.checkHealthy();
  });

  async function peer(): Promise<RawPeer> {
    const p = await openRawPeer(h.listener.url);
    peers.push(p);
    return p;
  }

  /** A raw peer past the handshake: it sent HELLO and got the server's HELLO (and SUB). */
  async function upPeer(): Promise<RawPeer> {
    const p = await peer();
    const downs = h.linkDowns.length;
    await p.write(helloFrame());
    await p.waitForFrame(FrameType.HELLO);
    const sub = await p.waitForFrame(FrameType.SUB);
    advertisedSid = (JSON.parse(Buffer.from(sub.body).toString('utf8')) as { sid: number }).sid;
    assert.equal(h.linkDowns.length, downs);
    return p;
  }

  /** Sends `bytes` as the very first bytes of a connection. */
  async function first(bytes: Uint8Array, outcome: Outcome): Promise<void> {
    const p = await peer();
    await p.write(bytes);
    await expectFatal(p, outcome);
  }

  /**
   * Sends `bytes` after a completed handshake; the listening bus must also report the link down
   * once, with the same code.
   */
  async function afterHello(bytes: Uint8Array | (() => Uint8Array), outcome: Outcome) {
    const p = await upPeer();
    const downs = h.linkDowns.length;
    await p.write(typeof bytes === 'function' ? bytes() : bytes);
    await expectFatal(p, outcome);
    const error = p.errors().at(-1)!;
    await waitFor(() => h.linkDowns.length > downs, 2000, "the listening bus's link-down event");
    assert.equal(h.linkDowns.length, downs + 1, 'one link-down for the bad link');
    const down = h.linkDowns.at(-1)!;
    assert.equal(down.link.direction, 'in');
    assert.equal(down.error?.code, error.code, 'link-down carries the same code');
  }

  // --- framing --------------------------------------------------------------------------------

  void it('rejects an overlong varint (80 00) with ERR_PROTOCOL and closes only that link', () =>
    first(Uint8Array.of(0x80, 0x00), { codes: PROTOCOL, fragment: 'overlong' }));

  void it('rejects a 6-byte varint with ERR_PROTOCOL', () =>
    first(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), {
      codes: PROTOCOL,
      fragment: 'longer than 5 bytes'
    }));

  void it('rejects a varint above 2^32 - 1 with ERR_PROTOCOL', () =>
    first(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x10), {
      codes: PROTOCOL,
      fragment: 'above 2^32 - 1'
    }));

  void it('rejects the length prefix of a 1 GiB frame with ERR_FRAME_TOO_LARGE before any body byte, allocating nothing for it', async () => {
    const buffersBefore = process.memoryUsage().arrayBuffers;
    // 2^30 = 80 80 80 80 04; no body byte is ever sent, so only the prefix can close it.
    await first(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x04), {
      codes: [ErrorCode.FRAME_TOO_LARGE],
      // Before the handshake the limit is MIN_FRAME_BYTES, not the configured maxFrameBytes.
      fragment: '1073741824 exceeds maxFrameBytes'
    });
    const grown = process.memoryUsage().arrayBuffers - buffersBefore;
    assert.ok(grown < 256 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
  });

  void it('rejects a frame over maxFrameBytes after the handshake with ERR_FRAME_TOO_LARGE', () =>
    afterHello(Uint8Array.of(0x81, 0x80, 0x40), {
      codes: [ErrorCode.FRAME_TOO_LARGE],
      fragment: '1048577 exceeds maxFrameBytes 1048576'
    }));

  void it('reports a frame truncated by the end of the stream as ERR_PROTOCOL "truncated frame" and closes it', async () => {
    // docs/protocol.md §5: ERR_PROTOCOL locally; no ERROR frame is owed (the peer has ended).
    const p = await upPeer();
    const downs = h.linkDowns.length;
    await p.write(Uint8Array.of(0x05, FrameType.PING, 0x01));
    p.end();
    await within(p.closed, 3000, 'the server closing the connection');
    await waitFor(() => h.linkDowns.length > downs, 2000, "the listening bus's link-down event");
    const down = h.linkDowns.at(-1)!;
    assert.equal(down.error?.code, ErrorCode.PROTOCOL, `link-down error: ${String(down.error)}`);
    assert.match(down.error.message, /truncated frame/);
    for (const e of p.errors()) assert.equal(e.fatal, true);
  });

  void it('reports a length prefix truncated by the end of the stream (80 80) as ERR_PROTOCOL', async () => {
    const p = await upPeer();
    const downs = h.linkDowns.length;
    await p.write(Uint8Array.of(0x80, 0x80));
    p.end();
    await within(p.closed, 3000, 'the server closing the connection');
    await waitFor(() => h.linkDowns.length > downs, 2000, "the listening bus's link-down event");
    const down = h.linkDowns.at(-1)!;
    assert.equal(down.error?.code, ErrorCode.PROTOCOL, `link-down error: ${String(down.error)}`);
    assert.match(down.error.message, /inside a length prefix/);
  });

  void it('rejects an empty frame body (no type byte) with ERR_PROTOCOL', () =>
    afterHello(Uint8Array.of(0x00), { codes: PROTOCOL, fragment: 'empty frame body' }));

  void it('rejects an unknown frame type with ERR_PROTOCOL', () =>
    afterHello(frame([0x7f, 0x01, 0x02]), {
      codes: PROTOCOL,
      fragment: 'unknown frame type 0x7f'
    }));

  void it('rejects garbage after a valid HELLO with ERR_PROTOCOL and parses none of the rest', () =>
    afterHello(concat(frame([0xee, 0x00, 0x00, 0x00]), noise(4096, 0x2545f491)), {
      codes: PROTOCOL,
      fragment: 'unknown frame type 0xee'
    }));

  void it('closes a peer that sends garbage which never completes a frame (an HTTP request) at the handshake timeout', () =>
    // 'G' (0x47) reads as a 71-byte frame; the request is shorter, so only the deadline ends it.
    first(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), {
      codes: [ErrorCode.TIMEOUT],
      fragment: 'handshake'
    }));

  // --- handshake ------------------------------------------------------------------------------

  void it('rejects a MSG frame before HELLO with ERR_PROTOCOL', () =>
    first(msgFrame(0, 'h.in', 'sneaky'), { codes: PROTOCOL, fragment: 'before the handshake' }));

  void it('rejects a SUB frame before HELLO with ERR_PROTOCOL', () =>
    first(controlFrame(FrameType.SUB, subBody(1, 'h.>')), {
      codes: PROTOCOL,
      fragment: 'before the handshake'
    }));

  void it('rejects a HELLO with an unknown protocol version with ERR_PROTOCOL naming v', () =>
    first(helloFrame({ v: 3 }), { codes: PROTOCOL, fragment: 'HELLO frame: v' }));

  void it('rejects a HELLO without its bus id with ERR_PROTOCOL naming bus', () =>
    first(helloFrame({ bus: undefined }), { codes: PROTOCOL, fragment: 'bus' }));

  void it('rejects a HELLO with an unknown field with ERR_PROTOCOL naming the field', () =>
    first(helloFrame({ admin: true }), { codes: PROTOCOL, fragment: 'admin' }));

  void it('rejects a HELLO whose maxFrameBytes is below the minimum with ERR_PROTOCOL', () =>
    first(helloFrame({ maxFrameBytes: 1 }), { codes: PROTOCOL, fragment: 'maxFrameBytes' }));

  void it('rejects a HELLO that is not valid JSON with ERR_PROTOCOL', () =>
    first(controlFrame(FrameType.HELLO, '{"v":1,"bus":'), {
      codes: PROTOCOL,
      fragment: 'not valid UTF-8 JSON'
    }));

  void it('rejects a HELLO that is not valid UTF-8 with ERR_PROTOCOL', () =>
    first(frame([FrameType.HELLO, 0x7b, 0xff, 0xfe, 0x7d]), {
      codes: PROTOCOL,
      fragment: 'not valid UTF-8 JSON'
    }));

  void it('rejects a second HELLO with ERR_PROTOCOL', () =>
    afterHello(helloFrame({ bus: 'again' }), { codes: PROTOCOL, fragment: 'second HELLO' }));

  // --- control frames -------------------------------------------------------------------------

  void it('rejects a control frame with invalid JSON with ERR_PROTOCOL naming the frame', () =>
    afterHello(controlFrame(FrameType.SUB, '{"sid":1,'), {
      codes: PROTOCOL,
      fragment: 'SUB frame'
    }));

  void it('rejects a SUB that fails its schema (sid 0) with ERR_PROTOCOL naming the field', () =>
    afterHello(controlFrame(FrameType.SUB, subBody(0, 'h.>')), {
      codes: PROTOCOL,
      fragment: 'sid'
    }));

  void it('rejects a SUB with an invalid pattern as bad input (fatal ERROR, closed)', () =>
    afterHello(controlFrame(FrameType.SUB, subBody(1, 'a..b')), { codes: BAD_SUBJECT }));

  void it('rejects an INTEREST with an invalid pattern as bad input (fatal ERROR, closed)', () =>
    afterHello(controlFrame(FrameType.INTEREST, { pattern: 'a.>.b' }), { codes: BAD_SUBJECT }));

  // --- message frames -------------------------------------------------------------------------

  void it('rejects a MSG with an invalid topic (interest delivery) as bad input', () =>
    afterHello(msgFrame(0, 'h..in', 'x'), { codes: BAD_SUBJECT }));

  void it('rejects a MSG with an invalid topic addressed to an advertised subscription as bad input', () =>
    afterHello(() => msgFrame(advertisedSid, 'adv..x', 'x'), { codes: BAD_SUBJECT }));

  void it('rejects a MSG with a wildcard topic addressed to an advertised subscription as bad input', () =>
    afterHello(() => msgFrame(advertisedSid, 'adv.*', 'x'), { codes: BAD_SUBJECT }));

  void it('rejects a MSG whose topic does not match the pattern of the sid it is addressed to with ERR_PROTOCOL', () =>
    afterHello(() => msgFrame(advertisedSid, 'other.topic', 'x'), { codes: PROTOCOL }));

  void it('rejects a SUB whose sid is already in use with ERR_PROTOCOL', () =>
    afterHello(
      concat(
        controlFrame(FrameType.SUB, subBody(1, 'h.a')),
        controlFrame(FrameType.SUB, subBody(1, 'h.b'))
      ),
      { codes: PROTOCOL, fragment: 'sid 1' }
    ));

  void it('rejects a PUB with an invalid topic as bad input', () =>
    afterHello(pubFrame(1, 'h..in', 'x'), { codes: BAD_SUBJECT }));

  void it('rejects a MSG whose body ends inside a field with ERR_PROTOCOL', () =>
    afterHello(frame([FrameType.MSG, 0x00, 0x00, 0x01]), { codes: PROTOCOL }));

  void it('rejects a MSG with attempt 0 with ERR_PROTOCOL', () =>
    afterHello(frame([FrameType.MSG, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x04]), {
      codes: PROTOCOL,
      fragment: 'attempt 0'
    }));

  // --- docs/protocol.md §7.2 ------------------------------------------------------------------

  void it('answers every malformed body of docs/protocol.md §7.2 with a fatal ERROR of its code', async () => {
    const vectors = malformedVectors();
    assert.ok(vectors.length >= 20, `parsed ${vectors.length} vectors`);
    for (const v of vectors) {
      // A HELLO vector is checked as the first frame; the rest after a completed handshake.
      const isHello = v.bytes[v.bytes[0] < 0x80 ? 1 : 2] === FrameType.HELLO;
      const p = isHello ? await peer() : await upPeer();
      await p.write(v.bytes);
      await expectFatal(p, { codes: [v.code], fragment: v.fragment }).catch((err: Error) => {
        throw new Error(`${v.name}: ${err.message}`, { cause: err });
      });
    }
  });
});

void describe('links: listener limits', () => {
  let trap: ReturnType<typeof trapUncaught>;
  before(() => {
    trap = trapUncaught();
  });
  after(() => trap.uninstall());
  afterEach(() => assert.deepEqual(trap.errors, [], 'no uncaught exception'));

  void it('closes a connection that sends nothing with ERR_TIMEOUT after handshakeTimeoutMs', async () => {
    const h = await ListenerHarness.open({ handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS });
    try {
      const p = await openRawPeer(h.listener.url);
      try {
        await expectFatal(p, { codes: [ErrorCode.TIMEOUT], fragment: 'handshake' });
        await h.checkHealthy();
      } finally {
        p.destroy();
      }
    } finally {
      await h.close();
    }
  });

  void it('refuses a connection over maxConnections with ERR_LIMIT and keeps the others', async () => {
    const h = await ListenerHarness.open({ maxConnections: 1 });
    try {
      const p = await openRawPeer(h.listener.url);
      try {
        await p.write(helloFrame());
        await expectFatal(p, { codes: [ErrorCode.LIMIT], fragment: 'maxConnections' });
        await h.checkHealthy();
      } finally {
        p.destroy();
      }
      // The refused connection did not take the slot: after the healthy link leaves, one fits.
      await h.link.close();
      await waitFor(() => h.listener.links.length === 0, 2000, 'the healthy link gone');
      const again = await openRawPeer(h.listener.url);
      try {
        await again.write(helloFrame());
        await again.waitForFrame(FrameType.HELLO);
        assert.deepEqual(again.errors(), []);
      } finally {
        again.destroy();
      }
    } finally {
      await h.close();
    }
  });
});

void describe('links: auth and abuse', () => {
  let h: ListenerHarness;
  let trap: ReturnType<typeof trapUncaught>;
  const peers: RawPeer[] = [];
  const AUTH = { tokens: { good: {}, narrow: { subscribe: ['allowed.>'] } } };

  before(async () => {
    trap = trapUncaught();
    h = await ListenerHarness.open({ auth: AUTH, keepaliveMs: 0 }, undefined, 'good');
  });

  after(async () => {
    for (const p of peers) p.destroy();
    await h.close();
    trap.uninstall();
  });

  afterEach(async () => {
    assert.deepEqual(trap.errors, [], 'no uncaught exception or unhandled rejection');
    await h.checkHealthy();
  });

  async function peer(): Promise<RawPeer> {
    const p = await openRawPeer(h.listener.url);
    peers.push(p);
    return p;
  }

  void it('rejects a HELLO without a token with ERR_AUTH', async () => {
    const p = await peer();
    await p.write(helloFrame());
    await expectFatal(p, { codes: [ErrorCode.AUTH] });
  });

  void it('rejects a wrong token with ERR_AUTH and acts on none of the frames pipelined after it', async () => {
    const p = await peer();
    const before = h.atHome.length;
    // Everything in one write: the frames after the refused HELLO are in the same chunk.
    await p.write(
      concat(
        helloFrame({ token: 'wrong' }),
        pubFrame(0, 'h.in', 'sneaky'),
        pubFrame(1, 'h.in', 'sneaky'),
        controlFrame(FrameType.INTEREST, { pattern: 'h.>' }),
        controlFrame(FrameType.SUB, subBody(1, 'h.>', { qos: 1, channel: 'steal' }))
      )
    );
    await expectFatal(p, { codes: [ErrorCode.AUTH] });
    await h.roundTrip();
    assert.equal(h.atHome.length, before + 1, 'only the healthy round trip arrived');
    assert.ok(!h.atHome.includes('sneaky'), 'the pipelined PUBs were not published');
    assert.deepEqual(h.home.stats().channels, [], 'the pipelined SUB made no channel');
  });
});

/**
 * A hand-written server for the client side: it answers HELLO and PING as a listener would, and
 * lets a test send anything else on the connection.
 */
class FakeServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly connections: Socket[],
    /** Frames each connection sent, by connection index. */
    readonly received: RawFrame[][]
  ) {}

  /** `answerHello` builds the reply to the client's HELLO (default: a valid HELLO). */
  static async start(answerHello: () => Uint8Array = () => helloFrame({ bus: 'fake' })) {
    const connections: Socket[] = [];
    const received: RawFrame[][] = [];
    const server = createServer((socket) => {
      const index = connections.push(socket) - 1;
      received.push([]);
      let buffered: Uint8Array = new Uint8Array(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        const { frames, rest } = parseFrames(concat(buffered, chunk));
        buffered = rest.slice();
        for (const f of frames) {
          received[index].push(f);
          if (f.type === FrameType.HELLO) socket.write(answerHello());
          else if (f.type === FrameType.PING)
            socket.write(frame(concat(Uint8Array.of(FrameType.PONG), f.body)));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new FakeServer(server, `tcp://127.0.0.1:${port}`, connections, received);
  }

  /** The ERROR frames connection `index` sent, parsed. */
  errorsFrom(index: number): ErrorBody[] {
    return (this.received[index] ?? [])
      .filter((f) => f.type === FrameType.ERROR)
      .map((f) => JSON.parse(Buffer.from(f.body).toString('utf8')) as ErrorBody);
  }

  close(): Promise<void> {
    for (const s of this.connections) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

void describe('links: bad input from a server, on the client side', () => {
  let trap: ReturnType<typeof trapUncaught>;
  before(() => {
    trap = trapUncaught();
  });
  after(() => trap.uninstall());
  afterEach(() => assert.deepEqual(trap.errors, [], 'no uncaught exception'));

  for (const [name, answer] of [
    ['garbage', () => Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
    ['a HELLO of protocol version 3', () => helloFrame({ v: 3, bus: 'fake' })],
    ['a MSG instead of a HELLO', () => msgFrame(0, 'a.b', 'x')]
  ] as const) {
    void it(`rejects connect() with ERR_CONNECT when the server answers HELLO with ${name}, and tells it why`, async () => {
      const server = await FakeServer.start(answer);
      const bus = new Bus();
      try {
        await assert.rejects(
          within(bus.connect(server.url, { reconnect: false }), 5000, 'connect'),
          (err: unknown) => err instanceof RingbusError && err.code === ErrorCode.CONNECT
        );
        assert.deepEqual(bus.stats().links, [], 'the bus keeps no link of the failed connect');
        await waitFor(() => server.errorsFrom(0).length > 0, 2000, 'an ERROR to the server');
        const e = server.errorsFrom(0)[0];
        assert.equal(e.fatal, true);
        assert.equal(e.code, ErrorCode.PROTOCOL);
      } finally {
        await bus.close();
        await server.close();
      }
    });
  }

  void it('drops an up link on bad input from the server with ERR_PROTOCOL, answers with a fatal ERROR, and reconnects', async () => {
    const server = await FakeServer.start();
    const bus = new Bus();
    try {
      const link = await bus.connect(server.url, {
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 }
      });
      const down = nextEvent(bus, 'link-down');
      const up = nextEvent(bus, 'link-up');
      server.connections[0].write(frame([0x7f]));
      const { error } = await within(down, 2000, 'link-down');
      assert.equal(error?.code, ErrorCode.PROTOCOL);
      assert.match(error.message, /unknown frame type 0x7f/);
      await waitFor(() => server.errorsFrom(0).length > 0, 2000, 'an ERROR to the server');
      assert.equal(server.errorsFrom(0)[0].fatal, true);
      assert.equal(await within(up, 5000, 'link-up again'), link);
      assert.equal(server.connections.length, 2, 'a second connection');
      await link.flush();
    } finally {
      await bus.close();
      await server.close();
    }
  });
});
