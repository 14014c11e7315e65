/**
 * nats: the Debian `nats-server` binary as broker (its own process, loopback only) and the npm
 * `nats` v2 client, core (QoS 0) publish/subscribe. {@link natsPeer} builds this peer and
 * `nats-ws` (the same server's WebSocket listener and the `nats.ws` client, peers/nats-ws.ts).
 *
 * nats.js `publish` never pushes back: it appends to an outbound buffer that grows without bound.
 * The publisher therefore keeps a window of PING/PONG round trips (`nc.flush()`): one is started
 * every {@link FLUSH_EVERY_BYTES} of payload, and `send` asks the caller to wait while
 * {@link MAX_FLUSHES} are still unanswered, so at most about 1 MiB is in flight toward the server.
 */
import { missingPackages, packageVersions } from '../harness.js';
import {
  loopbackArgs,
  missingNatsServer,
  natsServerVersion,
  startNatsServer
} from '../nats-server.js';
import {
  type Broker,
  type Endpoint,
  type NetPeer,
  type Publisher,
  TOPIC,
  type Transport
} from '../peer.js';

const FLUSH_EVERY_BYTES = 256 * 1024;
const MAX_FLUSHES = 4;

/**
 * What the peers use of a connection: `nats` and `nats.ws` share this API (one code base) but
 * declare their types apart.
 */
export interface NatsClient {
  publish(subject: string, payload: Uint8Array): void;
  subscribe(
    subject: string,
    options: { callback: (err: Error | null, msg: { data: Uint8Array }) => void }
  ): unknown;
  /** Resolves once the server answered a PING sent after everything before. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** What differs between `nats` (TCP) and `nats-ws`. */
export interface NatsTransport {
  /** Peer name and registry key. */
  name: string;
  /** The workloads' transports the peer runs (see {@link NetPeer.transports}). */
  transports: readonly Transport[];
  /** npm packages the client needs (checked and versioned). */
  packages: readonly string[];
  /** Starts nats-server listening for this transport; the endpoint is where clients connect. */
  startServer(): Promise<Broker>;
  /** Child side: one client connection, without reconnects. */
  connect(endpoint: Endpoint): Promise<NatsClient>;
}

class NatsPublisher implements Publisher {
  private bytes: number;
  private readonly flushes: Promise<void>[];

  constructor(
    private readonly nc: NatsClient,
    readonly endpoint: Endpoint
  ) {
    this.bytes = 0;
    this.flushes = [];
  }

  send(payload: Buffer): boolean {
    this.nc.publish(TOPIC, payload);
    this.bytes += payload.length;
    if (this.bytes < FLUSH_EVERY_BYTES) return true;
    this.bytes = 0;
    this.flushes.push(this.nc.flush());
    return this.flushes.length < MAX_FLUSHES;
  }

  async drain(): Promise<void> {
    while (this.flushes.length >= MAX_FLUSHES) await this.flushes.shift();
  }

  async flush(): Promise<void> {
    await Promise.all(this.flushes.splice(0));
    await this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** nats-server and a NATS client over `t`. */
export function natsPeer(t: NatsTransport): NetPeer {
  return {
    name: t.name,
    hasQos1: false,
    transports: t.transports,

    async available() {
      return missingNatsServer() ?? (await missingPackages(t.packages));
    },

    versions: () =>
      Promise.resolve({
        ...packageVersions(t.packages),
        'nats-server': natsServerVersion()
      }),

    startBroker: () => t.startServer(),

    async openPublisher(endpoint) {
      return new NatsPublisher(await t.connect(endpoint), endpoint);
    },

    async openSubscriber(endpoint, _qos, onMessage) {
      const nc = await t.connect(endpoint);
      nc.subscribe(TOPIC, {
        callback: (err, msg) => {
          if (err === null) onMessage(msg.data);
        }
      });
      await nc.flush(); // the server has the SUB once the PONG is back
      return { close: () => nc.close() };
    }
  };
}

export const nats: NetPeer = {
  ...natsPeer({
    name: 'nats',
    transports: ['tcp'],
    packages: ['nats'],
    startServer: () => startNatsServer(loopbackArgs),
    async connect(endpoint) {
      if ('path' in endpoint) throw new Error('nats runs over TCP only');
      const { connect } = await import('nats');
      return connect({ servers: `${endpoint.host}:${endpoint.port}`, reconnect: false });
    }
  }),
  noUnix: 'nats-server listens on TCP only (it has no Unix socket listener)'
};
