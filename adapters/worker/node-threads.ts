import { Worker, parentPort } from 'node:worker_threads';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import type { ThreadTransport, ThreadTransportOptions } from '../../src/link/transport.js';
import { RingConnection } from './ring-connection.js';
import { RingReader } from './ring-reader.js';
import { RingWriter } from './ring-writer.js';
import { createSharedRing } from './shared-ring.js';

/**
 * The key of the one message a link costs `postMessage`: the parent's offer of two rings. A
 * worker's own `parentPort` listeners see it too; they should ignore messages that carry it.
 */
export const LINK_OFFER = 'ringbus:link';

interface Offer {
  [LINK_OFFER]: 1;
  toWorker: SharedArrayBuffer;
  toParent: SharedArrayBuffer;
}

function isOffer(message: unknown): message is Offer {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as Partial<Offer>)[LINK_OFFER] === 1 &&
    (message as Partial<Offer>).toWorker instanceof SharedArrayBuffer &&
    (message as Partial<Offer>).toParent instanceof SharedArrayBuffer
  );
}

/**
 * Worker links on Node's `worker_threads`: `postMessage` carries only the offer of the two rings;
 * the link's frames go through the rings. The parent sees a worker's death through its 'exit'
 * event (after 'error' when it threw); the worker needs no such watch, since it dies with its
 * parent's process.
 */
export const nodeThreads: ThreadTransport = {
  connectWorker(worker: unknown, options: ThreadTransportOptions): RingConnection {
    if (!(worker instanceof Worker)) {
      throw new RingbusError(
        ErrorCode.INVALID_OPTIONS,
        'connectWorker() takes a Worker from node:worker_threads'
      );
    }
    const toWorker = createSharedRing({ capacityBytes: options.ringBytes });
    const toParent = createSharedRing({ capacityBytes: options.ringBytes });
    const onExit = (): void => conn.destroy();
    const conn = new RingConnection(
      new RingWriter(toWorker),
      new RingReader(toParent),
      `worker#${worker.threadId}`,
      () => worker.off('exit', onExit)
    );
    worker.once('exit', onExit);
    const offer: Offer = { [LINK_OFFER]: 1, toWorker, toParent };
    worker.postMessage(offer);
    return conn;
  },

  connectParent(options: ThreadTransportOptions): Promise<RingConnection> {
    const port = parentPort;
    if (port === null) {
      return Promise.reject(
        new RingbusError(
          ErrorCode.INVALID_OPTIONS,
          'connectParent() runs inside a worker thread; the main thread links to its workers with connectWorker(worker)'
        )
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        port.off('message', onMessage);
        reject(
          new RingbusError(
            ErrorCode.CONNECT,
            `no link offer from the parent within ${options.timeoutMs} ms; the parent calls bus.connectWorker(worker)`
          )
        );
      }, options.timeoutMs);
      const onMessage = (message: unknown): void => {
        if (!isOffer(message)) return;
        clearTimeout(timer);
        port.off('message', onMessage);
        resolve(
          new RingConnection(
            new RingWriter(message.toParent),
            new RingReader(message.toWorker),
            'parent',
            () => undefined
          )
        );
      };
      port.on('message', onMessage);
    });
  }
};
