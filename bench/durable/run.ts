/**
 * Durable QoS 1 publishing: ringbus with its write-ahead-log store under each fsync policy,
 * against the same bus without a store (the in-memory QoS 1 baseline) and NATS JetStream with
 * file storage on the same disk; then the time a new bus takes to recover a million unacked
 * messages. `runDurableBenchmarks()` returns structured results for bench/run.ts to report;
 * `node --expose-gc build/bench/durable/run.js` runs it standalone and prints the tables (the
 * same as `RINGBUS_BENCH_SUITES=durable npm run bench`).
 *
 * Environment: RINGBUS_DURABLE_RUNS (runs per contender and of the recovery, default 3),
 * RINGBUS_DURABLE_CONTENDERS (comma-separated ids, e.g. `wal-batch,jetstream`),
 * RINGBUS_DURABLE_RECOVER_N (messages to recover, default 1 000 000; 100000 for a quick run).
 *
 * Method (measure.ts): every run opens a fresh system on an empty store in a new temporary
 * directory, publishes for WARMUP_SECONDS untimed and RUN_SECONDS timed with WINDOW publishes in
 * flight while one consumer acks every message, waits for the consumer to have everything, and
 * removes its files. Rounds run every contender once, in an order rotated per round; medians
 * are reported.
 *
 * Cost: about 110 s on the 2-core machine with the defaults (6 contenders × 3 runs of about 3 s,
 * then 3 recoveries of a million messages, each about 15 s with the publishing before it).
 */
import {
  type MachineInfo,
  checkNames,
  envList,
  envRuns,
  firstLine,
  machineInfo,
  median
} from '../harness.js';
import { killOwnedOnExitSignals, packageVersion } from '../net/harness.js';
import { missingNatsServer, natsServerVersion } from '../net/nats-server.js';
import { rate, runStandalone } from '../report.js';
import type { DurableContender } from './contender.js';
import { jetstream } from './jetstream.js';
import { type RunResult, timeRun } from './measure.js';
import { DURABLE_LEGEND, durableTables, durableTargets, versionLine } from './report.js';
import { type RecoveryRun, recoverCount, timeRecovery } from './recovery.js';
import { FSYNC_POLICIES, ringbusMemory, ringbusWal } from './ringbus.js';

/** Every contender, in table order. */
export const DURABLE_CONTENDERS: readonly DurableContender[] = [
  ...FSYNC_POLICIES.map(ringbusWal),
  ringbusMemory,
  jetstream('file'),
  jetstream('memory')
];

export interface DurableBenchOptions {
  /**
   * Runs per contender, and recoveries; medians are reported.
   * @defaultValue `RINGBUS_DURABLE_RUNS`, else 3
   */
  runs?: number;
  /**
   * Only these contenders, by id.
   * @defaultValue `RINGBUS_DURABLE_CONTENDERS`, else all
   */
  contenders?: readonly string[];
  /**
   * Unacked messages to recover.
   * @defaultValue `RINGBUS_DURABLE_RECOVER_N`, else 1 000 000
   */
  recoverMessages?: number;
  /**
   * Progress lines while running.
   * @defaultValue `console.log`
   */
  log?: (line: string) => void;
}

/** One contender: the medians of its runs, or why there are none. */
export interface PublishCell {
  contender: string;
  name: string;
  runs: RunResult[];
  msgsPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Median timed messages per run. */
  messages?: number;
  /** (max − min) / median of the runs' msgs/s. */
  spread?: number;
  /** Absent (a missing binary or package) or failed: the reason. */
  skipped?: string;
}

/** The recoveries: medians over the runs that reported each figure. */
export interface RecoveryCell {
  /** Unacked messages published before each recovery. */
  messages: number;
  runs: RecoveryRun[];
  wallMs?: number;
  storeMs?: number;
  recovered?: number;
  skipped?: string;
}

export interface DurableReport {
  machine: MachineInfo;
  /** Versions of the moving parts: node, nats-server, the nats client. */
  versions: Record<string, string>;
  runs: number;
  publish: PublishCell[];
  recovery: RecoveryCell;
  seconds: number;
}

/** The median of the defined values, or undefined when there are none. */
function medianOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : median(known);
}

