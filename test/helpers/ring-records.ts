import { FrameDecoder } from '../../src/frames/frame-decoder.js';
import { encodeVarint, varintLength } from '../../src/frames/varint.js';
import type { RingReader } from '../../adapters/worker/ring-reader.js';
import type { RingWriter } from '../../adapters/worker/ring-writer.js';
import { prng } from './prng.js';

/**
 * Seeded record plans for the shared-ring tests: both threads build the same plan from the same
 * seed, the writer writes it and the reader checks every frame against it, so nothing but the
 * ring's bytes crosses between them. Imports nothing from Node, so a worker loads it cheaply.
 */

/** First and last byte of every frame body: an off-by-one at a record's edge breaks them. */
export const CANARY_HEAD = 0xc5;
export const CANARY_TAIL = 0x3a;
/** Written into reserved bytes past a record's end: they must never reach the reader. */
export const SLACK_BYTE = 0xee;

/** Which boundary a record was chosen to hit. */
export type RecordKind =
  'small' | 'any' | 'reach-end' | 'one-short' | 'needs-padding' | 'fill' | 'oversize';

/** One record of a plan. */
export interface RecordSpec {
  readonly seq: number;
  readonly kind: RecordKind;
  /** Bytes the record takes, length prefixes included; capacity + 1 for `oversize`. */
  readonly length: number;
  /** What the writer reserves: `length`, or more when `inPlace` (the rest is slack). */
  readonly reserveBytes: number;
  /** Encoded in place with reserve/commit, or copied in with write(). */
  readonly inPlace: boolean;
  /** Offset the record must land at (padding modelled independently of the ring). */
  readonly offset: number;
  /** Body lengths of its frames, in order. */
  readonly bodies: readonly number[];
  /** The writer corks before this record, or uncorks after it. */
  readonly corkBefore: boolean;
  readonly uncorkAfter: boolean;
}

/** The body length whose frame takes exactly `frameBytes`, or -1 (129 bytes has none). */
function bodyFor(frameBytes: number): number {
  for (let prefix = 1; prefix <= 5; prefix++) {
    const body = frameBytes - prefix;
    if (body >= 0 && varintLength(body) === prefix) return body;
  }
  return -1;
}

/** Cuts `length` bytes into frames: one frame, or several of random sizes. */
function splitIntoFrames(length: number, rng: () => number): number[] {
  const bodies: number[] = [];
  let rest = length;
  while (rest > 0) {
    let frame = rng() < 0.5 ? rest : 1 + Math.floor(rng() * rest);
    while (bodyFor(frame) < 0) frame--;
    bodies.push(bodyFor(frame));
    rest -= frame;
  }
  return bodies;
}

/**
 * `count` records for a ring of `capacity` bytes whose write index starts at offset `startOffset`.
 * Besides random sizes, it aims at the boundaries, using its own model of where records land: a
 * record that ends exactly at the end of the data, one that leaves one byte, one that needs
 * padding, one that fills the whole ring, and one a byte over capacity (which must be refused).
 */
