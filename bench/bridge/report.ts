/**
 * Turns a {@link BridgeReport} into the {@link Table} model of bench/report.ts, evaluates the
 * bridge target on it, and writes its section of docs/benchmarks.md.
 */
import { versionLine } from '../durable/report.js';
import { type Table, type Target, markdownList, markdownTable, rate, ratio } from '../report.js';
import { RUN_SECONDS, WARMUP_SECONDS } from './measure.js';
import type { BridgeCell, BridgeReport } from './run.js';
import {
  BATCH,
  FANOUT,
  MAX_FLUSHES,
  PAYLOAD_BYTES,
  PATTERN,
  WINDOW,
  channelOf,
  type Workload
} from './workload.js';

const PLAIN_ID = 'plain';
const RINGBUS_ID = 'ringbus';
/** The bridge may cost at most 15 % of the plain client's throughput. */
const MIN_RATIO = 0.85;

/** What the columns mean, for under the tables. */
export const BRIDGE_LEGEND: readonly string[] = [
  'deliveries/s: messages counted by the subscribers (all of them together; a delivery counts when its subject',
  `  and its ${PAYLOAD_BYTES}-byte payload check out, so both handlers read both) from the first timed publish to the`,
  '  last delivery, ÷ that time; median of the runs.',
  '× plain: deliveries/s ÷ those of nats.js (plain), medians of the same runs.',
  'nats.js, noAsyncTraces: the plain client with the connection option the bridge sets (see the method).',
  'lost: deliveries that never came, summed over the runs (QoS 0 is at most once across NATS).',
  'spread: half the max–min range of deliveries/s relative to the median.'
];

function cellOf(r: BridgeReport, w: Workload, client: string): BridgeCell | undefined {
  return r.cells.find((c) => c.workload === w.id && c.client === client);
}

/** `client` ÷ plain for `w`, or undefined when either was not measured. */
function ratioOf(r: BridgeReport, w: Workload, client = RINGBUS_ID): number | undefined {
  const x = cellOf(r, w, client)?.perSec;
  const pl = cellOf(r, w, PLAIN_ID)?.perSec;
  return x === undefined || pl === undefined ? undefined : x / pl;
}

function row(r: BridgeReport, w: Workload, c: BridgeCell): string[] {
  if (c.perSec === undefined) {
    return [w.title, c.name, c.skipped?.startsWith('absent') ? 'absent' : 'failed', '', '', '', ''];
  }
  const x = ratioOf(r, w, c.client);
  return [
    w.title,
    c.name,
    rate(c.perSec),
    c.client === PLAIN_ID ? '1.00× (reference)' : x === undefined ? '' : ratio(x),
    `${rate(c.messages ?? 0)} × ${c.runs.length}`,
    String(c.lost ?? 0),
    `±${(((c.spread ?? 0) / 2) * 100).toFixed(0)}%`
  ];
}

export function bridgeTables(r: BridgeReport): Table[] {
  const skipped = r.cells
    .filter((c) => c.skipped !== undefined)
    .map((c) => `${r.workloads.find((w) => w.id === c.workload)?.title}, ${c.name}: ${c.skipped}`);
  return [
    {
      title: `ringbus over NATS vs plain nats.js, ${PAYLOAD_BYTES} B payloads, one nats-server`,
      note: skipped.join('\n') || undefined,
      head: ['workload', 'client', 'deliveries/s', '× plain', 'msgs × runs', 'lost', 'spread'],
      rows: r.workloads.flatMap((w) =>
        r.cells.filter((c) => c.workload === w.id).map((c) => row(r, w, c))
      )
    }
  ];
}

/** One target per workload: the bridge keeps at least MIN_RATIO of the plain client's rate. */
export function bridgeTargets(r: BridgeReport): Target[] {
  return r.workloads.map((w) => {
    const name = `NATS bridge overhead, ${w.title}`;
    const goal = `≥ ${MIN_RATIO.toFixed(2)}× of plain nats.js (costs ≤ ${Math.round((1 - MIN_RATIO) * 100)} %)`;
    const x = ratioOf(r, w);
    if (x === undefined) {
      const why = [PLAIN_ID, RINGBUS_ID]
        .map((id) => cellOf(r, w, id))
        .filter((c) => c?.perSec === undefined)
        .map((c) => `${c?.name ?? '?'}: ${c?.skipped ?? 'not run'}`);
      return { name, goal, measured: `not measured (${why.join('; ')})` };
    }
    const rb = cellOf(r, w, RINGBUS_ID)?.perSec ?? 0;
    const pl = cellOf(r, w, PLAIN_ID)?.perSec ?? 0;
    return {
      name,
      goal,
      measured: `${ratio(x)} (${rate(rb)} vs ${rate(pl)} deliveries/s)`,
      met: x >= MIN_RATIO
    };
  });
}

