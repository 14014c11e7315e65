/**
 * raw-net: node:net with varint length-prefix framing and one socket.write per tick: "the
 * practical limit" for a Node process on this machine. The publisher listens (TCP or a Unix
 * socket path) and writes every coalesced chunk to each connected subscriber.
 */
import net from 'node:net';
import { rmSync } from 'node:fs';
import type { Endpoint, NetPeer, OnMessage, Publisher, Subscriber } from '../peer.js';
import { FrameBatcher, FrameDecoder } from '../varint-framing.js';

const EMPTY = Buffer.alloc(0);

/** Resolves when `s` has drained its write buffer or is gone. */
function drained(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (!s.writableNeedDrain || s.destroyed) {
      resolve();
      return;
    }
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

class RawNetPublisher implements Publisher {
  private readonly sockets: net.Socket[];
  private readonly batcher: FrameBatcher;
  private needsDrain: boolean;

  constructor(
    private readonly server: net.Server,
    readonly endpoint: Endpoint
  ) {
    this.sockets = [];
    this.needsDrain = false;
    this.batcher = new FrameBatcher((chunk) => {
      for (const s of this.sockets) if (!s.write(chunk)) this.needsDrain = true;
    });
    server.on('connection', (s) => {
      s.setNoDelay(true); // coalescing is ours
      s.on('error', () => s.destroy());
      s.on('close', () => this.sockets.splice(this.sockets.indexOf(s), 1));
      this.sockets.push(s);
    });
  }

  send(payload: Buffer): boolean {
    this.batcher.push(payload);
    return !this.needsDrain;
  }

  async drain(): Promise<void> {
    await Promise.all(this.sockets.map(drained));
    this.needsDrain = false;
  }

  async flush(): Promise<void> {
    this.batcher.flush();
    // A zero-length write's callback runs once everything queued before it reached the kernel.
    await Promise.all(
      this.sockets.map((s) => new Promise<void>((resolve) => s.write(EMPTY, () => resolve())))
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export const rawNet: NetPeer = {
  name: 'raw-net',
  hasQos1: false,
  transports: ['tcp', 'unix'],

  available: () => Promise.resolve(undefined),

  versions: () => Promise.resolve({ node: process.version }),

  async openPublisher(endpoint) {
    if ('path' in endpoint) rmSync(endpoint.path, { force: true });
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(endpoint, resolve);
    });
    const address = server.address();
    const bound: Endpoint =
      typeof address === 'string' || address === null
        ? { path: address ?? (endpoint as { path: string }).path }
        : { host: address.address, port: address.port };
    return new RawNetPublisher(server, bound);
  },

  async openSubscriber(endpoint, _qos, onMessage: OnMessage): Promise<Subscriber> {
    const socket = net.connect(endpoint);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(onMessage);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    return {
      close: async () => {
        socket.destroy();
        await Promise.resolve();
      }
    };
  }
};
