/**
 * One measurement in a fresh worker: start the thread with its control channel, let the
 * contender attach, send a warm-up, then time the rest from the first send to the worker's report
 * that the last message arrived (and was right). Round trips: time one payload there and back,
 * again and again. The worker is terminated afterwards either way.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { RoundTripTask, ThroughputTask, WorkerContender } from './contender.js';
import { Reports } from './control.js';
import type { ThreadData } from './thread.js';

const THREAD = new URL('./thread.js', import.meta.url);

/** A GC in the parent before timing, when `--expose-gc` allows it (the worker's heap is its own). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

interface Thread {
  worker: Worker;
  reports: Reports;
}

function startThread(task: ThroughputTask | RoundTripTask): Thread {
  const { port1, port2 } = new MessageChannel();
  const data: ThreadData = { task, control: port2 };
  const worker = new Worker(THREAD, { workerData: data, transferList: [port2] });
  return { worker, reports: new Reports(port1, worker) };
}

async function stopThread(thread: Thread, close: (() => Promise<void>) | undefined): Promise<void> {
  try {
    await close?.();
  } finally {
    thread.reports.close();
    await thread.worker.terminate();
  }
}

/** Messages per second over the timed part of `task`. */
export async function timeThroughput(c: WorkerContender, task: ThroughputTask): Promise<number> {
  const thread = startThread(task);
  let close: (() => Promise<void>) | undefined;
  try {
    const sender = await c.openSender(thread.worker, task);
    close = () => sender.close();
    await thread.reports.next('ready');
    await sender.send(0, task.warmup);
    await thread.reports.next('warm');
    collectGarbage();
    const t0 = performance.now();
    await sender.send(task.warmup, task.total);
    const done = await thread.reports.next('done');
    const seconds = (performance.now() - t0) / 1000;
    if (done.received !== task.total) {
      throw new Error(`the worker received ${done.received} of ${task.total} messages`);
    }
    if (!done.lastIsRight) throw new Error('the last message arrived with the wrong bytes');
    return (task.total - task.warmup) / seconds;
  } finally {
    await stopThread(thread, close);
  }
}

/** Round-trip times of `timed` pings after `warmup` untimed ones, in ms, ascending. */
export async function timeRoundTrips(
  c: WorkerContender,
  task: RoundTripTask,
  warmup: number,
  timed: number
): Promise<Float64Array> {
  const roundTrip = c.roundTrip;
  if (roundTrip === undefined) throw new Error(`${c.id} takes no part in round trips`);
  const thread = startThread(task);
  let close: (() => Promise<void>) | undefined;
  try {
    const pinger = await roundTrip.openPinger(thread.worker, task);
    close = () => pinger.close();
    await thread.reports.next('ready');
    for (let i = 0; i < warmup; i++) await pinger.ping();
    collectGarbage();
    const samples = new Float64Array(timed);
    for (let i = 0; i < timed; i++) {
      const t0 = performance.now();
      await pinger.ping();
      samples[i] = performance.now() - t0;
    }
    return samples.sort();
  } finally {
    await stopThread(thread, close);
  }
}