async function runPublish(
  contenders: readonly DurableContender[],
  runs: number,
  log: (line: string) => void
): Promise<PublishCell[]> {
  const cells: PublishCell[] = [];
  for (const c of contenders) {
    const absent = await c.available();
    if (absent !== undefined) log(`\n!!! ${c.name} is ABSENT from this run: ${absent}\n`);
    cells.push({
      contender: c.id,
      name: c.name,
      runs: [],
      skipped: absent === undefined ? undefined : `absent: ${absent}`
    });
  }
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (k + round) % contenders.length;
      const cell = cells[i];
      if (cell.skipped !== undefined) continue;
      try {
        const r = await timeRun(contenders[i]);
        cell.runs.push(r);
        log(
          `  ${cell.contender}: ${rate(r.msgsPerSec)} msgs/s, ` +
            `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (${rate(r.messages)} messages)`
        );
      } catch (err) {
        cell.skipped = `failed: ${firstLine(err)}`;
        log(`  ${cell.contender}: ${cell.skipped}`);
      }
    }
  }
  return cells.map((cell) => {
    if (cell.skipped !== undefined) return cell;
    const rates = cell.runs.map((r) => r.msgsPerSec);
    const m = median(rates);
    return {
      ...cell,
      msgsPerSec: m,
      p50Ms: median(cell.runs.map((r) => r.p50Ms)),
      p99Ms: median(cell.runs.map((r) => r.p99Ms)),
      messages: median(cell.runs.map((r) => r.messages)),
      spread: (Math.max(...rates) - Math.min(...rates)) / m
    };
  });
}

async function runRecovery(
  messages: number,
  runs: number,
  log: (line: string) => void
): Promise<RecoveryCell> {
  const cell: RecoveryCell = { messages, runs: [] };
  try {
    for (let r = 0; r < runs; r++) {
      const run = await timeRecovery(messages);
      cell.runs.push(run);
      log(
        `  recovery of ${rate(messages)}: new Bus() ${run.wallMs.toFixed(0)} ms, ` +
          `store ${run.storeMs?.toFixed(0) ?? '?'} ms, ${run.recovered ?? '?'} recovered`
      );
    }
  } catch (err) {
    cell.skipped = `failed: ${firstLine(err)}`;
    log(`  recovery: ${cell.skipped}`);
    return cell;
  }
  return {
    ...cell,
    wallMs: median(cell.runs.map((r) => r.wallMs)),
    storeMs: medianOf(cell.runs.map((r) => r.storeMs)),
    recovered: medianOf(cell.runs.map((r) => r.recovered))
  };
}

/**
 * Runs every contender, then the recoveries. Never throws for a contender's sake: an absent or
 * failing one becomes a `skipped` reason. Every server it starts is stopped and every
 * temporary directory removed before it returns.
 */
export async function runDurableBenchmarks(
  options: DurableBenchOptions = {}
): Promise<DurableReport> {
  const started = performance.now();
  const machine = machineInfo(); // the load average before the suite, not after it
  const runs = envRuns('RINGBUS_DURABLE_RUNS', 3, options.runs);
  const log = options.log ?? ((line: string) => console.log(line));
  const idFilter = options.contenders ?? envList('RINGBUS_DURABLE_CONTENDERS');
  checkNames(
    'contender',
    idFilter,
    DURABLE_CONTENDERS.map((c) => c.id)
  );
  const contenders = DURABLE_CONTENDERS.filter(
    (c) => idFilter === undefined || idFilter.includes(c.id)
  );
  const versions = {
    node: process.version,
    'nats-server': missingNatsServer() === undefined ? natsServerVersion() : 'absent',
    nats: packageVersion('nats')
  };
  log(versionLine(versions));
  const publish = await runPublish(contenders, runs, log);
  const recovery = await runRecovery(options.recoverMessages ?? recoverCount(), runs, log);
  return {
    machine,
    versions,
    runs,
    publish,
    recovery,
    seconds: (performance.now() - started) / 1000
  };
}

await runStandalone(import.meta.url, async () => {
  killOwnedOnExitSignals();
  const report = await runDurableBenchmarks();
  return {
    tables: durableTables(report),
    legend: DURABLE_LEGEND,
    targets: durableTargets(report),
    name: 'Durable',
    summary: `${report.runs} runs per contender, median shown; durable suite took ${report.seconds.toFixed(0)} s`
  };
});
