/**
 * Recovery time: a bus with a store takes RINGBUS_DURABLE_RECOVER_N messages into a durable
 * channel nobody reads (a pull subscription never pulled), closes, and a new bus on the same
 * directory replays the log while `new Bus()` runs; that constructor call is timed.
 */
import { Bus } from '../../adapters/node.js';
import { forceGc } from '../harness.js';
import { publishWindowed } from './measure.js';
import { removeStoreDir, tempStoreDir } from './ringbus.js';
import { payload } from './workload.js';

const SUBJECT = 'bench.recover';
/** The durable queue holds every unacked message: RECOVER_N may not exceed it. */
const QUEUE_SIZE = 1 << 21;

/** Messages to recover: RINGBUS_DURABLE_RECOVER_N, else a million. */
export function recoverCount(): number {
  const n = Number(process.env.RINGBUS_DURABLE_RECOVER_N ?? 1_000_000);
  if (!Number.isInteger(n) || n < 1 || n > QUEUE_SIZE) {
    throw new Error(
      `RINGBUS_DURABLE_RECOVER_N must be an integer in [1, ${QUEUE_SIZE}] (got ${n})`
    );
  }
  return n;
}

/** One recovery. */
export interface RecoveryRun {
  /** Wall-clock ms of `new Bus({ store: { dir } })`. */
  wallMs: number;
  /** What the store reports: `stats().store.recovery`. */
  storeMs?: number;
  recovered?: number;
}

/**
 * Fills a fresh store with `n` unacked messages (fsync 'never': how the log got there does not
 * change what recovery reads), then times the recovery of a new bus on it.
 */
export async function timeRecovery(n: number): Promise<RecoveryRun> {
  const dir = tempStoreDir();
  try {
    const writer = new Bus({ store: { dir, fsync: 'never' } });
    writer.subscribe(SUBJECT, { channel: 'r', qos: 1, queueSize: QUEUE_SIZE });
    const bytes = payload();
    await publishWindowed(
      () => writer.publishAsync(SUBJECT, bytes, { qos: 1 }),
      (sent) => sent < n
    );
    await writer.close();
    forceGc(); // the writer's million envelopes are not the reader's to collect
    const t0 = performance.now();
    const reader = new Bus({ store: { dir } });
    const wallMs = performance.now() - t0;
    const recovery = reader.stats().store?.recovery;
    await reader.close();
    return { wallMs, storeMs: recovery?.ms, recovered: recovery?.messages };
  } finally {
    removeStoreDir(dir);
  }
}
