/**
 * Worker-thread benchmarks: moving messages from the main thread to one worker with ringbus (a
 * worker link, and its shared ring used directly) against `postMessage` (one message per call,
 * arrays, packed transferred buffers) and a hand-written SharedArrayBuffer ring (the practical
 * limit), for 64 B and 1 KiB payloads; then round-trip latency of one 64 B message at a time.
 * `runWorkerBenchmarks()` returns structured results for bench/run.ts to report;
 * `node --expose-gc build/bench/worker/run.js` runs it standalone and prints the tables (the
 * same as `RINGBUS_BENCH_SUITES=worker npm run bench`).
 *
 * Environment: RINGBUS_WORKER_RUNS (timed runs per cell, default 5), RINGBUS_WORKER_CONTENDERS
 * (comma-separated ids from contenders.ts, e.g. `ringbus-link,post-message`),
 * RINGBUS_WORKER_PAYLOADS (payload sizes in bytes, e.g. `64`).
 *
 * Method: every measurement starts a fresh Worker (measure.ts) and sends a warm-up before the
 * timed part. Untimed calibration runs per cell set the message count so a timed run lasts
 * about RUN_SECONDS; every later run re-aims at it from the median so far. The timed rounds run
 * every cell once per round, in an order rotated per round (as bench/harness.ts does), so drift
 * spreads evenly; the median run is reported. Round trips: ROUND_TRIP_WARMUP pings, then
 * ROUND_TRIPS timed ones per run, p50 and p99 per run, medians over the runs.
 *
 * Cost: about 75 s on the 2-core machine (16 throughput cells, each a few short calibration
 * runs and 5 timed runs of ~0.25 s in fresh workers; then 3 × 5 round-trip runs).
 */
import {
  type MachineInfo,
  checkNames,
  envList,
  envRuns,
  firstLine,
  machineInfo,
  median,
  quantile
} from '../harness.js';
import { rate, runStandalone } from '../report.js';
import type { WorkerContender } from './contender.js';
import { WORKER_CONTENDERS } from './contenders.js';
import { timeRoundTrips, timeThroughput } from './measure.js';
import { WORKER_LEGEND, workerTables, workerTargets } from './report.js';
import { BATCH, PAYLOAD_SIZES } from './settings.js';

/** Aimed length of one timed throughput run. */
export const RUN_SECONDS = 0.25;
/** Messages of the first calibration run, and the most runs calibration takes. */
const CALIBRATION_MESSAGES = 20_000;
const CALIBRATION_ATTEMPTS = 4;
/** The bounds of a timed run, in messages. */
const MIN_MESSAGES = 10_000;
const MAX_MESSAGES = 50_000_000;
/** Untimed share of each measurement, sent first to the fresh worker. */
export const WARMUP_SHARE = 0.25;
/** Round trips per run: untimed, then timed; 64 B payloads. */
export const ROUND_TRIP_WARMUP = 1000;
export const ROUND_TRIPS = 3000;
export const ROUND_TRIP_PAYLOAD_BYTES = 64;

export interface WorkerBenchOptions {
  /**
   * Timed runs per (contender, payload size); the median is reported.
   * @defaultValue `RINGBUS_WORKER_RUNS`, else 5
   */
  runs?: number;
  /**
   * Only these contenders, by id (see contenders.ts).
   * @defaultValue `RINGBUS_WORKER_CONTENDERS`, else all
   */
  contenders?: readonly string[];
  /**
   * Only these payload sizes, in bytes.
   * @defaultValue `RINGBUS_WORKER_PAYLOADS`, else 64 and 1024
   */
  payloads?: readonly number[];
  /**
   * Progress lines while running.
   * @defaultValue `console.log`
   */
  log?: (line: string) => void;
}

/** One (contender, payload size) cell: the median of its runs, or why there is none. */
export interface ThroughputCell {
  contender: string;
  name: string;
  payloadBytes: number;
  /** Messages/s of each timed run. */
  rates: number[];
  /** Median timed messages per run. */
  messages: number;
  msgsPerSec?: number;
  /** Payload bytes per second, in 10^6 B/s. */
  mbPerSec?: number;
  /** (max − min) / median of the runs' msgs/s. */
  spread?: number;
  /** The cell failed (the error's first line). */
  skipped?: string;
}

export interface RoundTripCell {
  contender: string;
  name: string;
  payloadBytes: number;
  /** Timed round trips per run. */
  roundTrips: number;
  runs: number;
  /** Medians over the runs of each run's p50 and p99, in microseconds. */
  p50Us?: number;
  p99Us?: number;
  skipped?: string;
}

export interface WorkerReport {
  machine: MachineInfo;
  runs: number;
  throughput: ThroughputCell[];
  roundTrips: RoundTripCell[];
  seconds: number;
}

/** Whole batches (postMessage sends whole arrays), at least one. */
function batches(messages: number): number {
  return Math.max(BATCH, Math.round(messages / BATCH) * BATCH);
}

/** A throughput task of `messages` timed messages after the warm-up share. */
function throughputTask(c: WorkerContender, payloadBytes: number, messages: number) {
  const warmup = batches(messages * WARMUP_SHARE);
  return {
    kind: 'throughput' as const,
    contender: c.id,
    payloadBytes,
    warmup,
    total: warmup + batches(messages)
  };
}

interface LiveCell {
  cell: ThroughputCell;
  c: WorkerContender;
  /** Timed messages of the next run. */
  next: number;
}

/** Aims the next run of `live` at RUN_SECONDS from the median rate so far. */
function aim(live: LiveCell, rates: readonly number[]): void {
  const n = median(rates) * RUN_SECONDS;
  live.next = batches(Math.min(MAX_MESSAGES, Math.max(MIN_MESSAGES, n)));
}

