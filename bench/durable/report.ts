/**
 * Turns a {@link DurableReport} into the {@link Table} model of bench/report.ts (publishing, then
 * recovery), evaluates the durable targets on it, and writes its section of docs/benchmarks.md.
 */
import { type Table, type Target, markdownList, markdownTable, rate, ratio } from '../report.js';
import { RUN_SECONDS, WARMUP_SECONDS } from './measure.js';
import type { DurableReport, PublishCell } from './run.js';
import { MAX_IN_FLIGHT, PAYLOAD_BYTES, WINDOW } from './workload.js';

const JETSTREAM_ID = 'jetstream';
const MEMORY_ID = 'memory';
const BATCH_ID = 'wal-batch';
/** The throughput target of ringbus with fsync 'batch'. */
const BATCH_MIN_MSGS_PER_SEC = 100_000;

/** What the columns mean, for under the tables. */
export const DURABLE_LEGEND: readonly string[] = [
  'msgs/s: publishes resolved in the timed part ÷ its duration (first timed call to last resolution), median of the runs.',
  '× JetStream, × in-memory: msgs/s ÷ the msgs/s of NATS JetStream with file storage, of ringbus without a store, in this run.',
  "p50 / p99: from the publish call to its promise resolving (ringbus `publishAsync`, JetStream's PubAck), over",
  `  the timed publishes of a run, medians of the runs; with ${WINDOW} in flight it includes waiting behind earlier ones.`,
  'spread: half the max–min range of msgs/s relative to the median.',
  'recovery: `new Bus({ store: { dir } })` timed by wall clock, and the time and count the store reports',
  '  (`stats().store.recovery`); recovered/s divides the messages by the wall time.'
];

function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 2 : 1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function cellOf(r: DurableReport, id: string): PublishCell | undefined {
  const c = r.publish.find((x) => x.contender === id);
  return c?.msgsPerSec === undefined ? undefined : c;
}

/** The skip reasons of `cells`, one line each, or undefined when none was skipped. */
function skipNote(cells: readonly { name: string; skipped?: string }[]): string | undefined {
  const lines = cells.filter((c) => c.skipped !== undefined).map((c) => `${c.name}: ${c.skipped}`);
  return lines.join('\n') || undefined;
}

export function durableTables(r: DurableReport): Table[] {
  const versus = (c: PublishCell, baseId: string): string => {
    const base = cellOf(r, baseId)?.msgsPerSec;
    if (base === undefined || c.msgsPerSec === undefined) return '';
    return c.contender === baseId ? '1.00× (reference)' : ratio(c.msgsPerSec / base);
  };
  const tables: Table[] = [
    {
      title: `Durable QoS 1 publish, ${PAYLOAD_BYTES} B payloads, ${WINDOW} in flight`,
      note: skipNote(r.publish),
      head: [
        'contender',
        'msgs/s',
        '× JetStream',
        '× in-memory',
        'p50',
        'p99',
        'msgs × runs',
        'spread'
      ],
      rows: r.publish.map((c) =>
        c.msgsPerSec === undefined
          ? [c.name, c.skipped?.startsWith('absent') ? 'absent' : 'failed', '', '', '', '', '', '']
          : [
              c.name,
              rate(c.msgsPerSec),
              versus(c, JETSTREAM_ID),
              versus(c, MEMORY_ID),
              duration(c.p50Ms),
              duration(c.p99Ms),
              `${rate(c.messages ?? 0)} × ${c.runs.length}`,
              `±${(((c.spread ?? 0) / 2) * 100).toFixed(0)}%`
            ]
      )
    }
  ];
  const rec = r.recovery;
  tables.push({
    title: `Recovery of ${rate(rec.messages)} unacked ${PAYLOAD_BYTES} B messages`,
    note: skipNote([{ name: 'recovery', skipped: rec.skipped }]),
    head: ['store', 'recovered', 'new Bus() wall time', 'store recovery.ms', 'recovered/s', 'runs'],
    rows: [
      rec.wallMs === undefined
        ? ['ringbus WAL', 'failed', '', '', '', '']
        : [
            'ringbus WAL',
            rec.recovered === undefined ? 'not reported' : rate(rec.recovered),
            duration(rec.wallMs),
            rec.storeMs === undefined ? 'not reported' : duration(rec.storeMs),
            rate((rec.messages * 1000) / rec.wallMs),
            String(rec.runs.length)
          ]
    ]
  });
  return tables;
}

/** Why `ids` have no figure. */
function notMeasured(r: DurableReport, ids: readonly string[]): string {
  const why = ids
    .filter((id) => cellOf(r, id) === undefined)
    .map((id) => {
      const c = r.publish.find((x) => x.contender === id);
      return `${c?.name ?? id}: ${c?.skipped ?? 'not run'}`;
    });
  return `not measured (${why.join('; ')})`;
}

