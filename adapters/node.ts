/**
 * The Node entry of ringbus (`import { Bus } from 'ringbus'` on Node): the core, plus the TCP, Unix
 * socket and WebSocket transports registered in the tsyringe container by URL scheme, and worker
 * links over shared-memory rings (`bus.connectWorker`, `bus.connectParent`), and the durable store
 * (`new Bus({ store: { dir } })`), and the NATS bridge (`bus.connect('nats://…')`).
 *
 * @packageDocumentation
 */
export * from '../src/index.js';
export {
  LOGGER_TOKEN,
  STORE_TOKEN,
  THREADS_TOKEN,
  bridgeToken,
  registerLogger,
  registerTransport,
  transportToken
} from './container.js';
export { socketAdapter } from './socket.js';
export { websocketAdapter } from './websocket.js';
export { LINK_OFFER, nodeThreads } from './worker/node-threads.js';
export type { SharedRingOptions } from './worker/options.js';
export { RingReader } from './worker/ring-reader.js';
export { RingWriter } from './worker/ring-writer.js';
export { RING_HEADER_BYTES, createSharedRing } from './worker/shared-ring.js';
