import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  Bus,
  type BusOptions,
  type ConnectOptions,
  type ErrorCode,
  type Link,
  type LinkDownEvent,
  type Listener,
  type ListenOptions,
  type Message,
  RingbusError,
  type SubscribeOptions
} from '../../adapters/node.js';
import { waitFor } from './wait.js';

/**
 * Helpers for link tests: buses linked over loopback TCP or a Unix socket, event recorders, and
 * plain `node:net` peers (a counting server, a proxy that can freeze or cut a connection).
 */

/** The transports the link tests run over. */
export type UrlKind = 'tcp' | 'unix';

let socketSeq = 0;

/** A fresh Unix socket path under os.tmpdir() (short: the limit is about 100 bytes). */
export function tempSocketPath(label = 'link'): string {
  return join(tmpdir(), `rb-${label}-${process.pid}-${++socketSeq}.sock`);
}

/** A URL to listen on: `tcp://127.0.0.1:0` or a fresh `unix:///tmp/…sock`. */
export function listenUrl(kind: UrlKind, label?: string): string {
  return kind === 'tcp' ? 'tcp://127.0.0.1:0' : `unix://${tempSocketPath(label)}`;
}

/** The socket path of a `unix://` URL, or undefined for other schemes. */
export function socketPathOf(url: string): string | undefined {
  const u = new URL(url);
  return u.protocol === 'unix:' ? decodeURIComponent(u.pathname) : undefined;
}

/** What {@link linkPair} builds: a listening `server`, a connected `client` and the link. */
export interface LinkPair {
  readonly server: Bus;
  readonly client: Bus;
  readonly listener: Listener;
  /** The client's link ('out'). */
  readonly link: Link;
  /** The server's accepted link ('in'). */
  readonly accepted: Link;
}

export interface LinkPairOptions {
  /** Where the server listens (default tcp://127.0.0.1:0). */
  url?: string;
  server?: BusOptions;
  client?: BusOptions;
  listen?: ListenOptions;
  /** Connect options; `reconnect` defaults to false so a test's end does not start a retry loop. */
  connect?: ConnectOptions;
  /** Runs before connecting (subscriptions made here are registered when connect() resolves). */
  before?: (server: Bus, client: Bus) => void;
}

/**
 * Two buses linked over loopback, closed (client first) when the test ends. Subscriptions made in
 * `before` are in effect on both sides when this resolves.
 */
export async function linkPair(t: TestContext, options: LinkPairOptions = {}): Promise<LinkPair> {
  const server = new Bus(options.server);
  const client = new Bus(options.client);
  t.after(async () => {
    await client.close();
    await server.close();
  });
  options.before?.(server, client);
  const listener = await server.listen(options.url ?? 'tcp://127.0.0.1:0', options.listen);
  const link = await client.connect(listener.url, { reconnect: false, ...options.connect });
  // The accepted link is up once the client's connect PING was answered.
  assert.equal(listener.links.length, 1, 'the listener accepted one link');
  return { server, client, listener, link, accepted: listener.links[0] };
}

/** Subscribes `pattern` with a push handler that records every message. */
export function collect<P = unknown>(
  bus: Bus,
  pattern: string,
  options?: SubscribeOptions
): Message<P>[] {
  const got: Message<P>[] = [];
  bus.subscribe(pattern, (msg) => void got.push(msg as Message<P>), options);
  return got;
}

/** Records a bus's link events and errors, in order. */
export class LinkEvents {
  readonly ups: Link[] = [];
  readonly downs: LinkDownEvent[] = [];
  readonly errors: RingbusError[] = [];

  constructor(readonly bus: Bus) {
    bus.on('link-up', (link) => void this.ups.push(link));
    bus.on('link-down', (event) => void this.downs.push(event));
    bus.on('error', (err) => void this.errors.push(err));
  }

  /** Resolves once `n` 'link-up' events were seen in total. */
  upCount(n: number, timeoutMs = 3000): Promise<void> {
    return waitFor(() => this.ups.length >= n, timeoutMs, `${n} link-up events`);
  }

  /** Resolves once `n` 'link-down' events were seen in total. */
  downCount(n: number, timeoutMs = 3000): Promise<void> {
    return waitFor(() => this.downs.length >= n, timeoutMs, `${n} link-down events`);
  }

  /** The codes of the errors seen so far. */
  get errorCodes(): string[] {
    return this.errors.map((e) => e.code);
  }
}