/** The bridge suite's section of docs/benchmarks.md: what it compares, how, targets, tables. */
export function bridgeSection(r: BridgeReport, targets: Table): string[] {
  return [
    '## NATS bridge',
    '',
    "What ringbus's NATS bridge (`bus.connect('nats://…')`, `adapters/nats/`) costs against the plain",
    `npm \`nats\` client doing the same through the same nats-server (\`bench/bridge/\`), ${PAYLOAD_BYTES} B`,
    `\`Uint8Array\` payloads. The target: the bridge costs at most ${Math.round((1 - MIN_RATIO) * 100)} % of the plain client's`,
    `throughput (× plain ≥ ${MIN_RATIO.toFixed(2)}) in every workload.`,
    '',
    `- **QoS 0, 1 → 1**: plain: one connection \`nc.publish\`es, another counts in a subscription callback.`,
    `  ringbus: a bus bridged with \`export: ['${PATTERN}']\` calls \`bus.publish\` (a full export queue,`,
    "  `overflow: 'block'`, makes it throw `ERR_QUEUE_FULL` and that message waits in `publishAsync`); a second",
    `  bus bridged with \`import: ['${PATTERN}']\` (its own NATS connection) counts in a subscriber.`,
    `- **QoS 0, 1 → ${FANOUT}**: the same with ${FANOUT} subscriber connections (plain) or ${FANOUT} importing buses`,
    '  (ringbus); all deliveries are counted.',
    '- **QoS 1 over JetStream, 1 → 1**: a stream on the subjects (file storage, 1 replica), recreated',
    `  empty before each run. plain: \`js.publish\` with ${WINDOW} awaiting their PubAck; a durable pull consumer`,
    '  (`consume()`, `m.ack()` per message) on a second connection, configured as the bridge configures a',
    "  channel's. ringbus: the exporting bus calls `publishAsync(…, { qos: 1 })` with",
    `  ${WINDOW} outstanding and the bridge's \`maxInFlight: ${WINDOW}\` (its own window of JetStream publishes, each`,
    `  acked locally on its PubAck); the importing bus has the channel \`{ channel: '${channelOf(0)}', qos: 1 }\`, fed`,
    '  by the durable consumer of that name; its handler returns, which acks in JetStream.',
    `- **QoS 1 over JetStream, 1 → ${FANOUT}**: the same with ${FANOUT} subscriber connections, each with a durable`,
    `  consumer of its own (plain), or ${FANOUT} importing buses, each with a channel of its own (\`${channelOf(0)}\`,`,
    `  \`${channelOf(1)}\`, …, so each gets every message); all deliveries are counted.`,
    '',
    "The bridge connects with the client's `noAsyncTraces` (each request otherwise captures two stack",
    'traces) and stores QoS 1 exports with core publishes whose PubAcks come back on one subscription, where',
    '`js.publish` makes each a request of its own. The target compares it with the client as an application',
    'uses it by default; the `noAsyncTraces` row shows the plain client with that option too.',
    '',
    `**Method.** QoS 0 publishers send ${BATCH} messages per event-loop turn (then \`setImmediate\`) and start a`,
    `PING round trip (\`nc.flush()\`, ringbus \`link.flush()\`) after each batch, waiting while ${MAX_FLUSHES} are`,
    'unanswered: neither client pushes back on its own. Everything runs in this process against one',
    'local nats-server (JetStream store in a temporary directory); every run opens fresh connections',
    `and buses, publishes ${WARMUP_SECONDS} s untimed and lets the subscribers catch up, then publishes ${RUN_SECONDS} s timed and`,
    `waits for every delivery. ${r.runs} repetitions per workload, each running every client, which goes first`,
    'rotating; medians shown.',
    '',
    '```',
    `Bridge suite started: load average (1 min) ${r.machine.load.toFixed(2)}, took ${r.seconds.toFixed(0)} s`,
    versionLine(r.versions),
    '```',
    '',
    markdownTable(targets, '###'),
    ...bridgeTables(r).map((t) => markdownTable({ ...t, note: t.note?.replace(/^/gm, '- ') })),
    ...markdownList(BRIDGE_LEGEND),
    ''
  ];
}
