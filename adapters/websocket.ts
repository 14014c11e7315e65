import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Connection, TransportAdapter } from '../src/link/transport.js';
import { listeningUrl, remoteOf } from './socket.js';
import { invalid, transportError } from './transport-errors.js';
import { HIGH_WATER_BYTES, Inbox, MAX_MESSAGE_BYTES, sendInMessages } from './ws-messages.js';

/** Varint prefix of the largest frame. */
const MAX_PREFIX_BYTES = 5;
/** Send options: compressed only where permessage-deflate was asked for (and negotiated). */
const SEND = { binary: true, compress: false } as const;
const SEND_DEFLATE = { binary: true, compress: true } as const;

/**
 * WebSocket links (`ws://host:port/path`, `wss://`) through the `ws` package: binary messages
 * carrying the same varint frames as every other transport, several frames per message.
 */
export const websocketAdapter: TransportAdapter = {
  async listen(url, options, accept) {
    const path = url.pathname;
    const own = options.httpServer === undefined;
    const secure = url.protocol === 'wss:';
    if (own && secure && options.tls === undefined)
      throw invalid(
        url,
        'listening on wss:// needs tls: { key, cert } or an https.Server in httpServer'
      );
    if (!own && options.tls !== undefined)
      throw invalid(url, 'give tls or httpServer, not both: the server brings its own certificate');
    if (!secure && options.tls !== undefined) throw invalid(url, 'tls applies to wss:// only');
    if (!own && !(options.httpServer instanceof NetServer))
      throw invalid(url, 'httpServer must be a node:http or node:https Server');
    const server = !own
      ? (options.httpServer as Server)
      : options.tls === undefined
        ? createServer(upgradeRequired)
        : createHttpsServer(
            { key: pemOf(options.tls.key), cert: pemOf(options.tls.cert) },
            upgradeRequired
          );
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: options.perMessageDeflate,
      maxPayload: maxPayloadOf(options.maxFrameBytes)
    });
    const open = new Set<WebSocket>();
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== path) {
        // On a server of the user's, another handler may own that path.
        if (own) refuse(socket, 404, 'Not Found');
        return;
      }
      const origin = req.headers.origin;
      if (origin !== undefined && options.origins?.includes(origin) === false)
        return refuse(socket, 403, 'Forbidden');
      wss.handleUpgrade(req, socket, head, (ws) => {
        open.add(ws);
        ws.once('close', () => open.delete(ws));
        accept(wrap(ws, remoteOf(req.socket), options.perMessageDeflate));
      });
    };
    server.on('upgrade', onUpgrade);
    if (own) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(transportError('listen on', url, err)));
        server.listen(
          { host: url.hostname.replace(/^\[|\]$/gu, ''), port: Number(url.port) },
          resolve
        );
      });
      server.on('error', () => undefined); // after listening, errors surface per connection
    }
    return {
      url: listeningUrl(server, url, path),
      async close() {
        server.off('upgrade', onUpgrade);
        wss.close();
        // Links were closed before; a peer that never answered the close handshake is cut.
        for (const ws of open) ws.terminate();
        if (own) await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    };
  },

  connect(url, options) {
    return new Promise<Connection>((resolve, reject) => {
      const ws = new WebSocket(url.href, {
        perMessageDeflate: options.perMessageDeflate,
        maxPayload: maxPayloadOf(options.maxFrameBytes),
        handshakeTimeout: options.timeoutMs,
        ...(options.ca === undefined ? {} : { ca: options.ca as string | string[] })
      });
      ws.once('open', () => {
        ws.removeAllListeners('error');
        resolve(wrap(ws, url.host, options.perMessageDeflate));
      });
      ws.once('error', (err) => reject(transportError('connect to', url, err)));
    });
  }
};

/** A message holds one whole frame at most this large, or up to 64 KiB of the stream. */
function maxPayloadOf(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes + MAX_PREFIX_BYTES, MAX_MESSAGE_BYTES);
}

function wrap(ws: WebSocket, remote: string, deflate: boolean): Connection {
  const sendOptions = deflate ? SEND_DEFLATE : SEND;
  const inbox = new Inbox();
  ws.on('message', (raw, isBinary) => {
    if (!isBinary) return ws.close(1003, 'ringbus frames travel in binary messages');
    const data = raw as Buffer; // binaryType 'nodebuffer': one Buffer per message
    inbox.data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  });
  ws.on('error', () => undefined); // 'close' follows; the session reports why
  ws.once('close', () => inbox.close());
  let waiting = false;
  // Called when the last message of a write reached the socket: the queue may have drained.
  const sent = (): void => {
    if (!waiting || ws.bufferedAmount > HIGH_WATER_BYTES) return;
    waiting = false;
    inbox.drain();
  };
  const send = (message: Uint8Array, last: boolean): void =>
    ws.send(message, sendOptions, last ? sent : undefined);
  return {
    remote,
    get bufferedBytes() {
      return ws.bufferedAmount;
    },
    setHandlers: (h) => inbox.attach(h),
    write(bytes) {
      sendInMessages(bytes, send);
      if (ws.bufferedAmount <= HIGH_WATER_BYTES) return true;
      waiting = true;
      return false;
    },
    end: () => ws.close(1000),
    destroy: () => ws.terminate()
  };
}

/** PEM text as node:tls takes it (a string, or bytes as a Buffer without a copy). */
function pemOf(pem: string | Uint8Array): string | Buffer {
  return typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength);
}

/** Plain HTTP requests to a listener's own server: this port only speaks WebSocket. */
function upgradeRequired(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
  res.end('this endpoint speaks WebSocket (ringbus)\n');
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
