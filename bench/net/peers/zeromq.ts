/**
 * zeromq: npm `zeromq` v6 (libzmq bundled as a prebuilt addon inside the npm package) PUB/SUB
 * over TCP (or ipc:// on a Unix socket). The publisher binds, subscribers connect and subscribe to everything.
 *
 * `send` returns a promise and a socket accepts one send at a time, so every send here asks the
 * caller to await it (`drain`). A PUB socket never blocks: above its send high-water mark
 * (default 1000 messages per subscriber) libzmq drops silently, by design, which the loss column
 * shows.
 */
import type { Publisher as ZmqPublisher } from 'zeromq';
import { missingPackage, packageVersion } from '../harness.js';
import type { Endpoint, NetPeer, Publisher } from '../peer.js';

function url(endpoint: Endpoint): string {
  if ('path' in endpoint) return `ipc://${endpoint.path}`;
  return `tcp://${endpoint.host}:${endpoint.port}`;
}

class ZeromqPublisher implements Publisher {
  private sending: Promise<void>;

  constructor(
    private readonly socket: ZmqPublisher,
    readonly endpoint: Endpoint
  ) {
    this.sending = Promise.resolve();
  }

  send(payload: Buffer): boolean {
    this.sending = this.socket.send(payload);
    return false;
  }

  drain(): Promise<void> {
    return this.sending;
  }

  flush(): Promise<void> {
    return this.sending;
  }

  async close(): Promise<void> {
    this.socket.linger = 0;
    this.socket.close();
    await Promise.resolve();
  }
}

export const zeromq: NetPeer = {
  name: 'zeromq',
  hasQos1: false,
  transports: ['tcp', 'unix'],

  available: () => missingPackage('zeromq'),

  versions: async () => {
    const zmq = await import('zeromq');
    return { zeromq: packageVersion('zeromq'), libzmq: zmq.version };
  },

  async openPublisher(endpoint) {
    const { Publisher: ZmqPublisherClass } = await import('zeromq');
    const socket = new ZmqPublisherClass();
    await socket.bind(url(endpoint));
    if ('path' in endpoint) return new ZeromqPublisher(socket, endpoint);
    const bound = /:(\d+)$/.exec(socket.lastEndpoint ?? '');
    if (bound === null) throw new Error(`zeromq bound to ${socket.lastEndpoint}`);
    return new ZeromqPublisher(socket, { host: '127.0.0.1', port: Number(bound[1]) });
  },

  async openSubscriber(endpoint, _qos, onMessage) {
    const { Subscriber } = await import('zeromq');
    const socket = new Subscriber();
    socket.connect(url(endpoint));
    socket.subscribe();
    const loop = (async () => {
      try {
        for await (const [msg] of socket) onMessage(msg);
      } catch {
        // closing the socket ends the iteration with an error
      }
    })();
    return {
      close: async () => {
        socket.linger = 0;
        socket.close();
        await loop;
      }
    };
  }
};
