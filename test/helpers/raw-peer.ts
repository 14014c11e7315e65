import assert from 'node:assert/strict';
import { type Socket, connect } from 'node:net';
import {
  Bus,
  type LinkDownEvent,
  type Link,
  type Listener,
  type ListenOptions,
  RingbusError
} from '../../adapters/node.js';
import { WebSocket } from 'ws';
import { RingReader } from '../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../adapters/worker/ring-writer.js';
import { RING_HEADER_BYTES, RingWord } from '../../adapters/worker/shared-ring.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { type RingPair, dialRing, isRingUrl } from './ring-transport.js';
import { waitFor } from './wait.js';

/**
 * A plain `node:net` (or `ws`, or shared-ring) client for adversarial link tests: it writes
 * whatever bytes a test gives it, keeps every byte the server sends back, and records whether and
 * when the server closed the connection. It speaks no protocol by itself; the frame builders
 * below make the valid parts.
 */

/** One frame read back from the server: its type byte and the rest of its body. */
export interface RawFrame {
  type: number;
  body: Uint8Array;
}

/** The JSON of an ERROR frame. */
export interface ErrorBody {
  code: string;
  message: string;
  fatal: boolean;
  sid?: number;
  pubId?: number;
}

/**
 * The byte stream under a {@link RawPeer}: a socket, a WebSocket whose messages are chunks, or
 * the two shared rings of a `ring://` connection.
 */
interface Pipe {
  write(bytes: Uint8Array, done: () => void): void;
  pause(): void;
  resume(): void;
  end(): void;
  destroy(): void;
  readonly destroyed: boolean;
}

export class RawPeer {
  /** Set once the server ended the connection, or it is gone. */
  isClosed = false;
  /** Set when the server ended its side (FIN) before this peer ended or destroyed its own. */
  closedByServer = false;
  /** Resolves when the server ended the connection (FIN), or it is gone. */
  readonly closed: Promise<void>;
  private readonly chunks: Uint8Array[] = [];
  private readonly listeners: ((chunk: Uint8Array) => void)[] = [];
  private ended = false;
  private done: () => void = () => undefined;

  private constructor(private readonly pipe: Pipe) {
    this.closed = new Promise((resolve) => {
      this.done = () => {
        if (this.isClosed) return;
        if (!this.ended) this.closedByServer = true;
        this.isClosed = true;
        resolve();
      };
    });
  }

