/**
 * The contract of a worker-thread contender: a parent side that sends, a worker side that
 * receives, for one measurement in a fresh `Worker` (measure.ts runs it). Every contender moves
 * the same payloads (payload.ts) in the same direction, parent → worker.
 *
 * Adding a contender: write a module in contenders/ that exports a `WorkerContender` and list it
 * in contenders.ts; the worker entry (thread.ts) finds it there by id.
 */
import type { Worker } from 'node:worker_threads';
import type { Tally } from './control.js';

/** One throughput measurement, as the worker gets it in `workerData`. */
export interface ThroughputTask {
  kind: 'throughput';
  contender: string;
  payloadBytes: number;
  /** Untimed messages sent first: the worker is fresh and its code cold. */
  warmup: number;
  /** Warm-up plus timed messages; message `total - 1` is the last, checked in full. */
  total: number;
}

/** One round-trip measurement: one payload at a time, there and back. */
export interface RoundTripTask {
  kind: 'round-trip';
  contender: string;
  payloadBytes: number;
}

export type Task = ThroughputTask | RoundTripTask;

/** The parent side of a throughput measurement. */
export interface Sender {
  /**
   * Sends messages `from` … `to - 1` (the worker sees them in this order); resolves once they are
   * handed to the transport, waiting as its flow control asks.
   */
  send(from: number, to: number): void | Promise<void>;
  close(): Promise<void>;
}

/** The parent side of a round-trip measurement. */
export interface Pinger {
  /** Sends one payload and resolves when the worker's echo of it is back. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerContender {
  /** For filters (RINGBUS_WORKER_CONTENDERS) and the worker entry. */
  id: string;
  /** Row label. */
  name: string;
  /** Parent side: attaches to the freshly started worker that runs `receive`. */
  openSender(worker: Worker, task: ThroughputTask): Promise<Sender>;
  /**
   * Worker side: sets up, calls `tally.ready()`, then reports every message to the tally. May
   * block its thread until the last message (a ring reader) or return and count in handlers.
   */
  receive(task: ThroughputTask, tally: Tally): void | Promise<void>;
  /** Round trips, for the contenders that take part in them. */
  roundTrip?: {
    openPinger(worker: Worker, task: RoundTripTask): Promise<Pinger>;
    /** Worker side: sends every payload back; calls `ready()` once it can. */
    echo(task: RoundTripTask, ready: () => void): void | Promise<void>;
  };
}
