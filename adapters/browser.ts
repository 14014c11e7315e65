/**
 * The browser entry of ringbus (the `browser` export condition, and `dist/ringbus.browser.js`):
 * the core and WebSocket links through the platform's `WebSocket`, with no Node built-ins, no
 * dependency injection and no setup.
 *
 * @packageDocumentation
 */
import { type TransportAdapter, environment } from '../src/link/transport.js';
import { browserWebSocketAdapter } from './browser-websocket.js';

export * from '../src/index.js';
export { browserWebSocketAdapter };

const transports = new Map<string, TransportAdapter>([
  ['ws', browserWebSocketAdapter],
  ['wss', browserWebSocketAdapter]
]);

/**
 * Registers `adapter` for `scheme` (without the colon): `bus.connect()` then accepts
 * `scheme://` URLs. The browser counterpart of the Node entry's tsyringe registration.
 */
export function registerTransport(scheme: string, adapter: TransportAdapter): void {
  transports.set(scheme, adapter);
}

environment.transports = (scheme) => transports.get(scheme);
