/**
 * Micro-benchmark of the shared ring (adapters/worker/) across one worker boundary: the main
 * thread writes 64-byte records (one frame each: a 1-byte length prefix and a 63-byte body) and a
 * worker reads them, decoding every frame with the links' RangeFrameDecoder. Both sides sleep
 * with the blocking waits when the ring is full or empty. Not part of `npm run bench` yet.
 *
 *   npx tsc -p test/tsconfig.json && node build/bench/worker-ring.js [records] [runs]
 *
 * Writers compared:
 * - ring only: reserve/commit of 64 bytes with only the length prefix written, and a reader that
 *   releases runs without decoding them: the ring's own ceiling (also with cork per 64);
 * - write(): copies a prebuilt frame (reserve + set + commit), publishing each record;
 * - reserve/commit in place: encodes each frame where it goes (prefix, type byte, sequence
 *   number, then the 58 payload bytes copied with `set`), publishing each record;
 * - the same two with cork/uncork around every 64 records (one index store per 64);
 * - reserve/commit of 64 frames at a time, as one 4 KiB record.
 * Columns: the writer alone in one thread (a same-thread reader empties the ring when it is
 * full: the writer's own cost), then across the worker boundary with a reader that sleeps as
 * soon as the ring is empty, and with one that first polls `available()` a while.
 */
import os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { RangeFrameDecoder } from '../src/frames/frame-decoder.js';
import { RingReader } from '../adapters/worker/ring-reader.js';
import { RingWriter } from '../adapters/worker/ring-writer.js';
import { createSharedRing } from '../adapters/worker/shared-ring.js';

const RECORD_BYTES = 64;
const BODY_BYTES = RECORD_BYTES - 1;
const BATCH = 64;
const RING_BYTES = 1 << 20;
const WAIT_MS = 10_000;
/** Polls of available() the second reader makes before it sleeps (about 5-20 µs here). */
const SPIN_POLLS = 200;

interface ReaderData {
  ring: SharedArrayBuffer;
  records: number;
  decode: boolean;
  /** Polls of available() before sleeping (0: sleep at once). */
  spin: number;
}

interface ReaderReport {
  frames: number;
  bytes: number;
  waits: number;
}

/** The worker: reads until `records` frames have arrived, then reports. */
function readInWorker({ ring, records, decode, spin }: ReaderData): void {
  const reader = new RingReader(ring);
  let frames = 0;
  const decoder = new RangeFrameDecoder(RING_BYTES, () => {
    frames++;
  });
  const total = records * RECORD_BYTES;
  let bytes = 0;
  let waits = 0;
  parentPort!.postMessage('ready');
  while (bytes < total) {
    const n = reader.available();
    if (n === 0) {
      if (spin > 0) {
        let polls = spin;
        while (polls-- > 0 && reader.available() === 0);
        if (polls >= 0) continue;
      }
      waits++;
      if (!reader.waitForData(WAIT_MS)) throw new Error(`reader: no data after ${bytes} bytes`);
      continue;
    }
    if (decode) {
      const at = reader.readOffset;
      const error = decoder.push(reader.data.subarray(at, at + n));
      if (error !== undefined) throw error;
    }
    reader.release(n);
    bytes += n;
  }
  const report: ReaderReport = { frames: decode ? frames : bytes / RECORD_BYTES, bytes, waits };
  parentPort!.postMessage(report);
}

/** Writes `records` records; calls `onFull(bytes)` when the ring has no room for `bytes`. */
type WriteLoop = (writer: RingWriter, records: number, onFull: (bytes: number) => void) => void;

/** The bytes after the 6 header bytes: a message's payload, copied in by every writer. */
const PAYLOAD = Uint8Array.from({ length: RECORD_BYTES - 6 }, (_, i) => i);
const FRAME = new Uint8Array(RECORD_BYTES);
FRAME[0] = BODY_BYTES;
FRAME[1] = 0x20;
FRAME.set(PAYLOAD, 6);

/** Writes one frame in place at `at`: prefix, type byte, sequence number, then the payload. */
function encodeAt(data: Uint8Array, at: number, seq: number): void {
  data[at] = BODY_BYTES;
  data[at + 1] = 0x20;
  data[at + 2] = seq;
  data[at + 3] = seq >>> 8;
  data[at + 4] = seq >>> 16;
  data[at + 5] = seq >>> 24;
  data.set(PAYLOAD, at + 6);
}

function reserve(writer: RingWriter, bytes: number, onFull: (bytes: number) => void): number {
  let at = writer.reserve(bytes);
  while (at < 0) {
    onFull(bytes);
    at = writer.reserve(bytes);
  }
  return at;
}

