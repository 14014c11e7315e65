/**
 * Handing shared buffers (rings) from the parent to a worker it just started: one postMessage
 * before any measurement. A ringbus link makes its own offer (LINK_OFFER) and needs none.
 */
import { type Worker, parentPort } from 'node:worker_threads';

interface Handover {
  'bench:buffers': SharedArrayBuffer[];
}

export function handOver(worker: Worker, buffers: SharedArrayBuffer[]): void {
  const message: Handover = { 'bench:buffers': buffers };
  worker.postMessage(message);
}

/** In the worker: the buffers the parent hands over. */
export function takeOver(): Promise<SharedArrayBuffer[]> {
  const port = parentPort;
  if (port === null) return Promise.reject(new Error('takeOver() runs in a worker'));
  return new Promise((resolve) => {
    const onMessage = (m: Partial<Handover>): void => {
      const buffers = m['bench:buffers'];
      if (buffers === undefined) return;
      port.off('message', onMessage);
      resolve(buffers);
    };
    port.on('message', onMessage);
  });
}
