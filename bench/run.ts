/**
 * `npm run bench`: every in-process scenario in one process and one run, then the GC profiles and
 * the allocation child, then the worker-thread suite (bench/worker/: ringbus across a worker
 * boundary against postMessage and a hand-written SharedArrayBuffer ring), then the durable suite
 * (bench/durable/: QoS 1 publishing to ringbus's write-ahead log against NATS JetStream, and
 * recovery), then the bridge suite (bench/bridge/: ringbus over its NATS bridge against the plain
 * `nats` client through one nats-server), then the network suite (bench/net/: ringbus and its
 * peers in child processes over loopback); prints the tables and writes docs/benchmarks.md.
 * Never part of `npm test`.
 *
 * Environment: RINGBUS_BENCH_SUITES picks suites, comma-separated from `in-process`, `worker`,
 * `durable`, `bridge` and `net` (default: all five); only a run of all five writes
 * docs/benchmarks.md, a partial one prints its tables. So `RINGBUS_BENCH_SUITES=worker npm run
 * bench` runs the worker suite alone (about 75 s) without the network suite (about ten minutes).
 * The RINGBUS_WORKER_*, RINGBUS_DURABLE_*, RINGBUS_BRIDGE_* and RINGBUS_NET_* variables of
 * bench/worker/run.ts, bench/durable/run.ts, bench/bridge/run.ts and bench/net/run.ts narrow
 * those suites.
 * `--only=a,e` runs just those in-process scenarios (see onlyArg).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AllocReport, measureAllocations } from './alloc.js';
import { type BundleSize, bundleSizes, bundleTable, bundleTarget } from './bundle-size.js';
import { envelopeFloorNs } from './floor.js';
import {
  GC_ASYNC_N,
  GC_N,
  type ScenarioResult,
  contendersOf,
  gcScenarioIds,
  ringbusManual,
  ringbusMicrotask,
  ringbusQos1,
  runScenario,
  scenarios
} from './emitters.bench.js';
import {
  type GcResult,
  type MachineInfo,
  checkNames,
  envList,
  forceGc,
  gcProfile,
  machineInfo
} from './harness.js';
import { type BridgeReport, runBridgeBenchmarks } from './bridge/run.js';
import { bridgeSection, bridgeTables, bridgeTargets } from './bridge/report.js';
import { type DurableReport, runDurableBenchmarks } from './durable/run.js';
import { durableSection, durableTables, durableTargets } from './durable/report.js';
import { killOwnedOnExitSignals } from './net/harness.js';
import { NET_LEGEND, netTables, netTargets, peerLines } from './net/report.js';
import { type NetReport, runNetBenchmarks } from './net/run.js';
import { emittery, eventemitter3 } from './peers.js';
import { WORKER_LEGEND, workerTables, workerTargets } from './worker/report.js';
import { CREDIT_EVERY, WINDOW } from './worker/contenders/post-message.js';
import { QUEUE_SIZE, SEND_QUEUE_SIZE, YIELD_EVERY } from './worker/contenders/ringbus-link.js';
import {
  ROUND_TRIPS,
  ROUND_TRIP_PAYLOAD_BYTES,
  ROUND_TRIP_WARMUP,
  RUN_SECONDS,
  WARMUP_SHARE,
  type WorkerReport,
  runWorkerBenchmarks
} from './worker/run.js';
import { BATCH } from './worker/settings.js';
import {
  type Table,
  type Target,
  allocTable,
  gcTable,
  machineLines,
  markdownList,
  markdownTable,
  ratio,
  scenarioTable,
  targetTable,
  textTable
} from './report.js';

/** Timed runs per (scenario, library); the median is reported. */
const RUNS = 7;
/**
 * Allocation excess that still counts as zero. `heapUsed` reads 1–3 B/msg above what V8's
 * sampling heap profiler attributes to the envelope (page-tail fillers in the young generation),
 * while a second object on every message would add at least 16 B.
 */
const ALLOC_SLACK = 4;
const OUTPUT = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));

