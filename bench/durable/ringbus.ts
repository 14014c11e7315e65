/**
 * ringbus contenders: a bus whose write-ahead-log store makes the QoS 1 channel durable, one per
 * fsync policy, and the same bus without a store (the in-memory QoS 1 baseline). Publisher and
 * consumer share the bus, as in an embedded deployment; the consumer acks by returning.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus, type BusOptions } from '../../adapters/node.js';
import type { DurableContender, DurableSession } from './contender.js';
import { MAX_IN_FLIGHT, SUBJECT, payload } from './workload.js';

export const FSYNC_POLICIES = ['always', 'batch', 'never'] as const;
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

/** The shared queue the consumer reads: a named QoS 1 channel, durable when the bus has a store. */
const CHANNEL = 'work';
const QOS1 = { qos: 1 } as const;

/** A fresh directory for one store, under the OS temporary directory. */
export function tempStoreDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ringbus-durable-'));
}

export function removeStoreDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Bytes of the files under `dir`. */
function bytesUnder(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => statSync(path.join(dir, f)))
    .reduce((sum, s) => sum + (s.isFile() ? s.size : 0), 0);
}

/**
 * A bus with `options`, its acking consumer, and `closed` once it is closed (which may throw to
 * fail the run).
 */
function session(options: BusOptions, closed: () => void): DurableSession {
  const bus = new Bus(options);
  const bytes = payload();
  let delivered = 0;
  const count = (): void => {
    delivered++;
  };
  bus.subscribe(SUBJECT, count, { channel: CHANNEL, qos: 1, maxInFlight: MAX_IN_FLIGHT });
  return {
    publish: () => bus.publishAsync(SUBJECT, bytes, QOS1),
    delivered: () => delivered,
    async close() {
      try {
        await bus.close();
      } finally {
        closed();
      }
    }
  };
}

/** ringbus with a write-ahead-log store that syncs as `fsync` says. */
export function ringbusWal(fsync: FsyncPolicy): DurableContender {
  return {
    id: `wal-${fsync}`,
    name: `ringbus WAL, fsync '${fsync}'`,
    available: () => Promise.resolve(undefined),
    open() {
      const dir = tempStoreDir();
      // A store that wrote nothing means the bus ignored it: its figures would be in-memory ones.
      const closed = (): void => {
        const bytes = bytesUnder(dir);
        removeStoreDir(dir);
        if (bytes === 0) throw new Error(`the store wrote nothing under ${dir}`);
      };
      try {
        return Promise.resolve(session({ store: { dir, fsync } }, closed));
      } catch (err) {
        removeStoreDir(dir);
        throw err;
      }
    }
  };
}

export const ringbusMemory: DurableContender = {
  id: 'memory',
  name: 'ringbus in-memory QoS 1',
  available: () => Promise.resolve(undefined),
  open: () => Promise.resolve(session({}, () => undefined))
};
