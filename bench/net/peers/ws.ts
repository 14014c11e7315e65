/**
 * ws: one binary WebSocket message per payload. The publisher is a `WebSocketServer` sending each
 * message to every connected client; subscribers are `ws` clients. Compression is off on both
 * sides (ws enables it by default on the client).
 */
import type { WebSocket, WebSocketServer } from 'ws';
import { packageVersion, missingPackage } from '../harness.js';
import type { Endpoint, NetPeer, Publisher } from '../peer.js';

/** Above this many bytes queued on a client, `send` asks the caller to wait. */
const HIGH_WATER_BYTES = 256 * 1024;
const SEND_OPTIONS = { binary: true, compress: false } as const;

class WsPublisher implements Publisher {
  private waiting: number;
  private wake: (() => void) | undefined;
  private readonly onWrittenBound: () => void;

  constructor(
    private readonly server: WebSocketServer,
    readonly endpoint: Endpoint
  ) {
    this.waiting = 0;
    this.wake = undefined;
    this.onWrittenBound = () => this.onWritten();
  }

  send(payload: Buffer): boolean {
    let ok = true;
    for (const c of this.server.clients) {
      if (c.bufferedAmount < HIGH_WATER_BYTES) {
        c.send(payload, SEND_OPTIONS);
      } else {
        // Its send callback runs once this frame, and so all before it, reached the socket.
        this.waiting++;
        c.send(payload, SEND_OPTIONS, this.onWrittenBound);
        ok = false;
      }
    }
    return ok;
  }

  drain(): Promise<void> {
    if (this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }

  async flush(): Promise<void> {
    // A ping's write callback runs once everything queued before it reached the socket.
    await Promise.all(
      [...this.server.clients].map(
        (c) => new Promise<void>((resolve) => c.ping(undefined, false, () => resolve()))
      )
    );
  }

  async close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private onWritten(): void {
    if (--this.waiting === 0 && this.wake !== undefined) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }
}

export const ws: NetPeer = {
  name: 'ws',
  hasQos1: false,
  hasUnix: false,

  available: () => missingPackage('ws'),

  versions: () => Promise.resolve({ ws: packageVersion('ws') }),

  async openPublisher(endpoint) {
    if ('path' in endpoint) throw new Error('ws runs over TCP only here');
    const { WebSocketServer } = await import('ws');
    const server = new WebSocketServer({
      host: endpoint.host,
      port: endpoint.port,
      perMessageDeflate: false
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('connection', (c: WebSocket) => c.on('error', () => c.terminate()));
    const { port } = server.address() as { port: number };
    return new WsPublisher(server, { host: endpoint.host, port });
  },

  async openSubscriber(endpoint, _qos, onMessage) {
    if ('path' in endpoint) throw new Error('ws runs over TCP only here');
    const { WebSocket } = await import('ws');
    const client = new WebSocket(`ws://${endpoint.host}:${endpoint.port}`, {
      perMessageDeflate: false
    });
    await new Promise<void>((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    client.on('error', () => client.terminate());
    client.on('message', (data: Buffer) => onMessage(data));
    return {
      close: async () => {
        client.terminate();
        await Promise.resolve();
      }
    };
  }
};