export function planRecords(
  seed: number,
  capacity: number,
  count: number,
  startOffset = 0
): RecordSpec[] {
  const rng = prng(seed);
  const int = (min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
  const plan: RecordSpec[] = [];
  let pos = startOffset;
  let batchLeft = 0;
  for (let seq = 0; seq < count; seq++) {
    const toEnd = capacity - pos;
    const r = rng();
    let kind: RecordKind;
    let length: number;
    if (r < 0.4) [kind, length] = ['small', int(1, Math.min(capacity, 40))];
    else if (r < 0.55) [kind, length] = ['any', int(1, capacity)];
    else if (r < 0.67) [kind, length] = ['reach-end', toEnd];
    else if (r < 0.74 && toEnd > 1) [kind, length] = ['one-short', toEnd - 1];
    else if (r < 0.86 && toEnd < capacity)
      [kind, length] = ['needs-padding', int(toEnd + 1, Math.min(capacity, toEnd + 9))];
    else if (r < 0.9) [kind, length] = ['fill', capacity];
    else if (r < 0.93) [kind, length] = ['oversize', capacity + 1];
    else [kind, length] = ['small', int(1, Math.min(capacity, 12))];

    const inPlace = rng() < 0.5;
    // Slack only on random sizes: on the boundary kinds it would move the boundary.
    const reserveBytes =
      inPlace && (kind === 'small' || kind === 'any')
        ? Math.min(capacity, length + int(0, 16))
        : length;
    const corkBefore = batchLeft === 0 && rng() < 0.1;
    if (corkBefore) batchLeft = int(1, 20);
    const uncorkAfter = batchLeft === 1;
    if (batchLeft > 0) batchLeft--;

    if (kind === 'oversize') {
      plan.push({
        seq,
        kind,
        length,
        reserveBytes: length,
        inPlace,
        offset: -1,
        bodies: [],
        corkBefore,
        uncorkAfter
      });
      continue;
    }
    // Where the ring must put it: here, or at offset 0 after padding the rest of the lap.
    const offset = reserveBytes > capacity - pos ? 0 : pos;
    pos = (offset + length) % capacity;
    plan.push({
      seq,
      kind,
      length,
      reserveBytes,
      inPlace,
      offset,
      bodies: splitIntoFrames(length, rng),
      corkBefore,
      uncorkAfter
    });
  }
  return plan;
}

/** Byte `i` of the body of frame `frame` of record `seq`, `length` bytes long. */
function bodyByte(seq: number, frame: number, i: number, length: number): number {
  if (i === 0) return CANARY_HEAD;
  if (i === length - 1) return CANARY_TAIL;
  return (seq * 131 + frame * 17 + i * 7 + 0x5b) & 0xff;
}

/** Writes the frames of `spec` into `into` at `at`; returns the bytes written. */
export function encodeRecord(spec: RecordSpec, into: Uint8Array, at: number): number {
  let p = at;
  spec.bodies.forEach((length, frame) => {
    p += encodeVarint(length, into, p);
    for (let i = 0; i < length; i++) into[p + i] = bodyByte(spec.seq, frame, i, length);
    p += length;
  });
  return p - at;
}

/** Checks decoded frame bodies, in order, against a plan. */
export class RecordVerifier {
  /** Records completely received. */
  received = 0;
  private readonly records: readonly RecordSpec[];
  private index = 0;
  private frame = 0;

  constructor(plan: readonly RecordSpec[]) {
    this.records = plan.filter((spec) => spec.kind !== 'oversize');
  }

  get done(): boolean {
    return this.index === this.records.length;
  }

  /** The next record expected, for messages. */
  get nextSeq(): number {
    return this.done ? -1 : this.records[this.index].seq;
  }

  /** Checks one body; throws on the first difference. */
  check(body: Uint8Array): void {
    const spec = this.records[this.index];
    if (spec === undefined)
      throw new Error(`a frame of ${body.length} bytes after the last record`);
    const where = `record ${spec.seq} (${spec.kind}, ${spec.length} B) frame ${this.frame}`;
    const length = spec.bodies[this.frame];
    if (body.length !== length)
      throw new Error(`${where}: ${body.length} body bytes, expected ${length}`);
    for (let i = 0; i < length; i++) {
      const expected = bodyByte(spec.seq, this.frame, i, length);
      if (body[i] !== expected) {
        throw new Error(
          `${where}: body byte ${i} is 0x${body[i].toString(16)}, expected 0x${expected.toString(16)}`
        );
      }
    }
    this.frame++;
    if (this.frame === spec.bodies.length) {
      this.frame = 0;
      this.index++;
      this.received++;
    }
  }
}

/** What one side did, for the test's assertions and messages. */
export interface RingRunReport {
  records: number;
  bytes: number;
  /** Times the side found the ring full (writer) or empty (reader) and waited. */
  waits: number;
}

/** Waits for room (writer) or data (reader); resolves false on timeout. */
export type RingWait = () => boolean | Promise<boolean>;

function assertRefused(what: string, action: () => unknown): void {
  try {
    action();
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_FRAME_TOO_LARGE') return;
    throw err;
  }
  throw new Error(`${what} of capacity + 1 bytes was accepted`);
}

/**
 * Writes `plan` into the ring, waiting with `waitForSpace` whenever it is full, and checks that
 * each in-place record lands where the plan says and that oversize records are refused.
 */
export async function writePlan(
  writer: RingWriter,
  plan: readonly RecordSpec[],
  waitForSpace: (bytes: number) => boolean | Promise<boolean>
): Promise<RingRunReport> {
  const report: RingRunReport = { records: 0, bytes: 0, waits: 0 };
  const scratch = new Uint8Array(writer.capacity);
  const tooLarge = new Uint8Array(writer.capacity + 1);
  for (const spec of plan) {
    if (spec.corkBefore) writer.cork();
    if (spec.kind === 'oversize') {
      assertRefused('write()', () => writer.write(tooLarge));
      assertRefused('reserve()', () => writer.reserve(spec.length));
    } else if (spec.inPlace) {
      let at = writer.reserve(spec.reserveBytes);
      while (at < 0) {
        report.waits++;
        if (!(await waitForSpace(spec.reserveBytes))) throw timeout('room for', spec);
        at = writer.reserve(spec.reserveBytes);
      }
      if (at !== spec.offset) {
        throw new Error(
          `record ${spec.seq} (${spec.kind}) reserved at ${at}, expected ${spec.offset}`
        );
      }
      encodeRecord(spec, writer.data, at);
      writer.data.fill(SLACK_BYTE, at + spec.length, at + spec.reserveBytes);
      writer.commit(spec.length);
    } else {
      const bytes = scratch.subarray(0, encodeRecord(spec, scratch, 0));
      while (!writer.write(bytes)) {
        report.waits++;
        if (!(await waitForSpace(spec.length))) throw timeout('room for', spec);
      }
    }
    if (spec.kind !== 'oversize') {
      report.records++;
      report.bytes += spec.length;
    }
    if (spec.uncorkAfter) writer.uncork();
  }
  writer.uncork();
  return report;
}

/**
 * Reads until every record of `plan` has arrived, feeding runs to a FrameDecoder in random
 * pieces (so partial releases happen) and checking each frame.
 */
export async function readPlan(
  reader: RingReader,
  plan: readonly RecordSpec[],
  seed: number,
  waitForData: RingWait
): Promise<RingRunReport> {
  const report: RingRunReport = { records: 0, bytes: 0, waits: 0 };
  const rng = prng(seed);
  const verifier = new RecordVerifier(plan);
  const decoder = new FrameDecoder(reader.capacity, (body) => verifier.check(body));
  while (!verifier.done) {
    const n = reader.available();
    if (n === 0) {
      report.waits++;
      if (!(await waitForData())) {
        throw new Error(`no data within the timeout; waiting for record ${verifier.nextSeq}`);
      }
      continue;
    }
    const take = rng() < 0.5 ? n : 1 + Math.floor(rng() * n);
    const at = reader.readOffset;
    const error = decoder.push(reader.data.subarray(at, at + take));
    if (error !== undefined) throw error;
    reader.release(take);
    report.bytes += take;
  }
  if (reader.available() !== 0) throw new Error('bytes left in the ring after the last record');
  report.records = verifier.received;
  return report;
}

function timeout(what: string, spec: RecordSpec): Error {
  return new Error(
    `no ${what} record ${spec.seq} (${spec.kind}, ${spec.reserveBytes} B) within the timeout`
  );
}