  /** A peer over a connected `node:net` socket. */
  static overSocket(socket: Socket): RawPeer {
    // Each write its own segment, so chunk boundaries mostly survive to the server.
    socket.setNoDelay(true);
    const peer = new RawPeer({
      write: (bytes, done) => socket.write(bytes, () => done()),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      end: () => socket.end(),
      destroy: () => socket.destroy(),
      get destroyed() {
        return socket.destroyed;
      }
    });
    // Errors (ECONNRESET from a server that destroys) are expected here: 'close' follows.
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => peer.receive(chunk));
    // The server's FIN ends the connection for the test; our side then ends too (half-open
    // sockets are only allowed so that a peer that ended first still reads the answer).
    socket.on('end', () => {
      peer.done();
      socket.end();
    });
    socket.once('close', () => peer.done());
    return peer;
  }

  /** A peer over an open WebSocket: each write is one binary message. */
  static overWebSocket(ws: WebSocket): RawPeer {
    const peer = new RawPeer({
      write: (bytes, done) => ws.send(bytes, { binary: true }, () => done()),
      pause: () => ws.pause(),
      resume: () => ws.resume(),
      end: () => ws.close(1000),
      destroy: () => ws.terminate(),
      get destroyed() {
        return ws.readyState === WebSocket.CLOSED;
      }
    });
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => peer.receive(data));
    ws.once('close', () => peer.done());
    return peer;
  }

  /** A peer over the two rings of a `ring://` connection (test/helpers/ring-transport.ts). */
  static overRings(pair: RingPair): RawPeer {
    const pipe = new RingPipe(pair);
    const peer = new RawPeer(pipe);
    // Reading starts once the peer exists: the listener may have written already (a refusal).
    pipe.start(
      (chunk) => peer.receive(chunk),
      () => peer.done()
    );
    return peer;
  }

  private receive(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    for (const fn of this.listeners) fn(chunk);
  }

  /** Every byte received so far. */
  get received(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  /** Calls `fn` with every chunk received from now on. */
  onData(fn: (chunk: Uint8Array) => void): void {
    this.listeners.push(fn);
  }

  /** Stops reading: the server's bytes pile up in its buffers. */
  pause(): void {
    this.pipe.pause();
  }

  resume(): void {
    this.pipe.resume();
  }

  /** The frames received so far (complete ones; a partial tail is ignored). */
  frames(): RawFrame[] {
    return parseFrames(this.received).frames;
  }

  /** The ERROR frames received so far, parsed. */
  errors(): ErrorBody[] {
    return this.frames()
      .filter((f) => f.type === FrameType.ERROR)
      .map((f) => JSON.parse(Buffer.from(f.body).toString('utf8')) as ErrorBody);
  }

  /** Writes bytes; resolves when they were handed to the kernel (or the connection is gone). */
  write(bytes: Uint8Array): Promise<void> {
    if (this.isClosed || this.pipe.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.pipe.write(bytes, resolve));
  }

  /** Writes the chunks one after another, each its own write. */
  async writeChunks(chunks: readonly Uint8Array[]): Promise<void> {
    for (const chunk of chunks) if (chunk.length > 0) await this.write(chunk);
  }

  /** Ends this side (FIN); the server's bytes can still arrive (the socket is half-open). */
  end(): void {
    this.ended = true;
    this.pipe.end();
  }

  /** Closes at once (idempotent). */
  destroy(): void {
    this.ended = true;
    this.pipe.destroy();
  }

  /** Resolves once a frame of `type` arrived (or rejects when the connection closes first). */
  async waitForFrame(type: number, timeoutMs = 2000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames().find((f) => f.type === type);
      if (found !== undefined) return found;
      if (this.isClosed) throw new Error(`connection closed before a frame of type ${type}`);
      if (Date.now() > deadline) throw new Error(`no frame of type ${type} in ${timeoutMs} ms`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/**
 * Opens a raw peer to a `tcp://host:port`, `unix:///path`, `ws://host:port/path` or `ring://name`
 * URL.
 */
export function openRawPeer(url: string): Promise<RawPeer> {
  const parsed = new URL(url);
  if (isRingUrl(parsed)) {
    return new Promise((resolve) => resolve(RawPeer.overRings(dialRing(parsed))));
  }
  if (parsed.protocol === 'ws:') {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.removeListener('error', reject);
        resolve(RawPeer.overWebSocket(ws));
      });
      ws.once('error', reject);
    });
  }
  // allowHalfOpen: after `end()` the peer still reads what the server answers.
  const socket =
    parsed.protocol === 'unix:'
      ? connect({ path: decodeURIComponent(parsed.pathname), allowHalfOpen: true })
      : connect({
          host: parsed.hostname.replace(/^\[|\]$/g, ''),
          port: Number(parsed.port),
          allowHalfOpen: true
        });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(RawPeer.overSocket(socket));
    });
    socket.once('error', reject);
  });
}

/**
 * The {@link Pipe} of a `ring://` raw peer: it writes raw bytes into the ring the bus reads and
 * keeps what the bus writes into the other. Each write is copied in as its own records and is
 * done once the other end has read them, so every write reaches the bus as a chunk of its own
 * (without that wait, the bus would take all the writes of a turn as one run of the ring).
 * Paused, it leaves the bus's ring unread, which fills.
 */
class RingPipe implements Pipe {
  destroyed = false;
  private readonly writer: RingWriter;
  private readonly reader: RingReader;
  /** The header words of the ring this side writes: its WRITE and READ indices. */
  private readonly outHeader: Int32Array;
  /** Writes (and `end`) run one after another: a ring end takes one wait at a time. */
  private writes: Promise<void> = Promise.resolve();
  private paused = false;
  private wake: () => void = () => undefined;

  constructor(pair: RingPair) {
    this.writer = new RingWriter(pair.out);
    this.reader = new RingReader(pair.in);
    this.outHeader = new Int32Array(pair.out, 0, RING_HEADER_BYTES / 4);
  }

  /** Starts reading: every chunk goes to `onData`; `onClose` once the connection is gone. */
  start(onData: (chunk: Uint8Array) => void, onClose: () => void): void {
    void this.readLoop(onData, onClose);
  }

