/**
 * The workloads and how one (workload, peer) cell is measured: fork the publisher, then the
 * subscriber processes, wait until every subscriber connection has seen a probe, warm up
 * (untimed), then the timed runs, and close everything (also on failure).
 *
 * Figures of one run:
 * - deliveries/s = messages the subscribers counted ÷ (last delivery − first send), both on the
 *   shared clock, so a backlog still draining after the publisher stopped is inside the window;
 * - loss = sent × connections − received, after the deliveries have settled (all arrived, or no
 *   progress for {@link STALL_MS}, {@link FIRST_DELIVERY_MS} while none has arrived);
 * - p50 / p99 = one-way latency from the stamp in the payload to the subscriber's callback.
 *
 * Flooding runs stop after {@link FLOOD_MS} or after a message budget, whichever comes first. The
 * budget is {@link BUDGET_FACTOR} × the deliveries per second measured in the warm-up (fast
 * peers therefore stop on time, slow ones on the budget), so a
 * publisher that outruns a slow broker (aedes fanning out to 100) cannot park tens of MB in the
 * loopback socket buffers (up to 4 MiB send + 32 MiB receive here) that would take half a minute
 * to drain. Every hop still applies its own backpressure; the budget only bounds the run.
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quantile } from '../harness.js';
import { ChildHandle, monoNs, sleep } from './harness.js';
import type { ChildTask, SendReport, SubscriberStats } from './ipc.js';
import type { Endpoint, NetPeer, Qos, Transport } from './peer.js';

export type WorkloadId =
  'W1' | 'W1-unix' | 'W2' | 'W3' | 'W4' | 'W5' | 'W6' | 'W7' | 'W8' | 'W9' | 'W10';

export type Mode =
  { kind: 'flood'; durationMs: number } | { kind: 'paced'; ratePerSec: number; durationMs: number };

export interface Workload {
  id: WorkloadId;
  title: string;
  payloadBytes: number;
  /** Subscriber child processes, and connections in each: 100 sockets fit in 4 processes. */
  subscriberProcesses: number;
  connectionsPerProcess: number;
  transport: Transport;
  qos: Qos;
  mode: Mode;
}

const FLOOD_MS = 1000;

/**
 * Whether peer `p` runs workload `w`: W1–W5 run every peer over its own protocol on TCP, W1-unix
 * and W6–W10 those that have the transport; QoS 1 workloads only peers that have QoS 1.
 */
export function appliesTo(w: Workload, p: NetPeer): boolean {
  return p.transports.includes(w.transport) && (w.qos === 0 || p.hasQos1);
}

/**
 * W1–W5 of the links brief, plus W1 over a Unix socket for peers that have one, and the
 * WebSocket fan-out workloads W6–W10 of the browser brief; in table order.
 */
