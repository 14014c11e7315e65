/**
 * Timing one run: publish with WINDOW calls outstanding (untimed warm-up, then the timed part),
 * record each call's latency, then wait until the consumer has received everything.
 */
import { quantile } from '../harness.js';
import { sleep } from '../net/harness.js';
import type { DurableContender } from './contender.js';
import { WINDOW } from './workload.js';

/** Untimed publishing at the start of each run, so the consumer and the store are in steady state. */
export const WARMUP_SECONDS = 0.5;
/** Timed publishing per run. */
export const RUN_SECONDS = 2;
/** How long the consumer may take to catch up after the last publish resolved. */
const DRAIN_TIMEOUT_MS = 30_000;

/** One timed run of one contender. */
export interface RunResult {
  /** Publishes resolved in the timed part. */
  messages: number;
  msgsPerSec: number;
  /** Latency quantiles of the timed publishes (call to resolution), in ms. */
  p50Ms: number;
  p99Ms: number;
}

/**
 * Calls `publish` while `more(sent)` says so, with at most `window` calls unresolved, and resolves
 * once every call has; pushes each call's latency in ms to `latencies` when given. Returns the
 * calls made and the ms they took. Calls go out in bursts: after a wait for room, every free
 * slot is filled before the next await, so a client that coalesces the writes of one tick (nats.js)
 * gets a burst of them, not one write per resolved call.
 */
export async function publishWindowed(
  publish: () => Promise<unknown>,
  more: (sent: number) => boolean,
  latencies?: number[],
  window = WINDOW
): Promise<{ messages: number; ms: number }> {
  const t0 = performance.now();
  let sent = 0;
  let inFlight = 0;
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settled = (): void => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const failed = (err: unknown): void => {
    failure ??= { err };
    settled();
  };
  for (;;) {
    if (failure !== undefined) throw failure.err;
    if (inFlight < window && more(sent)) {
      const start = performance.now();
      const record =
        latencies === undefined
          ? settled
          : () => {
              latencies.push(performance.now() - start);
              settled();
            };
      inFlight++;
      sent++;
      publish().then(record, failed);
      continue;
    }
    if (inFlight === 0) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  return { messages: sent, ms: performance.now() - t0 };
}

/** Publishes for `seconds`; see {@link publishWindowed}. */
function publishFor(publish: () => Promise<unknown>, seconds: number, latencies?: number[]) {
  const deadline = performance.now() + seconds * 1000;
  return publishWindowed(publish, () => performance.now() < deadline, latencies);
}

/** A fresh session of `c`: warm-up, timed publishing, then every message delivered. */
export async function timeRun(c: DurableContender): Promise<RunResult> {
  const session = await c.open();
  try {
    const warm = await publishFor(() => session.publish(), WARMUP_SECONDS);
    const latencies: number[] = [];
    const timed = await publishFor(() => session.publish(), RUN_SECONDS, latencies);
    const total = warm.messages + timed.messages;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (session.delivered() < total) {
      if (Date.now() > deadline) {
        throw new Error(`the consumer received ${session.delivered()} of ${total} messages`);
      }
      await sleep(10);
    }
    const sorted = Float64Array.from(latencies).sort();
    return {
      messages: timed.messages,
      msgsPerSec: (timed.messages * 1000) / timed.ms,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99)
    };
  } finally {
    await session.close();
  }
}
