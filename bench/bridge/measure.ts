/**
 * Timing one run: publish for WARMUP_SECONDS untimed and let the subscribers catch up, then
 * publish for RUN_SECONDS and wait until they have received everything. The figure is end to end:
 * deliveries received from the first timed publish to the last delivery, per second.
 */
import { publishWindowed } from '../durable/measure.js';
import { immediate, sleep } from '../net/harness.js';
import type { BridgeClient, Rig, Server } from './contender.js';
import { BATCH, MAX_FLUSHES, WINDOW, type Workload } from './workload.js';

/** Untimed publishing at the start of each run: connections, JIT and JetStream in steady state. */
export const WARMUP_SECONDS = 0.5;
/** Timed publishing per run. */
export const RUN_SECONDS = 3;
/** Nothing received for this long while messages are missing: the rest counts as lost. */
const STALL_MS = 2000;
/** How often the receive counter is read while waiting: the end time's resolution. */
const POLL_MS = 1;

/** One timed run of one client on one workload. */
export interface RunResult {
  /** Messages published in the timed part. */
  messages: number;
  /** Deliveries counted by the subscribers for them (every subscriber gets every message). */
  deliveries: number;
  /** Deliveries per second, first timed publish to last delivery. */
  perSec: number;
  /** Deliveries that never came (messages × subscribers − deliveries). */
  lost: number;
}

/**
 * QoS 0: BATCH publishes per event-loop turn, then a PING (`rig.flush()`), waiting while
 * MAX_FLUSHES are unanswered: neither client pushes back on its own (nats.js buffers without
 * bound), so this is the publisher's flow control, the same for both.
 */
async function sendBatches(rig: Rig, deadline: number): Promise<number> {
  const flushes: Promise<void>[] = [];
  let sent = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < BATCH; i++) {
      const room = rig.send();
      if (room !== undefined) await room;
    }
    sent += BATCH;
    flushes.push(rig.flush());
    while (flushes.length >= MAX_FLUSHES) await flushes.shift();
    await immediate();
  }
  await Promise.all(flushes);
  return sent;
}

/** Publishes for `seconds`; returns the messages published. */
async function sendFor(rig: Rig, w: Workload, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  if (w.qos === 0) return sendBatches(rig, deadline);
  const sent = await publishWindowed(
    () => rig.send() ?? Promise.resolve(),
    () => performance.now() < deadline,
    undefined,
    WINDOW
  );
  return sent.messages;
}

/**
 * Waits until the subscribers have received `expected` in all, or nothing arrived for STALL_MS;
 * returns when the last delivery was seen.
 */
async function settle(rig: Rig, expected: number): Promise<number> {
  let seen = rig.received();
  let at = performance.now();
  while (seen < expected) {
    await sleep(POLL_MS);
    const now = performance.now();
    const r = rig.received();
    if (r !== seen) {
      seen = r;
      at = now;
    } else if (now - at > STALL_MS) break;
  }
  return at;
}

/** A fresh rig of `client`: warm-up, timed publishing, then every delivery (or a stall). */
export async function timeRun(
  client: BridgeClient,
  server: Server,
  w: Workload
): Promise<RunResult> {
  const rig = await client.open(server, w);
  try {
    const warm = await sendFor(rig, w, WARMUP_SECONDS);
    await settle(rig, warm * w.subscribers);
    const before = rig.received();
    const t0 = performance.now();
    const messages = await sendFor(rig, w, RUN_SECONDS);
    const t1 = await settle(rig, before + messages * w.subscribers);
    const deliveries = rig.received() - before;
    return {
      messages,
      deliveries,
      perSec: (deliveries * 1000) / (t1 - t0),
      lost: messages * w.subscribers - deliveries
    };
  } finally {
    await rig.close();
  }
}
