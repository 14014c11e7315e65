import { ErrorCode, RingbusError } from '../errors.js';
import { writeControl } from '../frames/control.js';
import { FrameEncoder } from '../frames/frame-encoder.js';
import { FrameType } from '../frames/frame-type.js';
import { DEFAULT_RING_BYTES } from '../limits.js';
import { parseWith } from '../options.js';
import type { BridgeHost, NatsBridgeOptions } from './bridge.js';
import { Link, type LinkHost } from './link.js';
import { Listener } from './listener.js';
import {
  type ConnectOptions,
  type ListenOptions,
  type WorkerLinkOptions,
  backoffOf,
  connectOptionsSchema,
  listenOptionsSchema,
  maxConnectionsOf,
  sessionSettings,
  workerLinkOptionsSchema
} from './options.js';
import { type RawHost, RawSession } from './raw-session.js';
import { type LinkSession, Session, type SessionHost, type SessionSettings } from './session.js';
import { type Connection, type TransportAdapter, environment } from './transport.js';

/** What opening links needs from the bus. @internal */
export type OpenHost = LinkHost &
  SessionHost &
  RawHost &
  BridgeHost & { readonly openListeners: Set<Listener> };

/** `bus.listen(url, options)`. @internal */
export async function listenOn(
  bus: OpenHost,
  url: string,
  options: ListenOptions | undefined
): Promise<Listener> {
  const o = parseWith(listenOptionsSchema, options, 'listen options');
  const parsed = parseUrl(url);
  const adapter = adapterOf(parsed);
  const settings = sessionSettings(o, true);
  const maxConnections = maxConnectionsOf(o);
  let listener: Listener | undefined = undefined;
  let accepted = 0;
  const accept = (conn: Connection): void => {
    if (listener === undefined || listener.isClosed) return conn.destroy();
    if (listener.links.length >= maxConnections) return refuse(conn, maxConnections);
    // Unix peers have no address: number them under the listener's URL.
    const name =
      conn.remote === '' ? `${listener.url}#${++accepted}` : `${parsed.protocol}//${conn.remote}`;
    const link = new Link(bus, name, 'in', o.raw !== undefined, undefined, undefined);
    listener.track(link);
    const l = listener;
    link.adopt(
      openSession(bus, conn, settings, o.raw, false, {
        up: (s) => link.sessionUp(s),
        closed: (s, e) => {
          link.sessionClosed(s, e);
          l.forget(link);
        }
      })
    );
  };
  const server = await adapter.listen(
    parsed,
    {
      noDelay: o.noDelay ?? true,
      maxFrameBytes: settings.maxFrameBytes,
      perMessageDeflate: o.perMessageDeflate ?? false,
      origins: o.origins,
      httpServer: o.httpServer,
      tls: o.tls
    },
    accept
  );
  listener = new Listener(server, (l) => bus.openListeners.delete(l));
  bus.openListeners.add(listener);
  return listener;
}

/** `bus.connect(url, options)`: a link, or a bridge for a scheme that has one. @internal */
export async function connectLink(
  bus: OpenHost,
  url: string,
  options: ConnectOptions | NatsBridgeOptions | undefined
): Promise<Link> {
  const parsed = parseUrl(url);
  const bridge = environment.bridges(schemeOf(parsed));
  if (bridge !== undefined) return bridge.connect(bus, parsed, options);
  const o = parseWith(connectOptionsSchema, options, 'connect options');
  const adapter = adapterOf(parsed);
  const settings = sessionSettings(o, false);
  const transport = {
    noDelay: o.noDelay ?? true,
    maxFrameBytes: settings.maxFrameBytes,
    perMessageDeflate: o.perMessageDeflate ?? false,
    timeoutMs: settings.handshakeTimeoutMs,
    ca: o.ca
  };
  const link = new Link(
    bus,
    url,
    'out',
    o.raw !== undefined,
    async (l) => {
      const conn = await adapter.connect(parsed, transport);
      return openSession(bus, conn, settings, o.raw, true, {
        up: (s) => l.sessionUp(s),
        closed: (s, e) => l.sessionClosed(s, e)
      });
    },
    backoffOf(o)
  );
  await link.start();
  return link;
}

/**
 * `bus.connectWorker(worker)` (`worker` set) and `bus.connectParent()` (`worker` undefined): a
 * link over the shared rings of the platform's threads. It never reconnects: a thread that is
 * gone does not come back, so its link goes down and stays down. @internal
 */
export async function connectThreadLink(
  bus: OpenHost,
  worker: unknown,
  options: WorkerLinkOptions | undefined
): Promise<Link> {
  const inWorker = worker === undefined;
  const o = parseWith(workerLinkOptionsSchema, options, 'worker link options');
  const threads = environment.threads();
  if (threads === undefined) {
    throw new RingbusError(
      ErrorCode.UNSUPPORTED_SCHEME,
      'worker links need the Node entry of ringbus (worker_threads); this build has none'
    );
  }
  const settings = sessionSettings(o, false);
  const transport = {
    ringBytes: o.ringBytes ?? DEFAULT_RING_BYTES,
    timeoutMs: settings.handshakeTimeoutMs
  };
  const link = new Link(
    bus,
    inWorker ? 'worker://parent' : 'worker://child',
    'out',
    false,
    async (l) => {
      const conn = inWorker
        ? await threads.connectParent(transport)
        : threads.connectWorker(worker, transport);
      // The worker speaks first, as a connecting client; the parent answers, as a listener.
      return openSession(bus, conn, settings, undefined, inWorker, {
        up: (s) => l.sessionUp(s),
        closed: (s, e) => l.sessionClosed(s, e)
      });
    },
    undefined
  );
  await link.start();
  return link;
}

function openSession(
  bus: OpenHost,
  conn: Connection,
  settings: SessionSettings,
  raw: ListenOptions['raw'],
  isClient: boolean,
  events: ConstructorParameters<typeof Session>[4]
): LinkSession {
  return raw === undefined
    ? new Session(bus, conn, settings, isClient, events)
    : new RawSession(bus, conn, settings, raw, events);
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new RingbusError(
      ErrorCode.INVALID_OPTIONS,
      `url must be a URL such as tcp://127.0.0.1:4222 or unix:///tmp/bus.sock (got ${JSON.stringify(url)})`
    );
  }
}

function schemeOf(url: URL): string {
  return url.protocol.slice(0, -1);
}

function adapterOf(url: URL): TransportAdapter {
  const scheme = schemeOf(url);
  const adapter = environment.transports(scheme);
  if (adapter === undefined) {
    throw new RingbusError(
      ErrorCode.UNSUPPORTED_SCHEME,
      `no adapter handles '${scheme}://' here; use tcp://, tcp4://, tcp6://, unix://, ws:// or wss:// on Node (connect also takes nats://), or register an adapter for '${scheme}'`
    );
  }
  return adapter;
}

/** Tells a connection over the limit why, then closes it. */
function refuse(conn: Connection, max: number): void {
  const enc = new FrameEncoder();
  writeControl(enc, FrameType.ERROR, {
    code: ErrorCode.LIMIT,
    message: `this listener accepts ${max} links at once (maxConnections)`,
    fatal: true
  });
  conn.setHandlers({ data: () => undefined, drain: () => undefined, close: () => undefined });
  conn.write(enc.take());
  conn.end();
}