  write(bytes: Uint8Array, done: () => void): void {
    this.writes = this.writes.then(() => this.copyIn(bytes)).then(done);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  /** Ends the ring this side writes once the writes before are in, as a socket's FIN. */
  end(): void {
    this.writes = this.writes.then(() => this.writer.end());
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writer.end();
    this.reader.detach(); // wakes the read loop, which reports the close
    this.wake();
  }

  private async copyIn(bytes: Uint8Array): Promise<void> {
    const writer = this.writer;
    const maxRecord = writer.capacity >>> 2;
    for (let at = 0; at < bytes.length;) {
      const n = Math.min(bytes.length - at, maxRecord);
      if (writer.write(bytes.subarray(at, at + n))) at += n;
      // False once the bus detached (closed the connection): the rest goes nowhere, as on a reset.
      else if (!(await writer.waitForSpaceAsync(n, Infinity))) return;
    }
    const header = this.outHeader;
    await waitFor(
      () =>
        writer.closed ||
        Atomics.load(header, RingWord.READ) === Atomics.load(header, RingWord.WRITE),
      5000,
      'the bus reading what the raw peer wrote'
    );
  }

  private async readLoop(onData: (chunk: Uint8Array) => void, onClose: () => void): Promise<void> {
    const reader = this.reader;
    while (!this.destroyed) {
      if (this.paused) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const n = reader.available();
      if (n > 0) {
        const at = reader.readOffset;
        onData(reader.data.slice(at, at + n)); // a copy: the writer reuses the space
        reader.release(n);
        await Promise.resolve();
      } else if (reader.ended) {
        // ENDED is raised after the last record: with none left, the bus closed the connection.
        // As a socket after the server's FIN, this side ends too.
        if (reader.available() === 0) {
          onClose();
          this.end();
          this.reader.detach();
          return;
        }
      } else await reader.waitForDataAsync(Infinity);
    }
    onClose();
  }
}

// --- frame builders (independent of src/frames, so the tests do not trust the encoder) ------

/** Unsigned LEB128 of `value` (0 … 2^53 − 1). */
export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** A frame: varint length of `body`, then `body`. */
export function frame(body: Uint8Array | readonly number[]): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  return concat(varint(b.length), b);
}

/** A control frame: the type byte, then `json` as UTF-8 (a string is sent as is, unchecked). */
export function controlFrame(type: number, json: unknown): Uint8Array {
  const text = typeof json === 'string' ? json : JSON.stringify(json);
  return frame(concat(Uint8Array.of(type), Buffer.from(text, 'utf8')));
}

/** A valid HELLO body; `overrides` change or (with `undefined`) remove fields. */
export function helloBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    v: 1,
    bus: 'raw-peer',
    maxFrameBytes: 1048576,
    keepaliveMs: 0,
    ...overrides
  };
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  return body;
}

/** A HELLO frame (see {@link helloBody}). */
export function helloFrame(overrides: Record<string, unknown> = {}): Uint8Array {
  return controlFrame(FrameType.HELLO, helloBody(overrides));
}

/** A SUB body with valid queue options for `pattern` (QoS 0, no channel unless given). */
export function subBody(
  sid: number,
  pattern: string,
  overrides: Record<string, unknown> = {}
): Record<string, unknown> {
  return {
    sid,
    pattern,
    qos: 0,
    queueSize: 16,
    overflow: 'drop-oldest',
    conflate: false,
    ackTimeoutMs: 1000,
    maxAttempts: 5,
    credit: 16,
    ...overrides
  };
}

/** A PING frame with `id`. */
export function pingFrame(id: number): Uint8Array {
  return frame(concat(Uint8Array.of(FrameType.PING), varint(id)));
}

/** A string field: UTF-8 byte length, then the bytes. */
export function strField(s: string): Uint8Array {
  const bytes = Buffer.from(s, 'utf8');
  return concat(varint(bytes.length), bytes);
}

/**
 * A QoS 0 MSG frame (no tag, no headers, no TTL) with a UTF-8 string payload; `sid` 0 is an
 * interest delivery.
 */
export function msgFrame(sid: number, topic: string, payload: string, id = 1): Uint8Array {
  return frame(
    concat(
      Uint8Array.of(FrameType.MSG, 0),
      varint(sid),
      varint(id),
      varint(1), // attempt
      varint(0), // hops
      strField(topic),
      Uint8Array.of(1), // payload kind: string
      Buffer.from(payload, 'utf8')
    )
  );
}

/** A PUB frame with a UTF-8 string payload; `pubId` > 0 asks for a PUBACK (QoS 1). */
export function pubFrame(pubId: number, topic: string, payload: string): Uint8Array {
  return frame(
    concat(
      Uint8Array.of(FrameType.PUB, pubId > 0 ? 1 : 0),
      varint(pubId),
      strField(topic),
      Uint8Array.of(1),
      Buffer.from(payload, 'utf8')
    )
  );
}

/**
 * Splits a byte stream into frames. `rest` is the unparsed tail (a partial frame); `malformed` is
 * set when a length prefix is longer than 5 bytes.
 */
