import { existsSync, unlinkSync } from 'node:fs';
import { type Server, type Socket, connect as netConnect, createServer } from 'node:net';
import type {
  Connection,
  ConnectionHandlers,
  TransportAdapter,
  TransportOptions,
  TransportServer
} from '../src/link/transport.js';
import { connectTimeout, invalid, transportError } from './transport-errors.js';

/**
 * TCP (`tcp://`, `tcp4://`, `tcp6://`) and Unix socket (`unix:///path`) links over `node:net`.
 */
export const socketAdapter: TransportAdapter = {
  async listen(url, options, accept) {
    const where = endpoint(url);
    if (where.path !== undefined) await clearStaleSocket(where.path);
    const server = createServer((socket) => accept(wrap(socket, options)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(transportError('listen on', url, err)));
      if (where.path !== undefined) server.listen(where.path, resolve);
      else server.listen({ host: where.host, port: where.port }, resolve);
    });
    server.on('error', () => undefined); // after listening, errors surface per connection
    return serverHandle(server, url);
  },

  connect(url, options) {
    const where = endpoint(url);
    return new Promise<Connection>((resolve, reject) => {
      const socket =
        where.path !== undefined
          ? netConnect({ path: where.path })
          : netConnect({ host: where.host, port: where.port, family: where.family });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(connectTimeout(url, options.timeoutMs));
      }, options.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(wrap(socket, options));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(transportError('connect to', url, err));
      });
    });
  }
};

interface Endpoint {
  host: string;
  port: number;
  family: 0 | 4 | 6;
  path: string | undefined;
}

function endpoint(url: URL): Endpoint {
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'unix') {
    const path = decodeURIComponent(url.pathname);
    if (url.host !== '' || path === '' || path === '/')
      throw invalid(url, 'a Unix socket URL is unix:///absolute/path.sock');
    return { host: '', port: 0, family: 0, path };
  }
  const port = url.port === '' ? NaN : Number(url.port);
  if (!Number.isInteger(port) || url.hostname === '')
    throw invalid(
      url,
      'a TCP URL needs a host and a port, such as tcp://127.0.0.1:4222 (port 0: any free port)'
    );
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port, family: scheme === 'tcp4' ? 4 : scheme === 'tcp6' ? 6 : 0, path: undefined };
}

function wrap(socket: Socket, options: TransportOptions): Connection {
  socket.setNoDelay(options.noDelay);
  return {
    remote: remoteOf(socket),
    get bufferedBytes() {
      return socket.writableLength;
    },
    setHandlers(h: ConnectionHandlers) {
      // A plain view: Buffer's own subarray (used per frame) costs several times more.
      socket.on('data', (chunk: Buffer) =>
        h.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      );
      socket.on('drain', () => h.drain());
      socket.on('error', () => undefined); // 'close' follows; the session reports why
      socket.once('close', () => h.close());
    },
    write: (bytes) => socket.write(bytes),
    end: () => socket.end(),
    destroy: () => socket.destroy()
  };
}

/** `host:port` of the peer (`[v6]:port`), or '' for a Unix socket peer. */
export function remoteOf(socket: Socket): string {
  if (socket.remoteAddress === undefined) return '';
  const host = socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]` : socket.remoteAddress;
  return `${host}:${socket.remotePort}`;
}

/** `url` with the host and port `server` really listens on (port 0 resolved), then `path`. */
export function listeningUrl(server: Server, url: URL, path: string): string {
  const address = server.address();
  if (address === null || typeof address !== 'object') return url.href;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${url.protocol}//${host}:${address.port}${path}`;
}

function serverHandle(server: Server, url: URL): TransportServer {
  return {
    url: listeningUrl(server, url, ''),
    // close() removes a Unix socket file; a crash leaves it, which listen() handles.
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  };
}

/**
 * A socket file left by a process that died is removed; one that still answers is in use.
 */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = netConnect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!alive) unlinkSync(path);
}
