/**
 * Turns a {@link NetReport} into the {@link Table} model of bench/report.ts, so the console and
 * a Markdown report (`markdownTable`) render the same rows.
 */
import { type Table, type Target, rate, ratio } from '../report.js';
import type { NetReport, NetResult } from './run.js';
import { WORKLOADS, type WorkloadId } from './workloads.js';

/** What the columns mean, for under the tables. */
export const NET_LEGEND: readonly string[] = [
  'deliveries/s: messages the subscribers received ÷ (last delivery − first send), median of the runs.',
  'ringbus ÷ this: ringbus deliveries/s divided by the peer deliveries/s, same workload and run',
  '  (above 1: ringbus is faster).',
  'publisher sends/s: send calls per second while the publisher sent; above deliveries/s when',
  '  buffers absorbed a run that stopped on its message budget (slow brokers).',
  'loss: sent × subscriber connections − received (median run), share of expected in brackets.',
  'p50 / p99: one-way latency, payload send stamp → subscriber callback, median of the runs.',
  'spread: half the max–min range of deliveries/s relative to the median.'
];

function ms(x: number | undefined): string {
  return x === undefined ? '' : `${x.toFixed(3)} ms`;
}

function loss(r: NetResult): string {
  if (r.loss === undefined || r.lossRatio === undefined) return '';
  if (r.loss === 0) return '0';
  return `${rate(r.loss)} (${(r.lossRatio * 100).toFixed(1)} %)`;
}

function spread(r: NetResult): string {
  return r.spread === undefined ? '' : `±${((r.spread / 2) * 100).toFixed(0)}%`;
}

/** The contender the ratio column compares every peer with. */
const REFERENCE = 'ringbus';

/** One table per workload that has rows, peers in registry order. */
export function netTables(report: NetReport): Table[] {
  const tables: Table[] = [];
  for (const w of WORKLOADS) {
    const rows = report.results.filter((r) => r.workload === w.id);
    if (rows.length === 0) continue;
    const skipped = (r: NetResult): string[] | undefined =>
      r.skipped === undefined ? undefined : [r.peer, 'skipped'];
    const reasons = rows
      .filter((r) => r.skipped !== undefined)
      .map((r) => `${r.peer} skipped: ${r.skipped}`);
    if (w.mode.kind === 'paced') {
      tables.push({
        title: w.title,
        note: reasons.join('\n') || undefined,
        head: ['peer', 'p50', 'p99', 'deliveries/s', 'loss'],
        rows: rows.map(
          (r) =>
            skipped(r) ?? [r.peer, ms(r.p50Ms), ms(r.p99Ms), rate(r.deliveriesPerSec ?? 0), loss(r)]
        )
      });
    } else {
      const ref = rows.find((r) => r.peer === REFERENCE && r.skipped === undefined);
      const versus = (r: NetResult): string => {
        if (ref === undefined || !r.deliveriesPerSec) return '';
        if (r === ref) return '1.00× (reference)';
        return ratio(ref.deliveriesPerSec! / r.deliveriesPerSec);
      };
      tables.push({
        title: w.title,
        note: reasons.join('\n') || undefined,
        head: [
          'peer',
          'deliveries/s',
          `${REFERENCE} ÷ this`,
          'MB/s',
          'publisher sends/s',
          'loss',
          'spread'
        ],
        rows: rows.map(
          (r) =>
            skipped(r) ?? [
              r.peer,
              rate(r.deliveriesPerSec ?? 0),
              versus(r),
              (r.mbPerSec ?? 0).toFixed(1),
              rate(r.sentPerSec ?? 0),
              loss(r),
              spread(r)
            ]
        )
      });
    }
  }
  // Skipped rows carry only the word; the reason is in the note.
  for (const t of tables) {
    for (const row of t.rows) while (row.length < t.head.length) row.push('');
  }
  return tables;
}

