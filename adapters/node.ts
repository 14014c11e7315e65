/**
 * The Node entry of ringbus (`import { Bus } from 'ringbus'` on Node): the core, plus the TCP, Unix
 * socket and WebSocket transports registered in the tsyringe container by URL scheme.
 *
 * @packageDocumentation
 */
export * from '../src/index.js';
export { LOGGER_TOKEN, registerLogger, registerTransport, transportToken } from './container.js';
export { socketAdapter } from './socket.js';
export { websocketAdapter } from './websocket.js';
