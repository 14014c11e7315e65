/**
 * Network benchmarks: publishers and subscribers of each peer in separate child processes over
 * loopback TCP (and a Unix socket for ringbus and raw-net), orchestrated from here.
 * `runNetBenchmarks()` returns structured results for bench/run.ts to report;
 * `node build/bench/net/run.js` runs it standalone and prints text tables.
 *
 * Environment: RINGBUS_NET_RUNS (timed runs per cell, default 3), RINGBUS_NET_PEERS and
 * RINGBUS_NET_WORKLOADS (comma-separated filters, e.g. `raw-net,nats` and `W1,W4`),
 * RINGBUS_NET_CPU_PROFILE (a directory: every child writes a V8 CPU profile there, see child.ts).
 *
 * Layout (peer.ts has the contract): broker peers (nats-server, redis-server, aedes, also over
 * WebSocket) run the broker in its own process; brokerless peers (ringbus, raw-net, ws,
 * ws-batched, socket.io, zeromq) let the publisher listen and the subscribers connect. Clock: process.hrtime (CLOCK_MONOTONIC, shared across
 * processes on Linux; every child checks it against the parent's at start).
 *
 * Adding a contender: write a `NetPeer` module in peers/ and list it in contenders.ts; the
 * children find peers there by name. ringbus itself is one (peers/ringbus.ts).
 *
 * Cost: every peer starts its broker once; each (workload, peer) cell forks its own publisher
 * and subscriber processes and runs a warm-up plus RUNS runs of about 1 s (W4: 2 s). With
 * RUNS=3 the whole suite takes about ten minutes on the 2-core machine.
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
import { rate, runStandalone } from '../report.js';
import { NET_PEERS } from './contenders.js';
import { killOwnedOnExitSignals } from './harness.js';
import type { Broker } from './peer.js';
import { NET_LEGEND, netTables, netTargets, peerLines } from './report.js';
import { type RunFigures, WORKLOADS, type WorkloadId, appliesTo, runCell } from './workloads.js';

export interface NetBenchOptions {
  /**
   * Timed runs per (workload, peer); the median is reported.
   * @defaultValue `RINGBUS_NET_RUNS`, else 3
   */
  runs?: number;
  /**
   * Only these peers, by name (see contenders.ts).
   * @defaultValue `RINGBUS_NET_PEERS`, else all
   */
  peers?: readonly string[];
  /**
   * Only these workloads.
   * @defaultValue `RINGBUS_NET_WORKLOADS`, else all
   */
  workloads?: readonly WorkloadId[];
  /**
   * Progress lines while running.
   * @defaultValue `console.log`
   */
  log?: (line: string) => void;
}

export interface PeerInfo {
  name: string;
  versions: Record<string, string>;
  /** Why the peer did not run at all. */
  skipped?: string;
}

/** One (workload, peer) cell: medians over the runs, or why there are none. */
export interface NetResult {
  workload: WorkloadId;
  peer: string;
  /** Peer unavailable, broker failed to start, or the cell failed (with the error). */
  skipped?: string;
  runs: RunFigures[];
  deliveriesPerSec?: number;
  /** Payload bytes delivered per second, in 10^6 B/s. */
  mbPerSec?: number;
  sentPerSec?: number;
  /** Median messages lost per run, and that as a share of the expected deliveries. */
  loss?: number;
  lossRatio?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** (max − min) / median of deliveries/s over the runs. */
  spread?: number;
}

export interface NetReport {
  machine: MachineInfo;
  runs: number;
  peers: PeerInfo[];
  results: NetResult[];
  seconds: number;
}

function summarise(
  workload: WorkloadId,
  peer: string,
  payloadBytes: number,
  runs: RunFigures[]
): NetResult {
  const rates = runs.map((r) => r.deliveriesPerSec);
  const deliveriesPerSec = median(rates);
  const pick = (f: (r: RunFigures) => number | undefined): number | undefined => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? undefined : median(xs);
  };
  return {
    workload,
    peer,
    runs,
    deliveriesPerSec,
    mbPerSec: (deliveriesPerSec * payloadBytes) / 1e6,
    sentPerSec: pick((r) => r.sentPerSec),
    loss: pick((r) => r.loss),
    lossRatio: pick((r) => r.loss / r.expected),
    p50Ms: pick((r) => r.p50Ms),
    p99Ms: pick((r) => r.p99Ms),
    spread: deliveriesPerSec > 0 ? (Math.max(...rates) - Math.min(...rates)) / deliveriesPerSec : 0
  };
}