function msgsPerSec(all: readonly ScenarioResult[], scenarioId: string, library: string): number {
  const r = all.find((s) => s.scenario.id === scenarioId)?.results.find((x) => x.name === library);
  if (r === undefined) throw new Error(`no result for ${library} in scenario ${scenarioId}`);
  return r.msgsPerSec;
}

function evaluateTargets(all: readonly ScenarioResult[], alloc: AllocReport): Target[] {
  const speed = (
    name: string,
    goal: number,
    id: string,
    lib: string,
    base: string,
    detail = ''
  ): Target => {
    const x = msgsPerSec(all, id, lib) / msgsPerSec(all, id, base);
    return { name, goal: `≥ ${goal}×`, measured: `${ratio(x)}${detail}`, met: x >= goal };
  };
  const bytes = (name: string): number | undefined =>
    alloc.results.find((r) => r.name.startsWith(name))?.bytesPerMsg;
  const one = bytes('ringbus QoS 0, 1 subscriber');
  const ten = bytes('ringbus QoS 0, 10 subscribers');
  const qos1 = bytes('ringbus QoS 1 with ack');
  const { qos0: env0, qos1: env1 } = alloc.envelopeBytes;
  /** a − b, or undefined when either was not measured. */
  const minus = (x: number | undefined, y: number | undefined): number | undefined =>
    x === undefined || y === undefined ? undefined : x - y;
  const allocTarget = (
    name: string,
    goal: string,
    excess: number | undefined,
    unit: string
  ): Target =>
    excess === undefined
      ? { name, goal, measured: 'not measured (a GC ran in the window)', met: false }
      : { name, goal, measured: `${excess.toFixed(1)} B ${unit}`, met: excess <= ALLOC_SLACK };
  // (d) interleaves QoS 1 and QoS 0 runs, which slows QoS 0 down; (a) has the same shape without.
  const qos1VsCleanQos0 =
    msgsPerSec(all, 'd', ringbusQos1.name) / msgsPerSec(all, 'a', ringbusManual.name);
  const manualVsEmittery =
    msgsPerSec(all, 'a', ringbusManual.name) / msgsPerSec(all, 'a', emittery.name);
  return [
    speed(
      'QoS 0, 1 subscriber',
      1.3,
      'a',
      ringbusManual.name,
      eventemitter3.name,
      ' of eventemitter3'
    ),
    speed(
      'QoS 0, 10 subscribers',
      2.5,
      'b',
      ringbusManual.name,
      eventemitter3.name,
      ' of eventemitter3'
    ),
    speed(
      'queued delivery in bursts of 1024',
      100,
      'a',
      ringbusMicrotask.name,
      emittery.name,
      ` of emittery (microtask dispatch; manual+flush: ${ratio(manualVsEmittery)})`
    ),
    speed(
      'QoS 1 with ack',
      0.8,
      'd',
      ringbusQos1.name,
      ringbusManual.name,
      ` of ringbus QoS 0 interleaved in (d); ${ratio(qos1VsCleanQos0)} of QoS 0 as measured in (a)`
    ),
    allocTarget(
      'allocation: ≤ 1 envelope per published message',
      `≤ one envelope (${env0 === undefined ? '?' : env0.toFixed(0)} B) + ${ALLOC_SLACK} B`,
      minus(one, env0),
      `beyond one envelope (QoS 0, 1 subscriber: ${one?.toFixed(1) ?? '?'} B/msg)`
    ),
    allocTarget(
      'allocation: nothing per delivery',
      `≤ ${ALLOC_SLACK} B per extra delivery`,
      one === undefined || ten === undefined ? undefined : (ten - one) / 9,
      'per extra delivery (10 vs 1 subscriber)'
    ),
    allocTarget(
      'allocation: nothing per QoS 1 delivery + ack',
      `≤ one QoS 1 envelope (${env1 === undefined ? '?' : env1.toFixed(0)} B) + ${ALLOC_SLACK} B`,
      minus(qos1, env1),
      `beyond one QoS 1 envelope (QoS 1 with ack: ${qos1?.toFixed(1) ?? '?'} B/msg)`
    )
  ];
}

