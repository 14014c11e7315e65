/**
 * ws: one binary WebSocket message per payload. The publisher is a `WebSocketServer` sending each
 * message to every connected client; subscribers are `ws` clients. Compression is off on both
 * sides (ws enables it by default on the client). The helpers are shared with ws-batched.
 */
import type { WebSocket, WebSocketServer } from 'ws';
import { packageVersion, missingPackage } from '../harness.js';
import type { Endpoint, NetPeer, OnMessage, Publisher, Subscriber } from '../peer.js';

/** Above this many bytes queued on a client, `send` asks the caller to wait. */
const HIGH_WATER_BYTES = 256 * 1024;
const SEND_OPTIONS = { binary: true, compress: false } as const;

/**
 * Sends to every client of a server, counting the sends made while a client was over its
 * high-water mark; {@link ClientWriter.drained} resolves once all of those reached the socket.
 */
export class ClientWriter {
  private waiting = 0;
  private wake: (() => void) | undefined = undefined;
  private readonly onWrittenBound = (): void => this.onWritten();

  constructor(private readonly server: WebSocketServer) {}

  /** Sends `data` to every client; false when some client is behind. */
  sendToAll(data: Uint8Array): boolean {
    let ok = true;
    for (const c of this.server.clients) {
      if (c.bufferedAmount < HIGH_WATER_BYTES) c.send(data, SEND_OPTIONS);
      else {
        // Its send callback runs once this message, and so all before it, reached the socket.
        this.waiting++;
        c.send(data, SEND_OPTIONS, this.onWrittenBound);
        ok = false;
      }
    }
    return ok;
  }

  get behind(): boolean {
    return this.waiting > 0;
  }

  drained(): Promise<void> {
    if (this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** Resolves once everything sent so far reached each client's socket (a ping's callback). */
  async flushed(): Promise<void> {
    await Promise.all(
      [...this.server.clients].map(
        (c) => new Promise<void>((resolve) => c.ping(undefined, false, () => resolve()))
      )
    );
  }

  close(): Promise<void> {
    return closeWsServer(this.server);
  }

  private onWritten(): void {
    if (--this.waiting === 0 && this.wake !== undefined) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }
}

/** Drops every client of `server` and closes it. */
export async function closeWsServer(server: WebSocketServer): Promise<void> {
  for (const c of server.clients) c.terminate();
  await new Promise((resolve) => server.close(resolve));
}

/** A WebSocket server on the endpoint's host and port (0: any), and where it listens. */
export async function listenWs(
  endpoint: Endpoint
): Promise<{ server: WebSocketServer; bound: Endpoint }> {
  const { WebSocketServer } = await import('ws');
  if ('path' in endpoint) {
    // Over a Unix socket: an HTTP server of our own listens on the path.
    const { createServer } = await import('node:http');
    const http = createServer();
    const server = new WebSocketServer({ server: http, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(endpoint.path, resolve);
    });
    server.on('connection', (c: WebSocket) => c.on('error', () => c.terminate()));
    server.once('close', () => http.close());
    return { server, bound: endpoint };
  }
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
  return { server, bound: { host: endpoint.host, port } };
}

/** A client of {@link listenWs}'s server handing each message to `onData`. */
export async function connectWs(
  endpoint: Endpoint,
  onData: (data: Buffer) => void
): Promise<Subscriber> {
  const { WebSocket } = await import('ws');
  const url =
    'path' in endpoint ? `ws+unix://${endpoint.path}:/` : `ws://${endpoint.host}:${endpoint.port}`;
  const client = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  client.on('error', () => client.terminate());
  client.on('message', onData);
  return {
    close: async () => {
      client.terminate();
      await Promise.resolve();
    }
  };
}

class WsPublisher implements Publisher {
  private readonly writer: ClientWriter;

  constructor(
    server: WebSocketServer,
    readonly endpoint: Endpoint
  ) {
    this.writer = new ClientWriter(server);
  }

  send(payload: Buffer): boolean {
    return this.writer.sendToAll(payload);
  }

  drain(): Promise<void> {
    return this.writer.drained();
  }

  flush(): Promise<void> {
    return this.writer.flushed();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

export const ws: NetPeer = {
  name: 'ws',
  hasQos1: false,
  transports: ['tcp', 'unix', 'ws'],

  available: () => missingPackage('ws'),

  versions: () => Promise.resolve({ ws: packageVersion('ws') }),

  async openPublisher(endpoint) {
    const { server, bound } = await listenWs(endpoint);
    return new WsPublisher(server, bound);
  },

  openSubscriber(endpoint, _qos, onMessage: OnMessage) {
    return connectWs(endpoint, onMessage);
  }
};