/** The peers and the versions of their moving parts, one line each. */
export function peerLines(report: Pick<NetReport, 'peers'>): string[] {
  return report.peers.map((p) => {
    const versions = Object.entries(p.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    return p.skipped === undefined ? `${p.name}: ${versions}` : `${p.name}: skipped: ${p.skipped}`;
  });
}

/** The row of `peer` in `workload`, if it ran. */
function measured(report: NetReport, workload: WorkloadId, peer: string): NetResult | undefined {
  const r = report.results.find((x) => x.workload === workload && x.peer === peer);
  return r?.skipped === undefined ? r : undefined;
}

function missing(report: NetReport, cells: [WorkloadId, string][]): string {
  const gone = cells.filter(([w, p]) => measured(report, w, p) === undefined);
  const why = gone.map(([w, p]) => {
    const r = report.results.find((x) => x.workload === w && x.peer === p);
    return `${w} ${p}: ${r?.skipped ?? 'not run'}`;
  });
  return `not measured (${why.join('; ')})`;
}

/**
 * ringbus against the others, from the figures of this run: `measured` names the two rates; a
 * cell that did not run (filtered, skipped, failed) leaves the target unmeasured.
 */
function speedTarget(
  report: NetReport,
  name: string,
  goal: string,
  atLeast: number,
  [w, p]: [WorkloadId, string],
  [bw, bp]: [WorkloadId, string],
  of: string
): Target {
  const a = measured(report, w, p)?.deliveriesPerSec;
  const b = measured(report, bw, bp)?.deliveriesPerSec;
  if (a === undefined || b === undefined || b === 0)
    return {
      name,
      goal,
      measured: missing(report, [
        [w, p],
        [bw, bp]
      ])
    };
  const x = a / b;
  return {
    name,
    goal,
    measured: `${ratio(x)} ${of} (${rate(a)} vs ${rate(b)} deliveries/s)`,
    met: x >= atLeast
  };
}

/** ringbus's p99 latency in a paced workload against a bound. */
function latencyTarget(report: NetReport, name: string, w: WorkloadId, maxMs: number): Target {
  const r = measured(report, w, 'ringbus');
  const goal = `< ${maxMs} ms`;
  if (r?.p99Ms === undefined || r.p50Ms === undefined)
    return { name, goal, measured: missing(report, [[w, 'ringbus']]) };
  return {
    name,
    goal,
    measured: `${r.p99Ms.toFixed(3)} ms (p50 ${r.p50Ms.toFixed(3)} ms)`,
    met: r.p99Ms < maxMs
  };
}

/** The network targets, evaluated on ringbus's rows against the peers' rows of the same run. */
export function netTargets(report: NetReport): Target[] {
  return [
    speedTarget(
      report,
      'QoS 0, 1 → 1, 64 B (W1)',
      '≥ 0.6× raw-net',
      0.6,
      ['W1', 'ringbus'],
      ['W1', 'raw-net'],
      'of raw-net'
    ),
    speedTarget(
      report,
      'QoS 0, 1 → 1, 64 B (W1)',
      '≈ 5× NATS (≥ 4.5×)',
      4.5,
      ['W1', 'ringbus'],
      ['W1', 'nats'],
      'of NATS'
    ),
    speedTarget(
      report,
      'fan-out 1 → 100, 64 B (W3)',
      '≥ 0.6× raw-net',
      0.6,
      ['W3', 'ringbus'],
      ['W3', 'raw-net'],
      'of raw-net'
    ),
    speedTarget(
      report,
      'QoS 1, 1 → 1, 64 B (W5)',
      '≥ 0.4× ringbus QoS 0 (W1)',
      0.4,
      ['W5', 'ringbus'],
      ['W1', 'ringbus'],
      'of ringbus QoS 0'
    ),
    speedTarget(
      report,
      'QoS 1, 1 → 1, 64 B (W5)',
      '≥ 10× MQTT QoS 1',
      10,
      ['W5', 'ringbus'],
      ['W5', 'mqtt'],
      'of MQTT (aedes) QoS 1'
    ),
    latencyTarget(report, 'p99 latency at 10 000 msg/s (W4)', 'W4', 1),
    speedTarget(
      report,
      'WebSocket fan-out 1 → 100, 64 B (W6)',
      '≥ 0.7× ws-batched',
      0.7,
      ['W6', 'ringbus'],
      ['W6', 'ws-batched'],
      'of ws-batched'
    ),
    speedTarget(
      report,
      'WebSocket fan-out 1 → 100, 64 B (W6)',
      '≥ 20× socket.io',
      20,
      ['W6', 'ringbus'],
      ['W6', 'socket.io'],
      'of socket.io'
    ),
    latencyTarget(report, 'p99 latency, 100 WebSocket clients × 60 Hz (W8)', 'W8', 5)
  ];
}