async function runThroughput(
  contenders: readonly WorkerContender[],
  payloads: readonly number[],
  runs: number,
  log: (line: string) => void
): Promise<ThroughputCell[]> {
  const live: LiveCell[] = [];
  for (const payloadBytes of payloads) {
    for (const c of contenders) {
      const cell: ThroughputCell = {
        contender: c.id,
        name: c.name,
        payloadBytes,
        rates: [],
        messages: 0
      };
      live.push({ cell, c, next: CALIBRATION_MESSAGES });
    }
  }
  const sent: number[][] = live.map(() => []);
  const label = (l: LiveCell): string => `${l.c.id} ${l.cell.payloadBytes} B`;
  const once = async (l: LiveCell): Promise<number | undefined> => {
    if (l.cell.skipped !== undefined) return undefined;
    try {
      return await timeThroughput(l.c, throughputTask(l.c, l.cell.payloadBytes, l.next));
    } catch (err) {
      l.cell.skipped = `failed: ${firstLine(err)}`;
      log(`  ${label(l)}: ${l.cell.skipped}`);
      return undefined;
    }
  };
  // Calibration, untimed: from a short run, aim again until a run lasts half of RUN_SECONDS.
  for (const l of live) {
    for (let attempt = 0; attempt < CALIBRATION_ATTEMPTS; attempt++) {
      const messages = l.next;
      const r = await once(l);
      if (r === undefined) break;
      aim(l, [r]);
      if (messages / r >= RUN_SECONDS / 2) break;
    }
  }
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < live.length; k++) {
      const i = (k + round) % live.length;
      const l = live[i];
      const messages = l.next;
      const r = await once(l);
      if (r === undefined) continue;
      l.cell.rates.push(r);
      sent[i].push(messages);
      aim(l, l.cell.rates);
      log(`  ${label(l)}: ${rate(r)} msgs/s (${rate(messages)} messages)`);
    }
  }
  return live.map(({ cell }, i) => {
    if (cell.skipped !== undefined || cell.rates.length === 0) return cell;
    const m = median(cell.rates);
    return {
      ...cell,
      messages: median(sent[i]),
      msgsPerSec: m,
      mbPerSec: (m * cell.payloadBytes) / 1e6,
      spread: (Math.max(...cell.rates) - Math.min(...cell.rates)) / m
    };
  });
}

async function runRoundTrips(
  contenders: readonly WorkerContender[],
  runs: number,
  log: (line: string) => void
): Promise<RoundTripCell[]> {
  const out: RoundTripCell[] = [];
  for (const c of contenders.filter((x) => x.roundTrip !== undefined)) {
    const cell: RoundTripCell = {
      contender: c.id,
      name: c.name,
      payloadBytes: ROUND_TRIP_PAYLOAD_BYTES,
      roundTrips: ROUND_TRIPS,
      runs
    };
    const p50: number[] = [];
    const p99: number[] = [];
    try {
      for (let r = 0; r < runs; r++) {
        const task = {
          kind: 'round-trip' as const,
          contender: c.id,
          payloadBytes: cell.payloadBytes
        };
        const ms = await timeRoundTrips(c, task, ROUND_TRIP_WARMUP, ROUND_TRIPS);
        p50.push(quantile(ms, 0.5) * 1000);
        p99.push(quantile(ms, 0.99) * 1000);
        log(`  round trip ${c.id}: p50 ${p50[r].toFixed(1)} µs, p99 ${p99[r].toFixed(1)} µs`);
      }
      cell.p50Us = median(p50);
      cell.p99Us = median(p99);
    } catch (err) {
      cell.skipped = `failed: ${firstLine(err)}`;
      log(`  round trip ${c.id}: ${cell.skipped}`);
    }
    out.push(cell);
  }
  return out;
}

/**
 * Runs every contender at every payload size, then the round trips. Never throws for a
 * contender's sake: a failing cell becomes a `skipped` reason. Every worker it starts is
 * terminated before it returns.
 */
export async function runWorkerBenchmarks(options: WorkerBenchOptions = {}): Promise<WorkerReport> {
  const started = performance.now();
  const machine = machineInfo(); // the load average before the suite, not after it
  const runs = envRuns('RINGBUS_WORKER_RUNS', 5, options.runs);
  const log = options.log ?? ((line: string) => console.log(line));
  const idFilter = options.contenders ?? envList('RINGBUS_WORKER_CONTENDERS');
  const payloadFilter = options.payloads ?? envList('RINGBUS_WORKER_PAYLOADS')?.map(Number);
  checkNames(
    'contender',
    idFilter,
    WORKER_CONTENDERS.map((c) => c.id)
  );
  checkNames('payload size', payloadFilter?.map(String), PAYLOAD_SIZES.map(String));
  const contenders = WORKER_CONTENDERS.filter(
    (c) => idFilter === undefined || idFilter.includes(c.id)
  );
  const payloads = PAYLOAD_SIZES.filter(
    (p) => payloadFilter === undefined || payloadFilter.includes(p)
  );
  const throughput = await runThroughput(contenders, payloads, runs, log);
  const roundTrips = await runRoundTrips(contenders, runs, log);
  return {
    machine,
    runs,
    throughput,
    roundTrips,
    seconds: (performance.now() - started) / 1000
  };
}

await runStandalone(import.meta.url, async () => {
  const report = await runWorkerBenchmarks();
  return {
    tables: workerTables(report),
    legend: WORKER_LEGEND,
    targets: workerTargets(report),
    name: 'Worker',
    summary: `${report.runs} runs per cell, median shown; worker suite took ${report.seconds.toFixed(0)} s`
  };
});
