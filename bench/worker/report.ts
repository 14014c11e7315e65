/**
 * Turns a {@link WorkerReport} into the {@link Table} model of bench/report.ts (one throughput
 * table per payload size, one of round trips), and evaluates the worker targets on it.
 */
import { type Table, type Target, rate, ratio } from '../report.js';
import { BASELINE_ID, contenderById } from './contenders.js';
import type { RoundTripCell, ThroughputCell, WorkerReport } from './run.js';
import { BATCH } from './settings.js';

/** What the columns mean, for under the tables. */
export const WORKER_LEGEND: readonly string[] = [
  'msgs/s: timed messages ÷ (worker reports the last one arrived − first timed send), median of the runs.',
  'MB/s: payload bytes only (10^6 B/s), framing and headers not counted.',
  `× postMessage: msgs/s ÷ the msgs/s of postMessage with 1 message per call, same payload size.`,
  'p50 / p99: one payload there and back (parent → worker → parent), per run; medians of the runs.',
  'spread: half the max–min range of msgs/s relative to the median.'
];

function payloadLabel(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function us(x: number | undefined): string {
  return x === undefined ? '' : `${x.toFixed(1)} µs`;
}

function cellOf(r: WorkerReport, id: string, payloadBytes: number): ThroughputCell | undefined {
  const c = r.throughput.find((x) => x.contender === id && x.payloadBytes === payloadBytes);
  return c?.msgsPerSec === undefined ? undefined : c;
}

export function workerTables(r: WorkerReport): Table[] {
  const tables: Table[] = [];
  const sizes = [...new Set(r.throughput.map((c) => c.payloadBytes))];
  for (const size of sizes) {
    const cells = r.throughput.filter((c) => c.payloadBytes === size);
    const base = cellOf(r, BASELINE_ID, size)?.msgsPerSec;
    const versus = (c: ThroughputCell): string => {
      if (base === undefined || c.msgsPerSec === undefined) return '';
      return c.contender === BASELINE_ID ? '1.00× (reference)' : ratio(c.msgsPerSec / base);
    };
    tables.push({
      title: `Parent → worker, ${payloadLabel(size)} payloads`,
      note:
        cells
          .filter((c) => c.skipped !== undefined)
          .map((c) => `${c.name}: ${c.skipped}`)
          .join('\n') || undefined,
      head: ['contender', 'msgs/s', 'MB/s', '× postMessage', 'msgs × runs', 'spread'],
      rows: cells.map((c) =>
        c.msgsPerSec === undefined
          ? [c.name, 'skipped', '', '', '', '']
          : [
              c.name,
              rate(c.msgsPerSec),
              (c.mbPerSec ?? 0).toFixed(0),
              versus(c),
              `${rate(c.messages)} × ${c.rates.length}`,
              `±${(((c.spread ?? 0) / 2) * 100).toFixed(0)}%`
            ]
      )
    });
  }
  if (r.roundTrips.length > 0) {
    const size = r.roundTrips[0].payloadBytes;
    tables.push({
      title: `Round trip, one ${payloadLabel(size)} message at a time`,
      note:
        r.roundTrips
          .filter((c) => c.skipped !== undefined)
          .map((c) => `${c.name}: ${c.skipped}`)
          .join('\n') || undefined,
      head: ['contender', 'p50', 'p99', 'round trips × runs'],
      rows: r.roundTrips.map((c: RoundTripCell) =>
        c.p50Us === undefined
          ? [c.name, 'skipped', '', '']
          : [c.name, us(c.p50Us), us(c.p99Us), `${rate(c.roundTrips)} × ${c.runs}`]
      )
    });
  }
  return tables;
}

/** Why the 64 B cells of `ids` that have no figure have none. */
function notMeasured(r: WorkerReport, ids: string[]): string {
  const missing = ids.filter((id) => cellOf(r, id, 64) === undefined);
  const why = missing.map((id) => {
    const c = r.throughput.find((x) => x.contender === id && x.payloadBytes === 64);
    return `${contenderById(id).name}: ${c?.skipped ?? 'not run'}`;
  });
  return `not measured (${why.join('; ')})`;
}

/** A contender's 64 B msgs/s against a floor. */
function rateTarget(r: WorkerReport, name: string, id: string, atLeast: number): Target {
  const goal = `≥ ${rate(atLeast)} msgs/s`;
  const c = cellOf(r, id, 64);
  if (c?.msgsPerSec === undefined) return { name, goal, measured: notMeasured(r, [id]) };
  return { name, goal, measured: `${rate(c.msgsPerSec)} msgs/s`, met: c.msgsPerSec >= atLeast };
}

/** A contender's 64 B msgs/s against another's. */
function ratioTarget(
  r: WorkerReport,
  name: string,
  goal: string,
  [id, baseId]: [string, string],
  atLeast: number,
  of: string
): Target {
  const a = cellOf(r, id, 64)?.msgsPerSec;
  const b = cellOf(r, baseId, 64)?.msgsPerSec;
  if (a === undefined || b === undefined)
    return { name, goal, measured: notMeasured(r, [id, baseId]) };
  const x = a / b;
  return {
    name,
    goal,
    measured: `${ratio(x)} ${of} (${rate(a)} vs ${rate(b)} msgs/s)`,
    met: x >= atLeast
  };
}

/** The targets of the worker issue, on the 64 B figures of this run. */
export function workerTargets(r: WorkerReport): Target[] {
  return [
    rateTarget(r, 'ringbus link, 64 B', 'ringbus-link', 10e6),
    ratioTarget(
      r,
      'ringbus link vs per-message postMessage, 64 B',
      '≥ 40×',
      ['ringbus-link', BASELINE_ID],
      40,
      'of postMessage'
    ),
    // A batch of frames per reserve, as the packed postMessage row packs a batch per call.
    rateTarget(
      r,
      `reserve/commit API, ${BATCH} frames encoded in place per reserve, 64 B`,
      'ring-batch',
      25e6
    ),
    ratioTarget(
      r,
      'reserve/commit API vs the packed-buffer postMessage trick, 64 B',
      '> 1× (ahead)',
      ['ring-batch', 'post-message-packed'],
      1,
      `of ${BATCH} packed per postMessage`
    )
  ];
}