/** GC profile of every library of the GC scenarios, each on a fresh contender. */
async function gcProfiles(): Promise<GcResult[]> {
  const out: GcResult[] = [];
  for (const s of scenarios.filter((x) => gcScenarioIds.includes(x.id))) {
    const contenders = contendersOf(s);
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[i];
      const r = await gcProfile(c, s.libraries[i].async ? GC_ASYNC_N : GC_N);
      out.push({ ...r, name: `${s.id}: ${c.name}` });
      console.log(`  ${r.name}: ${r.minor} minor, ${r.major} major GCs`);
    }
  }
  return out;
}

/** Why the speed targets fall where they do, from figures of this run. */
function floorSection(results: readonly ScenarioResult[], floorNs: number): string[] {
  const ns = (id: string, lib: string): number => 1e9 / msgsPerSec(results, id, lib);
  const ee1 = ns('a', eventemitter3.name);
  const ee10 = ns('b', eventemitter3.name);
  const rb1 = ns('a', ringbusManual.name);
  const rb10 = ns('b', ringbusManual.name);
  const f = (x: number): string => `${x.toFixed(1)} ns`;
  return [
    '## Where the time goes',
    '',
    `Allocating one envelope (ringbus's six-field \`Message\`), storing it in a ring and reading it`,
    `back costs **${f(floorNs)}** per message here (\`bench/floor.ts\`, this run), while`,
    `eventemitter3's whole emit to one listener costs **${f(ee1)}** and to ten **${f(ee10)}**.`,
    `A ringbus publish plus its delivery costs ${f(rb1)} with one subscriber and ${f(rb10)} with ten.`,
    '',
    'Every publish gets one envelope that subscribers may keep (handing out pooled objects that',
    'change under the user is ruled out), so with one subscriber ringbus cannot beat a synchronous',
    `emitter that allocates nothing: the envelope alone costs ${floorNs >= ee1 ? 'more than' : 'nearly as much as'} the whole emit;`,
    `routing, the log write, the drain and the handler call add ${f(rb1 - floorNs)} on top. The 1.3×`,
    'and 100× targets assume a cheaper allocation than this machine gives. Fan-out amortises the',
    'envelope (subscribers of an exact topic read one shared log with their own cursors, so a',
    'publish writes once), which is why the gap closes from (a) to (b). QoS 1 pays for a bigger',
    'envelope (ack state and in-flight links) on top.',
    ''
  ];
}

