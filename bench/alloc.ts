/**
 * Bytes allocated per message, measured in a child process (see {@link measureAllocations}).
 *
 * With a young generation large enough to hold everything a run allocates, no GC happens during
 * the measured window, so `heapUsed` after minus before is exactly what the run allocated. The
 * child checks that no GC ran; a window with a GC is reported as invalid rather than guessed.
 */
import { spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Message, Qos } from '../src/index.js';
import { Bus } from '../src/index.js';
import { forceGc } from './harness.js';
import { type Library, eventemitter3 } from './peers.js';
import { type PayloadMap, ringbus } from './ringbus.js';
import { type Shape, payloads } from './shape.js';

/**
 * Messages per measured window. `heapUsed` carries about a megabyte of accounting noise (and JIT
 * activity only ever adds to it), so windows are large and the smallest of a few is reported.
 */
export const ALLOC_N = 500_000;
const WINDOWS = 3;
/** A semi-space this large holds a whole window's garbage: no scavenge can hide allocations. */
const CHILD_FLAGS = ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=512'];

export interface AllocResult {
  name: string;
  /** Bytes allocated per published message; undefined when a GC ran in the window. */
  bytesPerMsg: number | undefined;
  gcs: number;
}

export interface AllocReport {
  n: number;
  /** Size of one ringbus envelope, QoS 0 and QoS 1 (`msg.copy()` measured the same way). */
  envelopeBytes: { qos0: number | undefined; qos1: number | undefined };
  results: AllocResult[];
}

const one: Shape = {
  topic: 'sim.e1.pos',
  pattern: 'sim.e1.pos',
  consumers: 1,
  shared: false,
  otherTopics: 0
};
const ten: Shape = { ...one, consumers: 10 };

const cases: readonly { name: string; lib: Library; shape: Shape }[] = [
  { name: 'ringbus QoS 0, 1 subscriber', lib: ringbus({ dispatch: 'manual', qos: 0 }), shape: one },
  {
    name: 'ringbus QoS 0, 10 subscribers',
    lib: ringbus({ dispatch: 'manual', qos: 0 }),
    shape: ten
  },
  {
    name: 'ringbus QoS 1 with ack, 1 subscriber',
    lib: ringbus({ dispatch: 'manual', qos: 1 }),
    shape: one
  },
  { name: 'eventemitter3, 1 subscriber', lib: eventemitter3, shape: one },
  { name: 'eventemitter3, 10 subscribers', lib: eventemitter3, shape: ten }
];

/** Heap bytes `fn` allocates, and the GCs that ran meanwhile (which would make the figure wrong). */
async function allocated(fn: () => void | Promise<void>): Promise<{ bytes: number; gcs: number }> {
  forceGc();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  await fn();
  const bytes = process.memoryUsage().heapUsed - before;
  await new Promise((resolve) => setTimeout(resolve, 20)); // let 'gc' entries arrive
  observer.disconnect();
  return { bytes, gcs };
}

/** Smallest per-message figure over the windows; undefined if any window saw a GC. */
async function perMessage(
  fn: () => void | Promise<void>
): Promise<{ bytesPerMsg: number | undefined; gcs: number }> {
  await fn(); // warm-up: optimised code and its feedback are allocated here, not below
  let best = Infinity;
  let gcs = 0;
  for (let w = 0; w < WINDOWS; w++) {
    const r = await allocated(fn);
    best = Math.min(best, r.bytes / ALLOC_N);
    gcs += r.gcs;
  }
  return { bytesPerMsg: gcs === 0 ? best : undefined, gcs };
}

/** A delivered Message, to measure what one envelope costs. */
function sampleMessage(): Message {
  const bus = new Bus<PayloadMap>({ dispatch: 'manual' });
  let got: Message | undefined;
  bus.subscribe('sample', (m) => {
    got = m;
  });
  bus.publish('sample', payloads[0]);
  bus.flush();
  return got!;
}

/**
 * One envelope of the given QoS. Measured after the cases ran, so the envelope's hidden class
 * (field representations) is the one the publish path really builds.
 */
async function envelopeBytes(qos: Qos): Promise<number | undefined> {
  const msg = sampleMessage();
  // Pre-filled: a holey array this long would store its elements in a dictionary (16 B each).
  const keep: (Message | undefined)[] = new Array<Message | undefined>(ALLOC_N).fill(undefined);
  const copyAll = (): void => {
    for (let i = 0; i < ALLOC_N; i++) keep[i] = msg.copy(1, qos);
  };
  return (await perMessage(copyAll)).bytesPerMsg;
}

/** Child entry: measures every case and prints one JSON line. */
async function child(): Promise<void> {
  const results: AllocResult[] = [];
  for (const c of cases) {
    const contender = c.lib.make(c.shape, ALLOC_N);
    results.push({ name: c.name, ...(await perMessage(() => contender.run(ALLOC_N))) });
  }
  const envelopes = { qos0: await envelopeBytes(0), qos1: await envelopeBytes(1) };
  const report: AllocReport = { n: ALLOC_N, envelopeBytes: envelopes, results };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** Runs this module as a child process with a huge young generation and parses its report. */
export function measureAllocations(): AllocReport {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [...CHILD_FLAGS, self, '--child'], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`allocation child failed (${out.status}): ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as AllocReport;
}

if (process.argv.includes('--child')) await child();
