/**
 * redis: the Debian `redis-server` binary as broker (its own process, loopback only, no
 * persistence) and the npm `ioredis` client, PUBLISH / SUBSCRIBE.
 *
 * ioredis writes every command straight away and answers with a reply per command; the
 * publisher keeps at most {@link WINDOW} PUBLISH replies outstanding, which bounds its memory.
 * Redis has no flow control toward a slow subscriber: it buffers up to the default
 * `client-output-buffer-limit pubsub 32mb 8mb 60`, then drops the connection (seen here as loss).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import {
  binaryVersion,
  missingBinary,
  missingPackage,
  packageVersion,
  startServerBinary
} from '../harness.js';
import { type Endpoint, type NetPeer, type Publisher, TOPIC } from '../peer.js';

const WINDOW = 1024;

async function connectTo(endpoint: Endpoint): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const where = 'path' in endpoint ? { path: endpoint.path } : endpoint;
  const client = new Redis({ ...where, lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => undefined); // a failed command reports it; reconnects are off
  await client.connect();
  return client;
}

class RedisPublisher implements Publisher {
  private inFlight: number;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private wakeBelow: number;
  private readonly onReplyBound: (err?: Error | null) => void;

  constructor(
    private readonly client: Redis,
    readonly endpoint: Endpoint
  ) {
    this.inFlight = 0;
    this.failure = undefined;
    this.wake = undefined;
    this.wakeBelow = 0;
    this.onReplyBound = (err) => this.onReply(err);
  }

  send(payload: Buffer): boolean {
    void this.client.publish(TOPIC, payload, this.onReplyBound);
    return ++this.inFlight < WINDOW;
  }

  drain(): Promise<void> {
    return this.waitBelow(WINDOW >> 1);
  }

  flush(): Promise<void> {
    return this.waitBelow(1);
  }

  async close(): Promise<void> {
    this.client.disconnect();
    await Promise.resolve();
  }

  /** Resolves once fewer than `limit` replies are outstanding. */
  private waitBelow(limit: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.inFlight < limit) return Promise.resolve();
    this.wakeBelow = limit;
    return new Promise((resolve) => (this.wake = resolve));
  }

  private onReply(err?: Error | null): void {
    this.inFlight--;
    if (err !== undefined && err !== null) this.failure ??= err;
    if (this.wake !== undefined && (this.inFlight < this.wakeBelow || this.failure !== undefined)) {
      const wake = this.wake;
      this.wake = undefined;
      wake(); // a failure surfaces at the next drain()/flush()
    }
  }
}

export const redis: NetPeer = {
  name: 'redis',
  hasQos1: false,
  transports: ['tcp', 'unix'],

  async available() {
    return missingBinary('redis-server', ['--version']) ?? (await missingPackage('ioredis'));
  },

  versions: () =>
    Promise.resolve({
      ioredis: packageVersion('ioredis'),
      'redis-server': binaryVersion('redis-server', ['--version'], /v=([\d.]+)/)
    }),

  async startBroker() {
    // A Unix socket beside the TCP port, for W1 over a Unix socket.
    const path = join(tmpdir(), `ringbus-net-redis-${process.pid}.sock`);
    const broker = await startServerBinary('redis-server', (port) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--unixsocket',
      path,
      '--unixsocketperm',
      '700',
      '--save',
      '',
      '--appendonly',
      'no'
    ]);
    return { ...broker, unixEndpoint: { path } };
  },

  async openPublisher(endpoint) {
    return new RedisPublisher(await connectTo(endpoint), endpoint);
  },

  async openSubscriber(endpoint, _qos, onMessage) {
    const client = await connectTo(endpoint);
    client.on('messageBuffer', (_channel: Buffer, message: Buffer) => onMessage(message));
    await client.subscribe(TOPIC);
    return {
      close: async () => {
        client.disconnect();
        await Promise.resolve();
      }
    };
  }
};