/** ringbus with fsync 'batch' against a floor. */
function batchTarget(r: DurableReport): Target {
  const name = `ringbus WAL with batch fsync, ${PAYLOAD_BYTES} B`;
  const goal = `≥ ${rate(BATCH_MIN_MSGS_PER_SEC)} durable msgs/s`;
  const batch = cellOf(r, BATCH_ID)?.msgsPerSec;
  if (batch === undefined) return { name, goal, measured: notMeasured(r, [BATCH_ID]) };
  return {
    name,
    goal,
    measured: `${rate(batch)} msgs/s`,
    met: batch >= BATCH_MIN_MSGS_PER_SEC
  };
}

/** ringbus with fsync 'batch' against JetStream. */
function versusJetStreamTarget(r: DurableReport): Target {
  const name = `ringbus batch fsync vs NATS JetStream (file storage), ${PAYLOAD_BYTES} B`;
  const goal = '≥ 1.00× (on par)';
  const batch = cellOf(r, BATCH_ID)?.msgsPerSec;
  const js = cellOf(r, JETSTREAM_ID)?.msgsPerSec;
  if (batch === undefined || js === undefined) {
    return { name, goal, measured: notMeasured(r, [BATCH_ID, JETSTREAM_ID]) };
  }
  return {
    name,
    goal,
    measured: `${ratio(batch / js)} of JetStream (${rate(batch)} vs ${rate(js)} msgs/s)`,
    met: batch >= js
  };
}

/** The durable targets, on the figures of this run. */
export function durableTargets(r: DurableReport): Target[] {
  return [batchTarget(r), versusJetStreamTarget(r)];
}

/** The versions of a report on one line, e.g. `node v20.20.2, nats-server v2.9.10, nats 2.29.3`. */
export function versionLine(versions: Readonly<Record<string, string>>): string {
  return Object.entries(versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** The durable suite's section of docs/benchmarks.md: what it compares, how, targets, tables. */
export function durableSection(r: DurableReport, targets: Table): string[] {
  return [
    '## Durable QoS 1',
    '',
    `QoS 1 publishing that survives a restart (\`bench/durable/\`), ${PAYLOAD_BYTES} B payloads, every contender`,
    'in the same run and on the same disk:',
    '',
    '- **ringbus WAL**: `new Bus({ store: { dir, fsync } })` and a consumer on the named QoS 1 channel',
    `  (\`{ channel: 'work', qos: 1, maxInFlight: ${MAX_IN_FLIGHT} }\`) that acks by returning, so ack records are`,
    '  written too. `publishAsync(…, { qos: 1 })` resolves once the record is durable under the policy:',
    "  `'always'` writes and `datasync`s each group of records before resolving them, `'batch'` resolves",
    "  them once written and syncs in the background within the store's default interval (10 ms), `'never'`",
    '  resolves once they are written (the OS flushes when it likes).',
    '- **ringbus in-memory QoS 1**: the same bus, channel and consumer without a store.',
    '- **NATS JetStream, file storage**: `nats-server -js -sd <dir>` on loopback, a stream on the subject',
    '  with file storage and work-queue retention (acked messages are removed, as a channel forgets',
    '  them); the npm `nats` client publishes with `js.publish` on one connection, and a durable pull',
    '  consumer (`consume()`, explicit ack of every message) reads on a second one, in this process.',
    '  nats-server 2.9 sends the PubAck once the message is written to its file and fsyncs every two',
    "  minutes (it has no option to sync sooner): its guarantee lies between ringbus's `'never'` and",
    "  `'batch'` (which syncs within 10 ms). The same with **memory storage** shows what is left of its",
    '  figure without the disk.',
    '',
    `**Method.** Publishers keep ${WINDOW} publishes in flight (a new call waits while ${WINDOW} are unresolved),`,
    'so group commit can batch. Every run starts the system fresh on an empty store in a new temporary',
    `directory, publishes ${WARMUP_SECONDS} s untimed and then ${RUN_SECONDS} s timed, waits until the consumer has received`,
    `every message, and deletes its files; ${r.runs} runs per contender, each round in a rotated order.`,
    'Recovery: a bus with a store publishes the messages into a durable channel nobody reads (a pull',
    'subscription never pulled), closes, and `new Bus({ store: { dir } })` on the same directory is',
    `timed; ${r.runs} runs.`,
    '',
    '```',
    `Durable suite started: load average (1 min) ${r.machine.load.toFixed(2)}, took ${r.seconds.toFixed(0)} s`,
    versionLine(r.versions),
    '```',
    '',
    markdownTable(targets, '###'),
    ...durableTables(r).map((t) => markdownTable({ ...t, note: t.note?.replace(/^/gm, '- ') })),
    ...markdownList(DURABLE_LEGEND),
    ''
  ];
}