/** The network suite: how it measures, the peers' versions, its targets and its tables. */
function netSection(net: NetReport, targets: Table): string[] {
  return [
    '## Network',
    '',
    'ringbus links against other ways to move messages between Node processes: `raw-net` (node:net',
    'with varint framing and one write per tick, the practical ceiling), `ws`, NATS (`nats-server` +',
    'nats.js), Redis pub/sub (`redis-server` + ioredis), MQTT (an aedes broker + MQTT.js) and ZeroMQ',
    'PUB/SUB, over loopback TCP and, in W1, a Unix socket (ws, Redis and ZeroMQ `ipc://` too; a peer',
    'that cannot is listed with the reason); for WebSocket fan-out (W6–W10), `ws-batched` (varint frames batched into one message',
    'per tick, the same bytes to every client: the practical ceiling), `ws` with one message per',
    'payload, socket.io (WebSocket transport only), and NATS and MQTT as browsers speak them:',
    '`nats-ws` (`nats-server` with its WebSocket listener + nats.ws) and `mqtt-ws` (the aedes broker',
    'served over `ws` + MQTT.js over WebSocket). The publisher and every subscriber are',
    'separate child processes on this machine, so in W6–W10 a hundred or a thousand clients share',
    'its two cores with the publisher, which a real deployment does not do (`bench/net/`);',
    'brokers run in their own process. Each (workload, peer) cell starts fresh processes, primes',
    `the subscriptions, warms up, then takes ${net.runs} timed runs of about 1 s (W4, W9: 2 s;`,
    "W8, W10: 3 s); tables show the median run. Flooding publishers send as fast as each peer's own",
    'flow control lets them, and loss is counted, never hidden.',
    '',
    '**ringbus setup.** The publisher is a `Bus` that `listen()`s on `tcp://127.0.0.1:0` (or a Unix',
    "socket) with `overflow: 'block'` and the default `sendQueueSize` (8192); each subscriber",
    'connection is a `Bus` of its own that subscribes locally and `connect()`s, so its subscription',
    'reaches the publisher as interest (QoS 0) or as a QoS 1 private queue (`queueSize` 4096,',
    "`overflow: 'block'`, acked when the handler returns). The publisher calls `bus.publish()`; when",
    'a full link queue (the socket is behind) makes it throw `ERR_QUEUE_FULL`, that message waits in',
    '`publishAsync()` for room. W5 publishes with `{ qos: 1 }` and the run ends when every message',
    'is acked. In W6–W10 the same buses link over `ws://` instead (`adapters/websocket.ts`).',
    '',
    '```',
    `Network suite started: load average (1 min) ${net.machine.load.toFixed(2)}, took ${net.seconds.toFixed(0)} s`,
    ...peerLines(net),
    '```',
    '',
    'A peer whose npm package or server binary is missing is skipped and says so above.',
    '',
    markdownTable(targets, '###'),
    // A note holds one line per skipped peer: a list in Markdown.
    ...netTables(net).map((t) => markdownTable({ ...t, note: t.note?.replace(/^/gm, '- ') })),
    ...markdownList(NET_LEGEND),
    ''
  ];
}

/** The worker-thread suite: what it compares, how, its targets and its tables. */
function workerSection(report: WorkerReport, targets: Table): string[] {
  return [
    '## Worker threads',
    '',
    'Messages from the main thread to one worker thread (`bench/worker/`), every contender in the',
    'same run:',
    '',
    `- **ringbus link**: the parent \`bus.connectWorker(worker)\` with \`sendQueueSize: ${SEND_QUEUE_SIZE}\` and`,
    `  \`overflow: 'block'\`; the worker \`bus.subscribe('bench', handler)\` (\`queueSize: ${QUEUE_SIZE}\`) and`,
    '  `bus.connectParent()`. The parent calls `bus.publish` with a `Uint8Array` payload in a loop,',
    `  yielding to the event loop every ${YIELD_EVERY} messages; a full link queue makes \`publish\` throw`,
    '  `ERR_QUEUE_FULL` and that message waits in `publishAsync`, so none is dropped.',
    '- **ringbus ring**: the shared ring without a bus. The parent `RingWriter` encodes each frame',
    '  (varint length with `encodeVarint`, then the payload) where `reserve` puts it, `commit`s it,',
    `  and \`cork()\` / \`uncork()\` publish ${BATCH} frames at a time; the worker feeds \`RingReader\``,
    "  runs to the links' `RangeFrameDecoder`. The payload is copied in with `TypedArray.set`, or",
    '  **encoded in place**: written field by field with a `DataView`, as an app writes its own struct.',
    `  The **per ${BATCH} frames** row encodes in place too, but reserves room for ${BATCH} frames at once`,
    '  and commits them with one `commit`, as a producer that knows its batch (a tick of entity',
    '  updates) uses the API, and as the packed postMessage row packs its batch.',
    `- **postMessage**: one structured-cloned \`Uint8Array\` per call; arrays of ${BATCH} (each payload`,
    `  with its own buffer, as separate messages have); and ${BATCH} payloads packed into one`,
    `  \`ArrayBuffer\`, transferred. The worker grants credit every ${CREDIT_EVERY} messages and the parent keeps`,
    `  at most ${WINDOW} uncredited, since postMessage has no flow control of its own.`,
    '- **hand-written SAB ring**: the practical limit, `bench/worker/hand-ring.ts` (none of the',
    '  library): Int32 head and tail, a length word per record, one',
    `  \`Atomics.store\` per ${BATCH} records, \`Atomics.wait\` / \`notify\` only when the other side sleeps.`,
    '  Payloads copied with `TypedArray.set` or encoded in place, as for the ringbus ring.',
    '',
    '**Method.** Payloads are float64 fields (64 B or 1 KiB; field 0 the sequence number); every',
    `measurement starts a fresh \`Worker\` and sends a warm-up (${WARMUP_SHARE * 100}% of the timed count) before`,
    'the timed part, which runs from the first timed send to the moment the worker reports that it',
    'has counted every message and that the last one carries the right bytes. Ring readers sleep as',
    'soon as their ring is empty; a full ring makes the writer sleep. Untimed calibration runs size',
    `each cell to about ${RUN_SECONDS} s; then ${report.runs} timed runs per cell, every cell once per round in a`,
    `rotating order. Round trips: one ${ROUND_TRIP_PAYLOAD_BYTES} B payload to the worker and back (the ringbus worker`,
    "republishes it on a topic the parent's bus subscribes to; the ring's worker writes it into a",
    `second ring, which the parent awaits with \`waitForDataAsync\`; postMessage echoes it), ${ROUND_TRIP_WARMUP}`,
    `untimed, then ${ROUND_TRIPS} timed per run.`,
    '',
    '```',
    `Worker suite started: load average (1 min) ${report.machine.load.toFixed(2)}, took ${report.seconds.toFixed(0)} s`,
    '```',
    '',
    markdownTable(targets, '###'),
    ...workerTables(report).map((t) => markdownTable({ ...t, note: t.note?.replace(/^/gm, '- ') })),
    ...markdownList(WORKER_LEGEND),
    ''
  ];
}