export function parseFrames(bytes: Uint8Array): {
  frames: RawFrame[];
  rest: Uint8Array;
  malformed: boolean;
} {
  const frames: RawFrame[] = [];
  let pos = 0;
  for (;;) {
    let length = 0;
    let weight = 1;
    let i = pos;
    let complete = false;
    while (i < bytes.length && i - pos < 5) {
      const b = bytes[i++];
      length += (b & 0x7f) * weight;
      weight *= 0x80;
      if ((b & 0x80) === 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      const malformed = i - pos >= 5;
      return { frames, rest: bytes.subarray(pos), malformed };
    }
    if (bytes.length - i < length) return { frames, rest: bytes.subarray(pos), malformed: false };
    const body = bytes.subarray(i, i + length);
    if (body.length > 0) frames.push({ type: body[0], body: body.subarray(1) });
    else frames.push({ type: -1, body });
    pos = i + length;
  }
}

/**
 * Records uncaught exceptions and unhandled rejections while installed, so a test can assert that
 * nothing a peer sent made the process throw (a listener also keeps one from ending the run).
 */
export function trapUncaught(): { readonly errors: unknown[]; uninstall(): void } {
  const errors: unknown[] = [];
  const record = (err: unknown): void => {
    errors.push(err);
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    errors,
    uninstall() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    }
  };
}

/**
 * A listening bus with one healthy client link, for tests that attack the listener with other
 * connections: `checkHealthy()` proves the healthy link still carries messages both ways and the
 * listener holds nothing of the connections that are gone.
 */
export class ListenerHarness {
  /** Messages the listening bus received on `h.in` (sent by the healthy link). */
  readonly atHome: unknown[] = [];
  /** Messages the client bus received on `h.out` (published on the listening bus). */
  readonly atClient: unknown[] = [];
  /** 'link-down' events of the listening bus. */
  readonly linkDowns: LinkDownEvent[] = [];
  /** 'error' events of the listening bus. */
  readonly errors: unknown[] = [];
  private seq = 0;
  private baseline = { subscriptions: 0, queues: 0, channels: 0 };

  private constructor(
    readonly home: Bus,
    readonly listener: Listener,
    readonly client: Bus,
    readonly link: Link
  ) {}

  /**
   * @param options - listen options (the URL is always tcp://127.0.0.1:0)
   * @param setupHome - subscriptions the listening bus has before the healthy link connects
   * @param token - the healthy link's token, when `options` has auth
   */
  static async open(
    options: ListenOptions = {},
    setupHome: (home: Bus) => void = () => undefined,
    token?: string
  ): Promise<ListenerHarness> {
    const home = new Bus();
    const client = new Bus();
    try {
      setupHome(home);
      const listener = await home.listen('tcp://127.0.0.1:0', options);
      const link = await client.connect(listener.url, { reconnect: false, token });
      const h = new ListenerHarness(home, listener, client, link);
      home.subscribe('h.in', (msg) => void h.atHome.push(msg.payload));
      client.subscribe('h.out', (msg) => void h.atClient.push(msg.payload));
      home.on('link-down', (e) => void h.linkDowns.push(e));
      home.on('error', (e) => void h.errors.push(e));
      await link.flush();
      await h.roundTrip();
      const s = home.stats();
      h.baseline = {
        subscriptions: s.subscriptions.length,
        queues: s.queues.length,
        channels: s.channels.length
      };
      return h;
    } catch (err) {
      await Promise.all([client.close(), home.close()]);
      throw err;
    }
  }

  /** One message each way over the healthy link (a QoS 1 remote publish, and interest delivery). */
  async roundTrip(): Promise<void> {
    const n = ++this.seq;
    await this.link.publish('h.in', n, { qos: 1 });
    await waitFor(() => this.atHome.includes(n), 2000, `message ${n} at the listening bus`);
    this.home.publish('h.out', n);
    await waitFor(() => this.atClient.includes(n), 2000, `message ${n} at the client bus`);
  }

  /**
   * The healthy link works, and the listening bus is back to its state before the attack: one
   * accepted link, no queues or subscriptions left of the closed connections, only RingbusErrors
   * on 'error'.
   */
  async checkHealthy(): Promise<void> {
    await this.roundTrip();
    await waitFor(() => this.listener.links.length === 1, 2000, 'one accepted link left');
    assert.equal(this.link.state, 'up');
    const s = this.home.stats();
    assert.deepEqual(
      s.links.map((l) => [l.direction, l.state]),
      [['in', 'up']],
      'the listening bus lists only the healthy link'
    );
    assert.deepEqual(
      {
        subscriptions: s.subscriptions.length,
        queues: s.queues.length,
        channels: s.channels.length
      },
      this.baseline,
      'nothing of the closed connections is left in the listening bus'
    );
    for (const e of this.errors) assert.ok(e instanceof RingbusError, `'error' got ${String(e)}`);
  }

  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.home.close()]);
  }
}