export const WORKLOADS: readonly Workload[] = [
  {
    id: 'W1',
    title: 'W1: 1 → 1, 64 B, TCP',
    payloadBytes: 64,
    subscriberProcesses: 1,
    connectionsPerProcess: 1,
    transport: 'tcp',
    qos: 0,
    mode: { kind: 'flood', durationMs: FLOOD_MS }
  },
  {
    id: 'W1-unix',
    title: 'W1 over a Unix socket: 1 → 1, 64 B',
    payloadBytes: 64,
    subscriberProcesses: 1,
    connectionsPerProcess: 1,
    transport: 'unix',
    qos: 0,
    mode: { kind: 'flood', durationMs: FLOOD_MS }
  },
  {
    id: 'W2',
    title: 'W2: 1 → 1, 1 KiB, TCP',
    payloadBytes: 1024,
    subscriberProcesses: 1,
    connectionsPerProcess: 1,
    transport: 'tcp',
    qos: 0,
    mode: { kind: 'flood', durationMs: FLOOD_MS }
  },
  {
    id: 'W3',
    title: 'W3: fan-out 1 → 100 (4 processes × 25 connections), 64 B, TCP',
    payloadBytes: 64,
    subscriberProcesses: 4,
    connectionsPerProcess: 25,
    transport: 'tcp',
    qos: 0,
    mode: { kind: 'flood', durationMs: FLOOD_MS }
  },
  {
    id: 'W4',
    title: 'W4: latency at 10 000 msg/s for 2 s, 1 → 1, 64 B, TCP',
    payloadBytes: 64,
    subscriberProcesses: 1,
    connectionsPerProcess: 1,
    transport: 'tcp',
    qos: 0,
    mode: { kind: 'paced', ratePerSec: 10_000, durationMs: 2000 }
  },
  {
    id: 'W5',
    title: 'W5: 1 → 1, 64 B, acked (QoS 1), TCP',
    payloadBytes: 64,
    subscriberProcesses: 1,
    connectionsPerProcess: 1,
    transport: 'tcp',
    qos: 1,
    mode: { kind: 'flood', durationMs: FLOOD_MS }
  },
  {
    id: 'W6',
    title: 'W6: WebSocket fan-out 1 → 100 (4 processes × 25 clients), 64 B',
    payloadBytes: 64,
    subscriberProcesses: 4,
    connectionsPerProcess: 25,
    transport: 'ws',
    qos: 0,
    mode: { kind: 'flood', durationMs: FLOOD_MS }
  },
  {
    id: 'W7',
    title: 'W7: WebSocket fan-out 1 → 1000 (4 processes × 250 clients), 64 B',
    payloadBytes: 64,
    subscriberProcesses: 4,
    connectionsPerProcess: 250,
    transport: 'ws',
    qos: 0,
    mode: { kind: 'flood', durationMs: FLOOD_MS }
  },
  {
    id: 'W8',
    title: 'W8: latency, 100 WebSocket clients × 60 updates/s (one 64 B message each)',
    payloadBytes: 64,
    subscriberProcesses: 4,
    connectionsPerProcess: 25,
    transport: 'ws',
    qos: 0,
    mode: { kind: 'paced', ratePerSec: 60, durationMs: 3000 }
  },
  {
    id: 'W9',
    title: 'W9: latency, 100 WebSocket clients × 60 updates/s of 100 entities (6 000 msg/s), 64 B',
    payloadBytes: 64,
    subscriberProcesses: 4,
    connectionsPerProcess: 25,
    transport: 'ws',
    qos: 0,
    mode: { kind: 'paced', ratePerSec: 6000, durationMs: 2000 }
  },
  {
    id: 'W10',
    title: 'W10: latency, 1000 WebSocket clients × 60 updates/s (one 64 B message each)',
    payloadBytes: 64,
    subscriberProcesses: 4,
    connectionsPerProcess: 250,
    transport: 'ws',
    qos: 0,
    mode: { kind: 'paced', ratePerSec: 60, durationMs: 3000 }
  }
];

/** The figures of one timed run. */
export interface RunFigures {
  sent: number;
  /** sent × subscriber connections. */
  expected: number;
  received: number;
  /** expected − received (negative would mean duplicates). */
  loss: number;
  deliveriesPerSec: number;
  /** Publisher send calls per second while it was sending. */
  sentPerSec: number;
  /** Latency percentiles, paced mode only. */
  p50Ms?: number;
  p99Ms?: number;
}

/** Bounds on every step; a cell that exceeds one fails alone. */
const START_TIMEOUT_MS = 15_000;
const CALL_TIMEOUT_MS = 5_000;
const PRIMED_TIMEOUT_MS = 12_000;
/** Extra time a publisher may need beyond its duration to flush (slow brokers). */
const SEND_SLACK_MS = 30_000;
/** Deliveries that make no progress for this long are settled: the rest is lost. */
const STALL_MS = 300;
/**
 * The same, before the first delivery of a run: aedes over WebSocket (mqtt-ws) fanning a burst
 * out to 1000 clients delivers nothing for well over {@link STALL_MS}, then all of it.
 */