const writers: Record<string, WriteLoop> = {
  'ring only': (writer, records, onFull) => {
    const data = writer.data;
    for (let i = 0; i < records; i++) {
      data[reserve(writer, RECORD_BYTES, onFull)] = BODY_BYTES;
      writer.commit(RECORD_BYTES);
    }
  },
  'ring only, cork per 64': (writer, records, onFull) => {
    const data = writer.data;
    for (let i = 0; i < records; i += BATCH) {
      writer.cork();
      for (let k = i; k < i + BATCH && k < records; k++) {
        data[reserve(writer, RECORD_BYTES, onFull)] = BODY_BYTES;
        writer.commit(RECORD_BYTES);
      }
      writer.uncork();
    }
  },
  'write()': (writer, records, onFull) => {
    for (let i = 0; i < records; i++) {
      while (!writer.write(FRAME)) onFull(RECORD_BYTES);
    }
  },
  'write(), cork per 64': (writer, records, onFull) => {
    for (let i = 0; i < records; i += BATCH) {
      writer.cork();
      for (let k = i; k < i + BATCH && k < records; k++) {
        while (!writer.write(FRAME)) onFull(RECORD_BYTES);
      }
      writer.uncork();
    }
  },
  'reserve/commit in place': (writer, records, onFull) => {
    const data = writer.data;
    for (let i = 0; i < records; i++) {
      encodeAt(data, reserve(writer, RECORD_BYTES, onFull), i);
      writer.commit(RECORD_BYTES);
    }
  },
  'reserve/commit in place, cork per 64': (writer, records, onFull) => {
    const data = writer.data;
    for (let i = 0; i < records; i += BATCH) {
      writer.cork();
      for (let k = i; k < i + BATCH && k < records; k++) {
        encodeAt(data, reserve(writer, RECORD_BYTES, onFull), k);
        writer.commit(RECORD_BYTES);
      }
      writer.uncork();
    }
  },
  'reserve/commit, 64 frames per record': (writer, records, onFull) => {
    const data = writer.data;
    for (let i = 0; i < records; i += BATCH) {
      const frames = Math.min(BATCH, records - i);
      const at = reserve(writer, frames * RECORD_BYTES, onFull);
      for (let k = 0; k < frames; k++) encodeAt(data, at + k * RECORD_BYTES, i + k);
      writer.commit(frames * RECORD_BYTES);
    }
  }
};

/** Records per second of one run, and how often each side slept. */
interface RunResult {
  recordsPerSec: number;
  writerWaits: number;
  readerWaits: number;
}

/** The writer alone: a reader in the same thread empties the ring whenever it is full. */
function runAlone(write: WriteLoop, records: number): RunResult {
  const ring = createSharedRing({ capacityBytes: RING_BYTES });
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  let waits = 0;
  const drain = (): void => {
    waits++;
    for (let n = reader.available(); n > 0; n = reader.available()) reader.release(n);
  };
  const t0 = performance.now();
  write(writer, records, drain);
  const seconds = (performance.now() - t0) / 1000;
  return { recordsPerSec: records / seconds, writerWaits: waits, readerWaits: 0 };
}

/** The writer here, a reader in a worker. */
async function runAcross(
  write: WriteLoop,
  records: number,
  decode: boolean,
  spin: number
): Promise<RunResult> {
  const ring = createSharedRing({ capacityBytes: RING_BYTES });
  const data: ReaderData = { ring, records, decode, spin };
  const worker = new Worker(new URL(import.meta.url), { workerData: data });
  try {
    let ready: () => void = () => undefined;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const done = new Promise<ReaderReport>((resolve, reject) => {
      worker.on('message', (m: ReaderReport | 'ready') => (m === 'ready' ? ready() : resolve(m)));
      worker.once('error', reject);
    });
    await isReady;
    const writer = new RingWriter(ring);
    let writerWaits = 0;
    const sleep = (bytes: number): void => {
      writerWaits++;
      if (!writer.waitForSpace(bytes, WAIT_MS)) throw new Error('writer: no space');
    };
    const t0 = performance.now();
    write(writer, records, sleep);
    const report = await done;
    const seconds = (performance.now() - t0) / 1000;
    if (report.frames !== records) throw new Error(`${report.frames} frames for ${records}`);
    return { recordsPerSec: records / seconds, writerWaits, readerWaits: report.waits };
  } finally {
    await worker.terminate();
  }
}

/** Median records/s of `runs` runs after a warm-up, the spread, and the mean waits. */
interface Cell {
  recordsPerSec: number;
  spread: number;
  readerWaits: number;
}

async function measure(runs: number, once: () => RunResult | Promise<RunResult>): Promise<Cell> {
  await once();
  const results: RunResult[] = [];
  for (let r = 0; r < runs; r++) results.push(await once());
  const rates = results.map((r) => r.recordsPerSec).sort((a, b) => a - b);
  const median = rates[rates.length >> 1];
  return {
    recordsPerSec: median,
    spread: (rates[rates.length - 1] - rates[0]) / median,
    readerWaits: Math.round(results.reduce((n, r) => n + r.readerWaits, 0) / runs)
  };
}

function rate(cell: Cell): string {
  return `${(cell.recordsPerSec / 1e6).toFixed(1)} M ±${(cell.spread * 50).toFixed(0)}%`;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 10_000_000);
  const runs = Number(process.argv[3] ?? 5);
  const cpus = os.cpus();
  console.log(
    `shared ring: 64 B records (1 frame each), ${RING_BYTES >> 10} KiB ring, ${records} records, median of ${runs} runs (± half the spread)`
  );
  console.log(
    `Node ${process.version}, ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores\n`
  );
  const header = [
    'writer',
    'alone',
    'to a worker, reader sleeps at once',
    'reader sleeps',
    `to a worker, reader polls ${SPIN_POLLS}x first`,
    'reader sleeps'
  ];
  const lines: string[][] = [];
  for (const [name, write] of Object.entries(writers)) {
    const decode = !name.startsWith('ring only');
    const alone = await measure(runs, () => runAlone(write, records));
    const sleeping = await measure(runs, () => runAcross(write, records, decode, 0));
    const polling = await measure(runs, () => runAcross(write, records, decode, SPIN_POLLS));
    lines.push([
      name,
      rate(alone),
      rate(sleeping),
      String(sleeping.readerWaits),
      rate(polling),
      String(polling.readerWaits)
    ]);
    console.log(lines[lines.length - 1].join(' | '));
  }
  console.log('\n| ' + header.join(' | ') + ' |');
  console.log('|' + header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|') + '|');
  for (const l of lines) console.log('| ' + l.join(' | ') + ' |');
}

if (isMainThread) await main();
else readInWorker(workerData as ReaderData);