/** What the in-process suite measured, for the document. */
interface InProcessReport {
  results: ScenarioResult[];
  targets: Table;
  gc: Table;
  alloc: Table;
  floorNs: number;
}

interface WorkerSuiteReport {
  report: WorkerReport;
  targets: Table;
}

interface DurableSuiteReport {
  report: DurableReport;
  targets: Table;
}

interface BridgeSuiteReport {
  report: BridgeReport;
  targets: Table;
}

interface NetworkSuiteReport {
  net: NetReport;
  targets: Table;
  sizes: BundleSize[];
}

function markdown(
  info: MachineInfo,
  seconds: number,
  { results, targets, gc, alloc, floorNs }: InProcessReport,
  worker: WorkerSuiteReport,
  durable: DurableSuiteReport,
  bridge: BridgeSuiteReport,
  { net, targets: netTargetTable, sizes }: NetworkSuiteReport
): string {
  return [
    '# Benchmarks',
    '',
    '> generated by `npm run bench` — do not edit; rerun it instead.',
    '',
    'ringbus against in-process peers: `node:events` EventEmitter, eventemitter3, mitt, tseep, an RxJS',
    '`Subject` and emittery; then across a worker-thread boundary against `postMessage` and a',
    'hand-written SharedArrayBuffer ring ([Worker threads](#worker-threads)); then durable QoS 1',
    'publishing to its write-ahead log against NATS JetStream ([Durable QoS 1](#durable-qos-1)); then',
    'its NATS bridge against the plain `nats` client ([NATS bridge](#nats-bridge)); then over the',
    'network against raw sockets, ws, NATS, Redis, MQTT, ZeroMQ and socket.io',
    '([Network](#network)). Run it',
    'with `npm run bench` (it compiles, then runs `build/bench/run.js` under `--expose-gc`); it is',
    'never part of `npm test`. The code is in `bench/`.',
    '',
    '**Method.** Payloads are small objects (`{ x, y, seq }`) built before timing and reused, so peers',
    'allocate nothing. ringbus uses `new Bus({ dispatch: "manual" })` and a pre-resolved',
    "`bus.topic('sim.e1.pos')` handle, publishing bursts of 1024 (the default queueSize) and calling",
    '`bus.flush()` after each; the `microtask` rows use the default dispatch and `await` once per burst.',
    'Emittery is awaited per message (its normal use) over fewer messages. Every contender is warmed',
    `up, then each gets ${RUNS} timed runs, interleaved across libraries in a rotating order; a forced GC`,
    'precedes each run. Tables show the median; "spread" is half the max–min range relative to the',
    'median. Every run checks that handlers saw exactly the expected number of deliveries. The',
    'figures are only as quiet as the machine: the load average at start is in the machine block.',
    '',
    '## Machine',
    '',
    '```',
    ...machineLines(info),
    `Bench wall time: ${seconds.toFixed(0)} s`,
    '```',
    '',
    markdownTable(targets, '##'),
    ...floorSection(results, floorNs),
    '## Throughput',
    '',
    'Scenarios ran in the order a, b, c, e, d in one process (see `bench/emitters.bench.ts` for why);',
    '`npm run bench -- --only=e` reruns one scenario in a fresh process.',
    '',
    ...[...results]
      .sort((x, y) => x.scenario.id.localeCompare(y.scenario.id))
      .map((r) => markdownTable(scenarioTable(r))),
    '## Allocation and GC',
    '',
    markdownTable(gc),
    markdownTable(alloc),
    ...workerSection(worker.report, worker.targets),
    ...durableSection(durable.report, durable.targets),
    ...bridgeSection(bridge.report, bridge.targets),
    ...netSection(net, netTargetTable),
    '## Browser build',
    '',
    '`dist/ringbus.browser.js` (what `npm run build` ships, `adapters/browser.ts` bundled) next to',
    'the browser clients of socket.io, MQTT and NATS, each bundled by esbuild the same way from',
    "what an app imports (`bench/bundle-size.ts`). ringbus's figure is a whole bus (queues,",
    'channels, QoS 1, request/reply, stats) plus its WebSocket link; zod, which validates options',
    `and control frames (zod/mini), is ${zodShareText(sizes)} of it. The budget target is in the table above.`,
    '',
    markdownTable(bundleTable(sizes)),
    ''
  ].join('\n');
}

