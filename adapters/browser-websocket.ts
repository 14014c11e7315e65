import { ErrorCode, RingbusError } from '../src/errors.js';
import type { Connection, TransportAdapter } from '../src/link/transport.js';
import { connectTimeout } from './transport-errors.js';
import { HIGH_WATER_BYTES, Inbox, sendInMessages } from './ws-messages.js';

/** How often a waiting writer looks at `bufferedAmount`: browsers have no drain event. */
const DRAIN_POLL_MS = 10;
/** `WebSocket.OPEN`, also where the global has no static constants. */
const OPEN = 1;

/**
 * WebSocket links through the platform's `WebSocket` (browsers, Deno, Node 22+): connect only,
 * since a page cannot listen. The same frames and messages as the Node adapter.
 */
export const browserWebSocketAdapter: TransportAdapter = {
  listen(url) {
    return Promise.reject(
      new RingbusError(
        ErrorCode.UNSUPPORTED_SCHEME,
        `this platform's WebSocket can only connect; listen on ${url.href} from a server`
      )
    );
  },

  connect(url, options) {
    return new Promise<Connection>((resolve, reject) => {
      const ws = new WebSocket(url.href);
      ws.binaryType = 'arraybuffer';
      const timer = setTimeout(() => {
        ws.close();
        reject(connectTimeout(url, options.timeoutMs));
      }, options.timeoutMs);
      const failed = (): void => {
        clearTimeout(timer);
        // A browser tells no reason (on purpose); its console has the details.
        reject(new RingbusError(ErrorCode.CONNECT, `could not connect to ${url.href}`));
      };
      ws.addEventListener('error', failed, { once: true });
      ws.addEventListener(
        'open',
        () => {
          clearTimeout(timer);
          ws.removeEventListener('error', failed);
          resolve(wrap(ws, url.host));
        },
        { once: true }
      );
    });
  }
};

function wrap(ws: WebSocket, remote: string): Connection {
  const inbox = new Inbox();
  ws.addEventListener('message', (event: MessageEvent) => {
    // A ringbus listener sends binary messages only.
    if (typeof event.data === 'string') return ws.close();
    inbox.data(new Uint8Array(event.data as ArrayBuffer));
  });
  ws.addEventListener('close', () => {
    clearTimeout(poll);
    inbox.close();
  });
  let poll: ReturnType<typeof setTimeout> | undefined = undefined;
  const check = (): void => {
    poll = undefined;
    if (ws.bufferedAmount <= HIGH_WATER_BYTES) inbox.drain();
    else poll = setTimeout(check, DRAIN_POLL_MS);
  };
  const send = (message: Uint8Array): void => ws.send(message);
  return {
    remote,
    get bufferedBytes() {
      return ws.bufferedAmount;
    },
    setHandlers: (h) => inbox.attach(h),
    write(bytes) {
      if (ws.readyState !== OPEN) return true; // closing: the close event follows
      sendInMessages(bytes, send);
      if (ws.bufferedAmount <= HIGH_WATER_BYTES) return true;
      poll ??= setTimeout(check, DRAIN_POLL_MS);
      return false;
    },
    end: () => ws.close(1000),
    // A page cannot abort a WebSocket; closing is the nearest.
    destroy: () => ws.close()
  };
}