const FIRST_DELIVERY_MS = 5000;
const SETTLE_MAX_MS = 20_000;
const POLL_MS = 20;
/** Children exit by themselves after this long, whatever the parent does. */
const CHILD_LIFETIME_MS = 3 * 60_000;
/**
 * Warm-up, in two untimed runs: a short probe of the rate, capped at
 * {@link CALIBRATION_MAX_DELIVERIES} (summed over all connections), then
 * {@link WARMUP_MS} sized by it, whose rate sets the budget of the timed runs.
 */
const CALIBRATION_MS = 200;
const CALIBRATION_MAX_DELIVERIES = 200_000;
const WARMUP_MS = 500;
/** A flooding run sends at most this × (deliveries/s measured before × duration) deliveries. */
const BUDGET_FACTOR = 1.5;
const MIN_BUDGET_MESSAGES = 100;

let unixPathCount = 0;

/** The message budget of a flooding run of `durationMs` at `deliveriesPerSec`. */
function budgetFor(deliveriesPerSec: number, durationMs: number, connections: number): number {
  const deliveries = deliveriesPerSec * (durationMs / 1000) * BUDGET_FACTOR;
  return Math.max(MIN_BUDGET_MESSAGES, Math.ceil(deliveries / connections));
}

/**
 * Runs the warm-up and returns the message budget for the timed runs (unused by paced mode,
 * whose warm-up is one short paced run).
 */
async function warmUp(
  pub: ChildHandle,
  subs: readonly ChildHandle[],
  w: Workload
): Promise<number> {
  const mode = w.mode;
  if (mode.kind === 'paced') {
    await oneRun(pub, subs, w, { ...mode, durationMs: WARMUP_MS }, 0);
    return 0;
  }
  const connections = w.subscriberProcesses * w.connectionsPerProcess;
  const calibration = await oneRun(
    pub,
    subs,
    w,
    { kind: 'flood', durationMs: CALIBRATION_MS },
    Math.ceil(CALIBRATION_MAX_DELIVERIES / connections)
  );
  const warmup = await oneRun(
    pub,
    subs,
    w,
    { kind: 'flood', durationMs: WARMUP_MS },
    budgetFor(calibration.deliveriesPerSec, WARMUP_MS, connections)
  );
  return budgetFor(warmup.deliveriesPerSec, mode.durationMs, connections);
}

/**
 * Runs one workload for one peer `runs` times (after an untimed warm-up) and returns the figures
 * of each run. `broker` is the peer's broker, or undefined for brokerless peers (the publisher
 * then listens).
 */
export async function runCell(
  peer: NetPeer,
  w: Workload,
  broker: Endpoint | undefined,
  runs: number,
  onRun: (f: RunFigures) => void = () => undefined
): Promise<RunFigures[]> {
  const children: ChildHandle[] = [];
  let unixPath: string | undefined;
  const task = (role: ChildTask['role'], endpoint: Endpoint, connections: number): ChildTask => ({
    role,
    peer: peer.name,
    endpoint,
    qos: w.qos,
    connections,
    payloadBytes: w.payloadBytes,
    parentNs: monoNs(),
    lifetimeMs: CHILD_LIFETIME_MS
  });
  try {
    let listenOn: Endpoint = {
      host: '127.0.0.1',
      port: 0,
      ...(w.transport === 'ws' ? { webSocket: true } : {})
    };
    if (w.transport === 'unix') {
      unixPath = path.join(os.tmpdir(), `ringbus-net-${process.pid}-${++unixPathCount}.sock`);
      listenOn = { path: unixPath };
    }
    const pub = new ChildHandle(`${peer.name} publisher`, task('publisher', broker ?? listenOn, 0));
    children.push(pub);
    const { endpoint } = await pub.ready(START_TIMEOUT_MS);
    if (endpoint === undefined) throw new Error('the publisher reported no endpoint');
    const subs: ChildHandle[] = [];
    for (let i = 0; i < w.subscriberProcesses; i++) {
      const sub = new ChildHandle(
        `${peer.name} subscriber ${i + 1}`,
        task('subscriber', endpoint, w.connectionsPerProcess)
      );
      children.push(sub);
      subs.push(sub);
    }
    await Promise.all(subs.map((s) => s.ready(START_TIMEOUT_MS)));

    // Probe until every connection has seen one: subscriptions are live end to end (ZeroMQ and
    // the brokers propagate them asynchronously).
    await pub.call({ type: 'probe', on: true }, CALL_TIMEOUT_MS);
    await Promise.all(subs.map((s) => s.call({ type: 'primed' }, PRIMED_TIMEOUT_MS)));
    await pub.call({ type: 'probe', on: false }, CALL_TIMEOUT_MS);

    const budget = await warmUp(pub, subs, w);
    const out: RunFigures[] = [];
    for (let r = 0; r < runs; r++) {
      const f = await oneRun(pub, subs, w, w.mode, budget);
      out.push(f);
      onRun(f);
    }
    return out;
  } finally {
    // Subscribers first, so a broker never keeps queueing for a half-closed cell.
    await Promise.all(children.slice(1).map((c) => c.close()));
    if (children.length > 0) await children[0].close();
    if (unixPath !== undefined) rmSync(unixPath, { force: true });
  }
}