/**
 * Asserts that `promise` rejects with a RingbusError of `code` (and a message matching
 * `fragment`, when given); returns the error for further checks.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  fragment?: RegExp
): Promise<RingbusError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof RingbusError, `a RingbusError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (fragment !== undefined) assert.match(caught.message, fragment);
  return caught;
}

/** Where a plain `node:net` server listens: a TCP port on 127.0.0.1 or a Unix socket path. */
function listenPlain(server: Server, where: number | string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.removeListener('error', reject);
      if (typeof where === 'string') resolve(`unix://${where}`);
      else resolve(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`);
    };
    if (typeof where === 'string') server.listen(where, done);
    else server.listen(where, '127.0.0.1', done);
  });
}

/** The port of a `tcp://host:port` URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * A plain server that speaks no protocol: it counts connections and keeps what each sends. With
 * `hangUp` it destroys every connection at once (a peer that refuses to talk).
 */
export class PlainServer {
  readonly sockets: Socket[] = [];
  /** Bytes received, per connection in accept order. */
  readonly received: Buffer[][] = [];
  /** Where it listens: `tcp://127.0.0.1:port` or `unix:///path`. */
  url = '';
  private readonly server: Server;

  private constructor(hangUp: boolean) {
    this.server = createServer((socket) => {
      const chunks: Buffer[] = [];
      this.sockets.push(socket);
      this.received.push(chunks);
      socket.on('error', () => undefined);
      if (hangUp) socket.destroy();
      else socket.on('data', (chunk: Buffer) => void chunks.push(chunk));
    });
  }

  /** Listens on `where` (a port, 0 for any; or a Unix socket path). */
  static async open(where: number | string = 0, hangUp = false): Promise<PlainServer> {
    const self = new PlainServer(hangUp);
    self.url = await listenPlain(self.server, where);
    return self;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.sockets.length;
  }

  /** Everything connection `i` sent so far. */
  bytes(i = 0): Buffer {
    return Buffer.concat(this.received[i] ?? []);
  }

  /** Destroys every connection and stops listening. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A TCP proxy in front of a listener: links made through it can be cut (both sockets destroyed,
 * as when a process dies or a cable is pulled) or frozen (nothing forwarded either way, as when a
 * peer hangs), which a bus cannot do to its own links.
 */
export class LinkProxy {
  /** Where links connect to reach the target through the proxy. */
  url = '';
  private readonly pairs: [Socket, Socket][] = [];
  private frozen = false;
  private readonly server: Server;

  private constructor(private target: URL) {
    this.server = createServer((inbound) => {
      const t = this.target;
      const outbound =
        t.protocol === 'unix:'
          ? connect({ path: decodeURIComponent(t.pathname) })
          : connect({ host: t.hostname, port: Number(t.port) });
      // A frozen proxy passes on nothing, not even a close: the other side must find out alone.
      const closeBoth = (other: Socket) => () => void (this.frozen || other.destroy());
      inbound.on('error', closeBoth(outbound));
      outbound.on('error', closeBoth(inbound));
      inbound.on('close', closeBoth(outbound));
      outbound.on('close', closeBoth(inbound));
      inbound.on('data', (c: Buffer) => void (this.frozen || outbound.write(c)));
      outbound.on('data', (c: Buffer) => void (this.frozen || inbound.write(c)));
      this.pairs.push([inbound, outbound]);
    });
  }

  /** A proxy on a free loopback port in front of `target` (a tcp:// or unix:// URL). */
  static async open(target: string): Promise<LinkProxy> {
    const self = new LinkProxy(new URL(target));
    self.url = await listenPlain(self.server, 0);
    return self;
  }

  /** New connections go to `target` from now on (existing ones stay where they are). */
  retarget(target: string): void {
    this.target = new URL(target);
  }

  /** Connections made through the proxy so far. */
  get connections(): number {
    return this.pairs.length;
  }

  /** Bytes read from either side of every connection so far: what crossed the wire. */
  get bytes(): number {
    return this.pairs.reduce((n, [a, b]) => n + a.bytesRead + b.bytesRead, 0);
  }

  /** Destroys every connection through the proxy (new ones are still accepted). */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
  }

  /** From now on nothing is forwarded either way, not even a close; the sockets stay open. */
  freeze(): void {
    this.frozen = true;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Leaves a stale Unix socket file at `path`: a child process listens there and is killed with
 * SIGKILL, so nothing removes the file (as after a crash).
 */
export async function leaveStaleSocket(path: string): Promise<void> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the child exited early (${code})`)));
      child.stdout!.once('data', () => resolve());
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
  assert.ok(existsSync(path), 'the killed child left its socket file');
}

/** `n` bytes whose content depends on `seed` and the position (to detect reordering or clobbering). */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

/**
 * Lets `ms` pass. Only for showing that something does NOT happen within a window many times
 * longer than the delay it would take (a retry that must not come); never to wait for something.
 */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
