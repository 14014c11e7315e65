/**
 * nats-ws: NATS over WebSocket, as browsers speak it. The same `nats-server` binary as `nats`
 * (peers/nats.ts), started with a config file whose `websocket` block listens on loopback
 * without TLS (its plain client port is a random one nobody uses), and the npm `nats.ws` client,
 * core (QoS 0) publish/subscribe in W6–W10.
 *
 * nats.ws expects the platform's global `WebSocket`, which Node 20 lacks: the child processes of
 * this peer install the `ws` package's class there before connecting (the other WebSocket peers'
 * clients are `ws` too). The server does not negotiate compression unless configured to.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startNatsServer } from '../nats-server.js';
import type { Broker } from '../peer.js';
import { natsPeer } from './nats.js';

/** nats-server's configuration: WebSocket on `port`, the plain client port at random (-1). */
function config(port: number): string {
  return [
    'host: "127.0.0.1"',
    'port: -1',
    'websocket {',
    `  listen: "127.0.0.1:${port}"`,
    '  no_tls: true',
    '}',
    ''
  ].join('\n');
}

/** nats-server with the config above, written into the server's temporary directory. */
function startServer(): Promise<Broker> {
  return startNatsServer((port, dir) => {
    const file = path.join(dir, 'nats-server.conf');
    writeFileSync(file, config(port));
    return ['-c', file];
  });
}

export const natsWs = natsPeer({
  name: 'nats-ws',
  transports: ['ws'],
  packages: ['nats.ws', 'ws'],
  startServer,
  async connect(endpoint) {
    if ('path' in endpoint) throw new Error('nats-ws runs over TCP only');
    const [{ connect }, { WebSocket }] = await Promise.all([import('nats.ws'), import('ws')]);
    // Only ever in a child process of this peer (connect runs nowhere else).
    Object.defineProperty(globalThis, 'WebSocket', {
      value: WebSocket,
      configurable: true,
      writable: true
    });
    return connect({ servers: `ws://${endpoint.host}:${endpoint.port}`, reconnect: false });
  }
});