async function allStats(
  subs: readonly ChildHandle[],
  withSamples: boolean
): Promise<SubscriberStats[]> {
  return Promise.all(
    subs.map((s) => s.call<SubscriberStats>({ type: 'stats', withSamples }, CALL_TIMEOUT_MS))
  );
}

function totalReceived(stats: readonly SubscriberStats[]): number {
  return stats.reduce((n, s) => n + s.received, 0);
}

async function oneRun(
  pub: ChildHandle,
  subs: readonly ChildHandle[],
  w: Workload,
  mode: Mode,
  maxMessages: number
): Promise<RunFigures> {
  const paced = mode.kind === 'paced';
  const samples = paced ? Math.ceil((mode.ratePerSec * mode.durationMs) / 1000) + 1 : 0;
  await Promise.all(subs.map((s) => s.call({ type: 'reset', samples }, CALL_TIMEOUT_MS)));

  const report = await pub.call<SendReport>(
    paced
      ? { type: 'paced', ratePerSec: mode.ratePerSec, durationMs: mode.durationMs }
      : { type: 'flood', durationMs: mode.durationMs, maxMessages },
    mode.durationMs + SEND_SLACK_MS
  );
  const expected = report.sent * w.subscriberProcesses * w.connectionsPerProcess;

  // Settle: wait until everything arrived or progress stops.
  const giveUpAt = Date.now() + SETTLE_MAX_MS;
  let seen = -1;
  let changedAt = Date.now();
  let stats = await allStats(subs, false);
  for (;;) {
    const total = totalReceived(stats);
    if (total >= expected || Date.now() > giveUpAt) break;
    if (total !== seen) {
      seen = total;
      changedAt = Date.now();
    } else if (Date.now() - changedAt > (total === 0 ? FIRST_DELIVERY_MS : STALL_MS)) {
      break;
    }
    await sleep(POLL_MS);
    stats = await allStats(subs, false);
  }
  if (paced) stats = await allStats(subs, true);

  const received = totalReceived(stats);
  const lastNs = Math.max(...stats.map((s) => s.lastNs));
  const windowNs = lastNs - report.startNs;
  const figures: RunFigures = {
    sent: report.sent,
    expected,
    received,
    loss: expected - received,
    deliveriesPerSec: received > 0 && windowNs > 0 ? (received * 1e9) / windowNs : 0,
    sentPerSec: (report.sent * 1e9) / Math.max(1, report.endNs - report.startNs)
  };
  if (paced) {
    const all = Float64Array.from(stats.flatMap((s) => s.samples ?? [])).sort();
    figures.p50Ms = quantile(all, 0.5) / 1e6;
    figures.p99Ms = quantile(all, 0.99) / 1e6;
  }
  return figures;
}
