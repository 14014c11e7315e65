/**
 * The Node entry of ringbus (`import { Bus } from 'ringbus'` on Node). Today it is the core;
 * the Node-only adapters (TCP, Unix sockets, worker threads) register here as they land.
 *
 * @packageDocumentation
 */
export * from '../src/index.js';
