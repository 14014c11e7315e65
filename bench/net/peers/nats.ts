/**
 * nats: the Debian `nats-server` binary as broker (its own process, loopback only) and the npm
 * `nats` v2 client, core (QoS 0) publish/subscribe.
 *
 * nats.js `publish` never pushes back: it appends to an outbound buffer that grows without bound.
 * The publisher therefore keeps a window of PING/PONG round trips (`nc.flush()`): one is started
 * every {@link FLUSH_EVERY_BYTES} of payload, and `send` asks the caller to wait while
 * {@link MAX_FLUSHES} are still unanswered, so at most about 1 MiB is in flight toward the server.
 */
import type { NatsConnection } from 'nats';
import {
  binaryVersion,
  missingBinary,
  missingPackage,
  packageVersion,
  startServerBinary
} from '../harness.js';
import { type Endpoint, type NetPeer, type Publisher, TOPIC } from '../peer.js';

const FLUSH_EVERY_BYTES = 256 * 1024;
const MAX_FLUSHES = 4;

async function connectTo(endpoint: Endpoint): Promise<NatsConnection> {
  if ('path' in endpoint) throw new Error('nats runs over TCP only');
  const { connect } = await import('nats');
  return connect({ servers: `${endpoint.host}:${endpoint.port}`, reconnect: false });
}

class NatsPublisher implements Publisher {
  private bytes: number;
  private readonly flushes: Promise<void>[];

  constructor(
    private readonly nc: NatsConnection,
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

export const nats: NetPeer = {
  name: 'nats',
  hasQos1: false,
  transports: ['tcp'],

  async available() {
    return missingBinary('nats-server', ['--version']) ?? (await missingPackage('nats'));
  },

  versions: () =>
    Promise.resolve({
      nats: packageVersion('nats'),
      'nats-server': binaryVersion('nats-server', ['--version'], /(v[\d.]+)/)
    }),

  startBroker: () =>
    startServerBinary('nats-server', (port) => ['-a', '127.0.0.1', '-p', String(port)]),

  async openPublisher(endpoint) {
    return new NatsPublisher(await connectTo(endpoint), endpoint);
  },

  async openSubscriber(endpoint, _qos, onMessage) {
    const nc = await connectTo(endpoint);
    nc.subscribe(TOPIC, {
      callback: (err, msg) => {
        if (err === null) onMessage(msg.data);
      }
    });
    await nc.flush(); // the server has the SUB once the PONG is back
    return { close: () => nc.close() };
  }
};