/** zod's share of ringbus's minified browser bundle, as prose. */
function zodShareText(sizes: readonly BundleSize[]): string {
  const share = sizes.find((s) => s.name === 'ringbus')?.zodShare;
  return share === undefined ? 'an unmeasured part' : `about ${(share * 100).toFixed(0)}%`;
}

/**
 * `--only=a,e` runs just those scenarios (in a fresh process, free of the other scenarios' JIT
 * feedback) and prints them; only a full run measures GC and allocation and writes the document.
 */
function onlyArg(): string[] | undefined {
  const arg = process.argv.find((a) => a.startsWith('--only='));
  return arg?.slice('--only='.length).split(',');
}

/** The suites of a full run, in order; RINGBUS_BENCH_SUITES picks some of them. */
const SUITES = ['in-process', 'worker', 'durable', 'bridge', 'net'] as const;
type Suite = (typeof SUITES)[number];

function selectedSuites(): readonly Suite[] {
  const names = envList('RINGBUS_BENCH_SUITES');
  if (names === undefined) return SUITES;
  checkNames('RINGBUS_BENCH_SUITES suite', names, SUITES);
  return SUITES.filter((s) => names.includes(s));
}

/** Every scenario, then the GC profiles, the allocation child, the targets and the floor. */
async function runInProcess(): Promise<InProcessReport> {
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    const r = await runScenario(s, RUNS);
    results.push(r);
    console.log(textTable(scenarioTable(r)));
  }

  console.log(`\nGC profiles (${GC_N / 1e6} M messages, emittery ${GC_ASYNC_N / 1e3} k)…`);
  const gc = gcTable(await gcProfiles());
  console.log(textTable(gc));

  const allocReport = measureAllocations();
  const alloc = allocTable(allocReport);
  console.log(textTable(alloc));

  const targets = targetTable(evaluateTargets(results, allocReport));
  console.log(textTable(targets));

  const floorNs = envelopeFloorNs();
  console.log(`\nenvelope floor (allocate + ring store + read): ${floorNs.toFixed(1)} ns/msg`);
  return { results, targets, gc, alloc, floorNs };
}

