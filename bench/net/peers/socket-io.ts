/**
 * socket.io: `io.emit` of each payload (a binary event) to every connected client, WebSocket
 * transport only on both sides, as a real-time fan-out server is usually set up. The publisher
 * waits while any client's engine.io write buffer holds more than {@link HIGH_WATER_PACKETS}.
 */
import { type Server as HttpServer, createServer } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { missingPackages, packageVersions } from '../harness.js';
import type { Endpoint, NetPeer, Publisher } from '../peer.js';

const HIGH_WATER_PACKETS = 1024;
const EVENT = 'm';

/** The engine.io connection under a socket.io socket (its write buffer and 'drain'). */
interface EngineConnection {
  writeBuffer: unknown[];
  once(event: 'drain' | 'close', fn: () => void): void;
}

function engine(socket: Socket): EngineConnection {
  return socket.conn as unknown as EngineConnection;
}

/** Resolves once the connection's write buffer is empty (or it closed). */
function drained(conn: EngineConnection): Promise<void> {
  if (conn.writeBuffer.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    conn.once('drain', resolve);
    conn.once('close', resolve);
  });
}

class SocketIoPublisher implements Publisher {
  constructor(
    private readonly io: Server,
    private readonly http: HttpServer,
    readonly endpoint: Endpoint
  ) {}

  send(payload: Buffer): boolean {
    this.io.emit(EVENT, payload);
    for (const s of this.io.sockets.sockets.values())
      if (engine(s).writeBuffer.length > HIGH_WATER_PACKETS) return false;
    return true;
  }

  async drain(): Promise<void> {
    await Promise.all([...this.io.sockets.sockets.values()].map((s) => drained(engine(s))));
  }

  flush(): Promise<void> {
    return this.drain();
  }

  async close(): Promise<void> {
    this.io.disconnectSockets(true);
    await this.io.close();
    this.http.closeAllConnections();
  }
}

export const socketIo: NetPeer = {
  name: 'socket.io',
  hasQos1: false,
  transports: ['ws'],

  available: () => missingPackages(['socket.io', 'socket.io-client']),

  versions: () => Promise.resolve(packageVersions(['socket.io', 'socket.io-client'])),

  async openPublisher(endpoint) {
    if ('path' in endpoint) throw new Error('socket.io runs over TCP only');
    const { Server } = await import('socket.io');
    const http = createServer();
    const io = new Server(http, {
      transports: ['websocket'],
      serveClient: false,
      perMessageDeflate: false
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(endpoint.port, endpoint.host, resolve);
    });
    const { port } = http.address() as { port: number };
    return new SocketIoPublisher(io, http, { host: endpoint.host, port });
  },

  async openSubscriber(endpoint, _qos, onMessage) {
    if ('path' in endpoint) throw new Error('socket.io runs over TCP only');
    const { io } = await import('socket.io-client');
    const socket = io(`http://${endpoint.host}:${endpoint.port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    socket.on(EVENT, (data: Buffer | ArrayBuffer) =>
      onMessage(data instanceof ArrayBuffer ? new Uint8Array(data) : data)
    );
    return {
      close: async () => {
        socket.disconnect();
        await Promise.resolve();
      }
    };
  }
};
