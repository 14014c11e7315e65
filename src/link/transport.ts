import type { Logger } from '../logger.js';
import type { StoreOpener } from '../store.js';
import type { Bridge } from './bridge.js';
import type { TlsServerOptions } from './options.js';

/**
 * What a transport adapter provides: byte streams, nothing about frames or the bus. The link
 * logic (src/link/) speaks the protocol over any of them; adapters/ holds the Node ones.
 */

/** Callbacks a {@link Connection} reports to; set once, right after it is made. */
export interface ConnectionHandlers {
  /** Bytes arrived; the chunk may be reused by the transport once this returns. */
  data(chunk: Uint8Array): void;
  /** A write that returned false has drained: writing may go on. */
  drain(): void;
  /** The connection is gone (ended, reset or destroyed); called once. */
  close(): void;
}

/** One open byte stream to a peer. */
export interface Connection {
  /** Peer address, for stats and logs. */
  readonly remote: string;
  /** Attaches the handlers; the adapter delivers nothing before. */
  setHandlers(handlers: ConnectionHandlers): void;
  /** Bytes written and not yet handed to the peer (the transport's send buffer). */
  readonly bufferedBytes: number;
  /** Queues bytes; false asks the writer to wait for `drain` (the bytes are still sent). */
  write(bytes: Uint8Array): boolean;
  /** Sends what is queued, then closes. */
  end(): void;
  /** Closes at once, discarding what is queued. */
  destroy(): void;
}

/** A listening endpoint. */
export interface TransportServer {
  /** The URL it listens on, with the real port when port 0 was asked for. */
  readonly url: string;
  /** Stops accepting; open connections are the caller's to close. */
  close(): Promise<void>;
}

/** Transport options every adapter understands. */
export interface TransportOptions {
  /** Disable Nagle's algorithm (TCP): lower latency, more packets. */
  readonly noDelay: boolean;
  /** Largest frame body this end accepts; a message-based transport sizes its messages by it. */
  readonly maxFrameBytes: number;
  /** WebSocket: offer or accept permessage-deflate. */
  readonly perMessageDeflate: boolean;
}

/** What `connect` passes besides {@link TransportOptions}. */
export interface ConnectTransportOptions extends TransportOptions {
  /** Time allowed for the connection (and a TLS or WebSocket handshake) to complete. */
  readonly timeoutMs: number;
  /** TLS (wss://): CA certificates to trust (PEM) instead of the platform's; undefined: the platform's. */
  readonly ca: string | readonly string[] | undefined;
}

/** What `listen` passes besides {@link TransportOptions} (each adapter takes what applies). */
export interface ListenTransportOptions extends TransportOptions {
  /** WebSocket: accepted `Origin` header values; undefined accepts any. */
  readonly origins: readonly string[] | undefined;
  /** WebSocket: an HTTP(S) server to take upgrades from instead of one of the adapter's own. */
  readonly httpServer: object | undefined;
  /** WebSocket: key and certificate (PEM) for a `wss://` server of the adapter's own. */
  readonly tls: Readonly<TlsServerOptions> | undefined;
}

/**
 * A transport for one or more URL schemes (`tcp`, `unix`, …). Register your own on Node through
 * the tsyringe container (see docs/network.md).
 */
export interface TransportAdapter {
  /** Listens on `url` and hands every accepted connection to `accept`. */
  listen(
    url: URL,
    options: ListenTransportOptions,
    accept: (conn: Connection) => void
  ): Promise<TransportServer>;
  /** Opens a connection to `url`; rejects on failure or after `timeoutMs`. */
  connect(url: URL, options: ConnectTransportOptions): Promise<Connection>;
}

/** What `connectWorker` / `connectParent` pass to the platform's threads. */
export interface ThreadTransportOptions {
  /** Bytes of each direction's shared ring. */
  readonly ringBytes: number;
  /** Time the worker side waits for its parent's offer. */
  readonly timeoutMs: number;
}

/**
 * Links between threads over shared-memory rings (adapters/worker/): the parent offers a worker
 * two rings, the worker takes them. A link's frames then never pass through `postMessage`.
 */
export interface ThreadTransport {
  /** Parent side: hands `worker` the rings of a new link. */
  connectWorker(worker: unknown, options: ThreadTransportOptions): Connection;
  /** Worker side: waits for the parent's offer; rejects after `timeoutMs`. */
  connectParent(options: ThreadTransportOptions): Promise<Connection>;
}

/** Finds the adapter of a URL scheme (without the colon). */
export type TransportResolver = (scheme: string) => TransportAdapter | undefined;

/** Finds the bridge of a URL scheme (without the colon): `nats`, `tls` on Node. */
export type BridgeResolver = (scheme: string) => Bridge | undefined;

/**
 * Defaults the platform entry fills in (the Node entry: from the tsyringe container). The core
 * has no transports of its own, so it runs anywhere. @internal
 */
export const environment: {
  transports: TransportResolver;
  bridges: BridgeResolver;
  logger: () => Logger | undefined;
  threads: () => ThreadTransport | undefined;
  store: () => StoreOpener | undefined;
} = {
  transports: () => undefined,
  bridges: () => undefined,
  logger: () => undefined,
  threads: () => undefined,
  store: () => undefined
};
