import 'reflect-metadata';
import { type DependencyContainer, container } from 'tsyringe';
import type { Logger } from '../src/logger.js';
import type { Bridge } from '../src/link/bridge.js';
import type { ThreadTransport, TransportAdapter } from '../src/link/transport.js';
import { environment } from '../src/link/transport.js';
import { socketAdapter } from './socket.js';
import { websocketAdapter } from './websocket.js';
import { nodeThreads } from './worker/node-threads.js';
import type { StoreOpener } from '../src/store.js';
import { FileStore } from './store/file-store.js';
import { natsBridge } from './nats/nats-bridge.js';

/** Container token of the adapter for a URL scheme: `ringbus:transport:<scheme>`. */
export function transportToken(scheme: string): string {
  return `ringbus:transport:${scheme}`;
}

/** Container token of the bridge for a URL scheme: `ringbus:bridge:<scheme>` (`nats`, `tls`). */
export function bridgeToken(scheme: string): string {
  return `ringbus:bridge:${scheme}`;
}

/** Container token of the worker-thread links' transport (`bus.connectWorker`, `connectParent`). */
export const THREADS_TOKEN = 'ringbus:threads';

/** Container token of what opens a bus's durable store (`new Bus({ store })`): the file store of adapters/store/. */
export const STORE_TOKEN = 'ringbus:store';

/** Container token of the default logger of new buses (a pino-compatible logger). */
export const LOGGER_TOKEN = 'ringbus:logger';

/**
 * Registers `adapter` for `scheme` (without the colon) in `target`, by default tsyringe's root
 * container: `bus.listen()` and `bus.connect()` then accept `scheme://` URLs.
 *
 * @example
 * ```ts
 * registerTransport('mem', myAdapter);
 * await bus.connect('mem://peer');
 * ```
 */
export function registerTransport(
  scheme: string,
  adapter: TransportAdapter,
  target: DependencyContainer = container
): void {
  target.register<TransportAdapter>(transportToken(scheme), { useValue: adapter });
}

/** Registers the logger new buses use when their options give none. */
export function registerLogger(logger: Logger, target: DependencyContainer = container): void {
  target.register<Logger>(LOGGER_TOKEN, { useValue: logger });
}

if (!container.isRegistered(THREADS_TOKEN))
  container.register<ThreadTransport>(THREADS_TOKEN, { useValue: nodeThreads });
if (!container.isRegistered(STORE_TOKEN))
  container.register<StoreOpener>(STORE_TOKEN, {
    useValue: (options, logger) => FileStore.open(options, logger)
  });

for (const [schemes, adapter] of [
  [['tcp', 'tcp4', 'tcp6', 'unix'], socketAdapter],
  [['ws', 'wss'], websocketAdapter]
] as const) {
  for (const scheme of schemes)
    if (!container.isRegistered(transportToken(scheme))) registerTransport(scheme, adapter);
}

for (const scheme of ['nats', 'tls'])
  if (!container.isRegistered(bridgeToken(scheme)))
    container.register<Bridge>(bridgeToken(scheme), { useValue: natsBridge });

// The core asks the container; it never imports tsyringe itself (it must run in browsers).
environment.transports = (scheme) => {
  const token = transportToken(scheme);
  return container.isRegistered(token, true)
    ? container.resolve<TransportAdapter>(token)
    : undefined;
};
environment.bridges = (scheme) => {
  const token = bridgeToken(scheme);
  return container.isRegistered(token, true) ? container.resolve<Bridge>(token) : undefined;
};
environment.threads = () =>
  container.isRegistered(THREADS_TOKEN, true)
    ? container.resolve<ThreadTransport>(THREADS_TOKEN)
    : undefined;
environment.store = () =>
  container.isRegistered(STORE_TOKEN, true)
    ? container.resolve<StoreOpener>(STORE_TOKEN)
    : undefined;
environment.logger = () =>
  container.isRegistered(LOGGER_TOKEN, true) ? container.resolve<Logger>(LOGGER_TOKEN) : undefined;