async function runWorkerSuite(): Promise<WorkerSuiteReport> {
  console.log(
    '\nWorker suite: ringbus across a worker-thread boundary against postMessage and a\n' +
      'hand-written SharedArrayBuffer ring, a fresh worker per measurement.'
  );
  const report = await runWorkerBenchmarks();
  for (const t of workerTables(report)) console.log(textTable(t));
  const targets = targetTable(workerTargets(report), 'Worker targets');
  console.log(textTable(targets));
  return { report, targets };
}

async function runDurableSuite(): Promise<DurableSuiteReport> {
  console.log(
    "\nDurable suite: QoS 1 publishing to ringbus's write-ahead log under each fsync policy, the\n" +
      'in-memory QoS 1 baseline and NATS JetStream with file storage; then recovery.'
  );
  const report = await runDurableBenchmarks();
  for (const t of durableTables(report)) console.log(textTable(t));
  const targets = targetTable(durableTargets(report), 'Durable targets');
  console.log(textTable(targets));
  return { report, targets };
}

async function runBridgeSuite(): Promise<BridgeSuiteReport> {
  console.log(
    '\nBridge suite: ringbus over its NATS bridge against the plain nats client, through one\n' +
      'nats-server with JetStream: QoS 0 1 → 1, QoS 0 1 → 10, QoS 1 over JetStream 1 → 1.'
  );
  const report = await runBridgeBenchmarks();
  for (const t of bridgeTables(report)) console.log(textTable(t));
  const targets = targetTable(bridgeTargets(report), 'Bridge targets');
  console.log(textTable(targets));
  return { report, targets };
}

async function runNetwork(): Promise<NetworkSuiteReport> {
  console.log(
    '\nNetwork suite: ringbus and its peers in child processes over loopback; a peer whose npm\n' +
      'package or server binary is missing is skipped (and listed as such).'
  );
  const net = await runNetBenchmarks();
  for (const t of netTables(net)) console.log(textTable(t));
  const sizes = await bundleSizes();
  console.log(textTable(bundleTable(sizes)));
  const targets = targetTable([...netTargets(net), bundleTarget(sizes)], 'Network targets');
  console.log(textTable(targets));
  return { net, targets, sizes };
}

async function main(): Promise<void> {
  const started = performance.now();
  killOwnedOnExitSignals();
  forceGc(); // fails fast without --expose-gc
  const info = machineInfo();
  console.log(machineLines(info).join('\n'));

  const only = onlyArg();
  if (only !== undefined) {
    for (const s of scenarios.filter((x) => only.includes(x.id))) {
      console.log(textTable(scenarioTable(await runScenario(s, RUNS))));
    }
    return;
  }

  const suites = selectedSuites();
  const inProcess = suites.includes('in-process') ? await runInProcess() : undefined;
  const worker = suites.includes('worker') ? await runWorkerSuite() : undefined;
  const durable = suites.includes('durable') ? await runDurableSuite() : undefined;
  const bridge = suites.includes('bridge') ? await runBridgeSuite() : undefined;
  const network = suites.includes('net') ? await runNetwork() : undefined;

  const seconds = (performance.now() - started) / 1000;
  if (
    inProcess === undefined ||
    worker === undefined ||
    durable === undefined ||
    bridge === undefined ||
    network === undefined
  ) {
    console.log(
      `\nRINGBUS_BENCH_SUITES=${suites.join(',')}: a partial run, ${OUTPUT} not written (${seconds.toFixed(0)} s)`
    );
    return;
  }
  writeFileSync(OUTPUT, markdown(info, seconds, inProcess, worker, durable, bridge, network));
  console.log(`\nwrote ${OUTPUT} (${seconds.toFixed(0)} s)`);
}

await main();
