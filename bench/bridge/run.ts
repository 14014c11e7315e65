/**
 * ringbus over its NATS bridge against the plain `nats` client, through one nats-server with
 * JetStream: QoS 0 and QoS 1 over JetStream, each 1 → 1 and fan-out 1 → 10.
 * `runBridgeBenchmarks()` returns structured results for bench/run.ts to report;
 * `node --expose-gc build/bench/bridge/run.js` runs it standalone and prints the tables (the same
 * as `RINGBUS_BENCH_SUITES=bridge npm run bench`).
 *
 * Environment: RINGBUS_BRIDGE_RUNS (runs per client and workload, default 3),
 * RINGBUS_BRIDGE_WORKLOADS (comma-separated ids: qos0, fanout, qos1, qos1-fanout).
 *
 * Method (measure.ts): every run opens fresh connections (and buses) on the suite's one server,
 * on a fresh stream for QoS 1, warms up, publishes for RUN_SECONDS and waits for every delivery.
 * Within each repetition of a workload every client runs, in an order rotated per repetition;
 * medians are reported, and their ratios to the plain client.
 *
 * Cost: about 150 s on the 2-core machine (4 workloads × 3 clients × 3 runs of about 4 s).
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
import { versionLine } from '../durable/report.js';
import { killOwnedOnExitSignals, missingPackage, packageVersion } from '../net/harness.js';
import {
  loopbackArgs,
  missingNatsServer,
  natsServerVersion,
  startNatsServer
} from '../net/nats-server.js';
import { rate, runStandalone } from '../report.js';
import type { BridgeClient, Server } from './contender.js';
import { type RunResult, timeRun } from './measure.js';
import { plain, plainNoTraces } from './plain.js';
import { BRIDGE_LEGEND, bridgeTables, bridgeTargets } from './report.js';
import { ringbus } from './ringbus.js';
import { streamKeeper } from './stream.js';
import { WORKLOADS, type Workload, type WorkloadId } from './workload.js';

/** Every client, in table order; the first is the reference of the ratios and the target. */
export const BRIDGE_CLIENTS: readonly BridgeClient[] = [plain, plainNoTraces, ringbus];

export interface BridgeBenchOptions {
  /**
   * Runs per client and workload; medians are reported.
   * @defaultValue `RINGBUS_BRIDGE_RUNS`, else 3
   */
  runs?: number;
  /**
   * Only these workloads, by id.
   * @defaultValue `RINGBUS_BRIDGE_WORKLOADS`, else all
   */
  workloads?: readonly string[];
  /**
   * Progress lines while running.
   * @defaultValue `console.log`
   */
  log?: (line: string) => void;
}

/** One client on one workload: the medians of its runs, or why there are none. */
export interface BridgeCell {
  workload: WorkloadId;
  client: string;
  name: string;
  runs: RunResult[];
  /** Median deliveries per second. */
  perSec?: number;
  /** Median timed messages per run. */
  messages?: number;
  /** Deliveries lost over all runs. */
  lost?: number;
  /** (max − min) / median of the runs' deliveries/s. */
  spread?: number;
  /** Absent (a missing binary or package) or failed: the reason. */
  skipped?: string;
}

export interface BridgeReport {
  machine: MachineInfo;
  /** Versions of the moving parts: node, nats-server, the nats client. */
  versions: Record<string, string>;
  runs: number;
  workloads: readonly Workload[];
  cells: BridgeCell[];
  seconds: number;
}

function summarize(cell: BridgeCell): BridgeCell {
  if (cell.skipped !== undefined) return cell;
  const rates = cell.runs.map((r) => r.perSec);
  const m = median(rates);
  return {
    ...cell,
    perSec: m,
    messages: median(cell.runs.map((r) => r.messages)),
    lost: cell.runs.reduce((sum, r) => sum + r.lost, 0),
    spread: (Math.max(...rates) - Math.min(...rates)) / m
  };
}