/**
 * Runs every workload for every available peer. Never throws for a peer's sake: a missing
 * package or binary, a broker that does not start, or a failing cell becomes a `skipped` reason.
 * Every process it starts is stopped before it returns.
 */
export async function runNetBenchmarks(options: NetBenchOptions = {}): Promise<NetReport> {
  const started = performance.now();
  const machine = machineInfo(); // the load average before the suite, not after it
  const runs = envRuns('RINGBUS_NET_RUNS', 3, options.runs);
  const log = options.log ?? ((line: string) => console.log(line));
  const peerFilter = options.peers ?? envList('RINGBUS_NET_PEERS');
  const workloadFilter = options.workloads ?? (envList('RINGBUS_NET_WORKLOADS') as WorkloadId[]);
  checkNames(
    'workload',
    workloadFilter,
    WORKLOADS.map((w) => w.id)
  );
  checkNames(
    'peer',
    peerFilter,
    NET_PEERS.map((p) => p.name)
  );
  const workloads = WORKLOADS.filter(
    (w) => workloadFilter === undefined || workloadFilter.includes(w.id)
  );
  const peers = NET_PEERS.filter((p) => peerFilter === undefined || peerFilter.includes(p.name));

  const info: PeerInfo[] = [];
  const results: NetResult[] = [];
  for (const peer of peers) {
    const mine = workloads.filter((w) => appliesTo(w, peer));
    if (peer.noUnix !== undefined) {
      for (const w of workloads.filter((x) => x.transport === 'unix'))
        results.push({ workload: w.id, peer: peer.name, skipped: peer.noUnix, runs: [] });
    }
    const skipAll = (reason: string): void => {
      log(`${peer.name}: skipped: ${reason}`);
      for (const w of mine)
        results.push({ workload: w.id, peer: peer.name, skipped: reason, runs: [] });
    };
    const missing = await peer
      .available()
      .catch((err: unknown) => `availability check failed: ${firstLine(err)}`);
    if (missing !== undefined) {
      info.push({ name: peer.name, versions: {}, skipped: missing });
      skipAll(missing);
      continue;
    }
    const versions = await peer.versions().catch(() => ({}));
    info.push({ name: peer.name, versions });
    log(peerLines({ peers: [info[info.length - 1]] })[0]);
    let broker: Broker | undefined;
    try {
      broker = await peer.startBroker?.();
    } catch (err) {
      skipAll(`broker did not start: ${firstLine(err)}`);
      continue;
    }
    try {
      for (const w of mine) {
        const label = `${w.id} ${peer.name}`;
        try {
          const at = w.transport === 'unix' ? broker?.unixEndpoint : broker?.endpoint;
          const figures = await runCell(peer, w, at, runs, (f) =>
            log(
              `  ${label}: ${rate(f.deliveriesPerSec)} deliveries/s, loss ${f.loss}` +
                (f.p50Ms === undefined ? '' : `, p50 ${f.p50Ms.toFixed(3)} ms`)
            )
          );
          results.push(summarise(w.id, peer.name, w.payloadBytes, figures));
        } catch (err) {
          log(`  ${label}: failed: ${firstLine(err)}`);
          results.push({
            workload: w.id,
            peer: peer.name,
            skipped: `failed: ${firstLine(err)}`,
            runs: []
          });
        }
      }
    } finally {
      await broker
        ?.stop()
        .catch((err: unknown) => log(`${peer.name}: broker stop: ${firstLine(err)}`));
    }
  }
  return {
    machine,
    runs,
    peers: info,
    results,
    seconds: (performance.now() - started) / 1000
  };
}

await runStandalone(import.meta.url, async () => {
  killOwnedOnExitSignals();
  const report = await runNetBenchmarks();
  return {
    preface: ['', 'Peers', ...peerLines(report)],
    tables: netTables(report),
    legend: NET_LEGEND,
    targets: netTargets(report),
    name: 'Network',
    summary: `${report.runs} runs per cell, median shown; net suite took ${report.seconds.toFixed(0)} s`
  };
});
