import { Worker } from 'node:worker_threads';
import {
  ErrorCode,
  RingReader,
  RingWriter,
  RingbusError,
  createSharedRing,
  registerTransport
} from '../../adapters/node.js';
import { RingConnection } from '../../adapters/worker/ring-connection.js';
import type { Connection, TransportAdapter } from '../../src/link/transport.js';

/**
 * A test-only transport over the worker links' shared rings, so the URL-based transport
 * conformance suite (test/conformance/transport.ts) runs over `RingConnection` too.
 *
 * - `ring://name`: `listen` registers `name`; `connect` makes two rings (one per direction),
 *   builds a `RingConnection` on each side and hands the listener's to its `accept`. Both ends
 *   run in the test's thread: what is exercised is the connection's semantics (framing whatever
 *   the chunking, backpressure, close, limits, error frames), not the threads.
 * - `ring-thread://name`: the same, with a worker thread relaying each direction between the
 *   client's ring and the listener's (blocking waits there, `waitAsync` here), so every byte
 *   crosses threads through shared memory and both sides' wake-ups are real.
 *
 * A raw peer (test/helpers/raw-peer.ts) dials with {@link dialRing} and speaks bytes into the
 * rings directly.
 */

/** Each direction's ring: small, so frames larger than a ring (split into records) are routine. */
export const TEST_RING_BYTES = 64 * 1024;

/** The schemes {@link registerRingTransports} registers. */
export type RingScheme = 'ring' | 'ring-thread';

/** A dialled connection's two rings, seen from the connecting side. */
export interface RingPair {
  /** The ring this side writes (the listener reads it). */
  readonly out: SharedArrayBuffer;
  /** The ring this side reads (the listener writes it). */
  readonly in: SharedArrayBuffer;
  /** The listener's name, as a socket's remote address. */
  readonly remote: string;
}

interface RingRegistry {
  /** Listening names and their `accept`. */
  readonly names: Map<string, (conn: Connection) => void>;
  /** A worker thread relays each direction. */
  readonly relay: boolean;
}

const registries = new Map<string, RingRegistry>([
  ['ring', { names: new Map(), relay: false }],
  ['ring-thread', { names: new Map(), relay: true }]
]);

const RELAY = new URL('./ring-relay.js', import.meta.url);

let nameSeq = 0;

/** A fresh URL to listen on: `ring://conf-<pid>-<n>` (or `ring-thread://…`). */
export function ringUrl(scheme: RingScheme = 'ring', label = 'conf'): string {
  return `${scheme}://${label}-${process.pid}-${++nameSeq}`;
}

/** True for the URLs of the ring schemes (`ring:`, `ring-thread:`). */
export function isRingUrl(url: URL): boolean {
  return registries.has(url.protocol.slice(0, -1));
}

function registryOf(url: URL): RingRegistry {
  const registry = registries.get(url.protocol.slice(0, -1));
  if (registry === undefined) throw new Error(`not a ring URL: ${url.href}`);
  return registry;
}

function nameOf(url: URL): string {
  if (url.host === '') {
    throw new RingbusError(
      ErrorCode.INVALID_OPTIONS,
      `a ring URL names its listener, such as ring://bus (got ${url.href})`
    );
  }
  return url.host + url.pathname;
}

/**
 * Connects to the listener of `url`: makes the rings, hands the listener its `RingConnection`
 * (at once, before this returns) and returns this side's rings.
 *
 * @throws {@link RingbusError} `ERR_CONNECT` (ECONNREFUSED) when nothing listens on that name
 */
export function dialRing(url: URL): RingPair {
  const registry = registryOf(url);
  const name = nameOf(url);
  const accept = registry.names.get(name);
  if (accept === undefined) {
    throw new RingbusError(
      ErrorCode.CONNECT,
      `could not connect to ${url.href}: ECONNREFUSED, nothing listens on '${name}'`
    );
  }
  const ring = (): SharedArrayBuffer => createSharedRing({ capacityBytes: TEST_RING_BYTES });
  const out = ring();
  const in_ = ring();
  let listenerIn = out;
  let listenerOut = in_;
  if (registry.relay) {
    listenerIn = ring();
    listenerOut = ring();
    relay(out, listenerIn);
    relay(listenerOut, in_);
  }
  // Like a Unix socket peer, an accepted ring has no address: the listener numbers it.
  accept(new RingConnection(new RingWriter(listenerOut), new RingReader(listenerIn), '', noop));
  return { out, in: in_, remote: name };
}

/**
 * A worker thread copying `from` into `to` until either side is done (test/helpers/ring-relay.ts).
 * Unreferenced: it ends on its own once the connection is closed, and never holds the process.
 */
function relay(from: SharedArrayBuffer, to: SharedArrayBuffer): void {
  new Worker(RELAY, { workerData: { from, to } }).unref();
}

function noop(): void {}

/** The adapter of one ring scheme. */
function ringAdapter(scheme: RingScheme): TransportAdapter {
  const { names } = registries.get(scheme)!;
  return {
    listen(url, _options, accept) {
      const name = nameOf(url);
      if (names.has(name)) {
        // The error a socket gives, so callers (and the suite) see the usual cause.
        return Promise.reject(
          new RingbusError(
            ErrorCode.CONNECT,
            `could not listen on ${url.href}: EADDRINUSE, another listener has the name '${name}'`
          )
        );
      }
      names.set(name, accept);
      return Promise.resolve({
        url: url.href,
        close() {
          // Open connections are the caller's to close, as for a socket server.
          if (names.get(name) === accept) names.delete(name);
          return Promise.resolve();
        }
      });
    },

    connect(url) {
      // A throw in the executor (nothing listens there) rejects.
      return new Promise<Connection>((resolve) => {
        const pair = dialRing(url);
        resolve(
          new RingConnection(new RingWriter(pair.out), new RingReader(pair.in), pair.remote, noop)
        );
      });
    }
  };
}

/** Registers the `ring://` and `ring-thread://` adapters (in tsyringe's root container). */
export function registerRingTransports(): void {
  for (const scheme of ['ring', 'ring-thread'] as const)
    registerTransport(scheme, ringAdapter(scheme));
}