/** Every repetition of `w`: every client, rotating which goes first. */
async function runWorkload(
  server: Server,
  w: Workload,
  runs: number,
  prepare: (w: Workload) => Promise<void>,
  log: (line: string) => void
): Promise<BridgeCell[]> {
  const cells: BridgeCell[] = BRIDGE_CLIENTS.map((c) => ({
    workload: w.id,
    client: c.id,
    name: c.name,
    runs: []
  }));
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < BRIDGE_CLIENTS.length; k++) {
      const i = (k + round) % BRIDGE_CLIENTS.length;
      const cell = cells[i];
      if (cell.skipped !== undefined) continue;
      try {
        await prepare(w);
        const r = await timeRun(BRIDGE_CLIENTS[i], server, w);
        cell.runs.push(r);
        log(
          `  ${w.id} ${cell.client}: ${rate(r.perSec)} deliveries/s ` +
            `(${rate(r.messages)} messages${r.lost === 0 ? '' : `, ${r.lost} lost`})`
        );
      } catch (err) {
        cell.skipped = `failed: ${firstLine(err)}`;
        log(`  ${w.id} ${cell.client}: ${cell.skipped}`);
      }
    }
  }
  return cells.map(summarize);
}

/** Every cell skipped for `why`. */
function skippedCells(workloads: readonly Workload[], why: string): BridgeCell[] {
  return workloads.flatMap((w) =>
    BRIDGE_CLIENTS.map((c) => ({
      workload: w.id,
      client: c.id,
      name: c.name,
      runs: [],
      skipped: why
    }))
  );
}

/** Starts nats-server with JetStream, runs every workload, stops it again. */
async function runAll(
  workloads: readonly Workload[],
  runs: number,
  log: (line: string) => void
): Promise<BridgeCell[]> {
  const absent = missingNatsServer() ?? (await missingPackage('nats'));
  if (absent !== undefined) {
    log(`\n!!! the bridge suite is ABSENT from this run: ${absent}\n`);
    return skippedCells(workloads, `absent: ${absent}`);
  }
  const broker = await startNatsServer((port, dir) => [...loopbackArgs(port), '-js', '-sd', dir]);
  try {
    if ('path' in broker.endpoint) throw new Error('nats-server listens on TCP');
    const server: Server = broker.endpoint;
    const keeper = await streamKeeper(server);
    try {
      const cells: BridgeCell[] = [];
      for (const w of workloads) {
        cells.push(...(await runWorkload(server, w, runs, (x) => keeper.prepare(x), log)));
      }
      return cells;
    } finally {
      await keeper.close();
    }
  } catch (err) {
    log(`  bridge suite: failed: ${firstLine(err)}`);
    return skippedCells(workloads, `failed: ${firstLine(err)}`);
  } finally {
    await broker.stop();
  }
}

/**
 * Runs every workload with every client. Never throws for a client's sake: an absent server or
 * a failing run becomes a `skipped` reason. The server it starts is stopped (and its store
 * removed) before it returns.
 */
export async function runBridgeBenchmarks(options: BridgeBenchOptions = {}): Promise<BridgeReport> {
  const started = performance.now();
  const machine = machineInfo(); // the load average before the suite, not after it
  const runs = envRuns('RINGBUS_BRIDGE_RUNS', 3, options.runs);
  const log = options.log ?? ((line: string) => console.log(line));
  const idFilter = options.workloads ?? envList('RINGBUS_BRIDGE_WORKLOADS');
  checkNames(
    'workload',
    idFilter,
    WORKLOADS.map((w) => w.id)
  );
  const workloads = WORKLOADS.filter((w) => idFilter === undefined || idFilter.includes(w.id));
  const versions = {
    node: process.version,
    'nats-server': missingNatsServer() === undefined ? natsServerVersion() : 'absent',
    nats: packageVersion('nats')
  };
  log(versionLine(versions));
  const cells = await runAll(workloads, runs, log);
  return {
    machine,
    versions,
    runs,
    workloads,
    cells,
    seconds: (performance.now() - started) / 1000
  };
}

await runStandalone(import.meta.url, async () => {
  killOwnedOnExitSignals();
  const report = await runBridgeBenchmarks();
  return {
    tables: bridgeTables(report),
    legend: BRIDGE_LEGEND,
    targets: bridgeTargets(report),
    name: 'Bridge',
    summary: `${report.runs} runs per client and workload, median shown; bridge suite took ${report.seconds.toFixed(0)} s`
  };
});
