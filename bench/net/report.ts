/**
 * Turns a {@link NetReport} into the {@link Table} model of bench/report.ts, so the console and
 * a Markdown report (`markdownTable`) render the same rows.
 */
import { type Table, rate } from '../report.js';
import type { NetReport, NetResult } from './run.js';
import { WORKLOADS } from './workloads.js';

/** What the columns mean, for under the tables. */
export const NET_LEGEND: readonly string[] = [
  'deliveries/s: messages the subscribers received ÷ (last delivery − first send), median of the runs.',
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
      tables.push({
        title: w.title,
        note: reasons.join('\n') || undefined,
        head: ['peer', 'deliveries/s', 'MB/s', 'publisher sends/s', 'loss', 'spread'],
        rows: rows.map(
          (r) =>
            skipped(r) ?? [
              r.peer,
              rate(r.deliveriesPerSec ?? 0),
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
