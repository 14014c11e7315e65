import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  type MessageRecord,
  RECORD_PREFIX_BYTES,
  type RecordKey,
  RecordType,
  decodeRecordBody,
  readRecordKey
} from './record.js';
import { walkRange } from './scan.js';
import { SEGMENT_HEADER_BYTES, segmentName } from './segment.js';

/** Offsets stay below 2^31 (a segment holds at most 1 GiB plus one record of 256 MiB). */
const OFFSET_SPAN = 2 ** 31;

/** A (segment, offset) pair as one comparable number. */
export function position(segment: number, offset: number): number {
  return segment * OFFSET_SPAN + offset;
}

/** How much is read from a segment file per step (more when one record is larger). */
const READ_BYTES = 1 << 20;

/** A spilled message read back: its record, attempt and segment. */
export interface SpilledEntry {
  readonly record: MessageRecord;
  readonly attempt: number;
  readonly segment: number;
}

/**
 * A durable channel's messages that wait on disk instead of in memory (NSQ's high-water mark). A
 * channel spills once its queue is full, and every later message of it spills too until the
 * backlog is read back; so the spilled messages are exactly the channel's MESSAGE records after
 * the cursor with ids above `lastLoaded`, minus those an earlier run acked. Compaction copies
 * (COPY records) are never spilled: recovery loads them all.
 */
export class SpillState {
  /** Where the next read starts. */
  segment: number;
  offset: number;
  /** Records of the channel with ids up to this one are in memory (or gone). */
  lastLoaded: number;
  /** Spilled messages left, and the id of the last one spilled. */
  count = 0;
  lastSpilled = 0;
  /** Spilled messages per segment: compaction bookkeeping. */
  readonly perSegment = new Map<number, number>();
  /** Ids past `lastLoaded` an earlier run acked, and the NACKs it recorded for them. */
  readonly acked = new Set<number>();
  readonly nacks = new Map<number, number>();

  constructor(segment: number, offset: number, lastLoaded: number) {
    this.segment = segment;
    this.offset = offset;
    this.lastLoaded = lastLoaded;
  }

  /** One more message spilled, its record in `segment`. */
  add(segment: number, id: number): void {
    this.count++;
    this.lastSpilled = id;
    this.perSegment.set(segment, (this.perSegment.get(segment) ?? 0) + 1);
  }

  /** Keeps, of the replay's facts, what concerns spilled ids. */
  keepHistory(acked: ReadonlySet<number>, nacks: ReadonlyMap<number, number>): void {
    for (const id of acked) if (id > this.lastLoaded) this.acked.add(id);
    for (const [id, n] of nacks) if (id > this.lastLoaded) this.nacks.set(id, n);
  }

  /**
   * Reads forward up to `max` spilled messages of `channel`, moving through `segments` (the
   * existing segment numbers, ascending). `written(segment)` is how many bytes of a segment can be
   * read: Infinity for a finished file, fewer for the one being written (the read stops there and
   * continues once more is written). Acked ones an earlier run recorded are skipped.
   */
  read(
    dir: string,
    channel: string,
    max: number,
    written: (segment: number) => number,
    segments: readonly number[]
  ): SpilledEntry[] {
    const out: SpilledEntry[] = [];
    const key: RecordKey = { type: 0, channel: '', id: 0 };
    while (out.length < max && this.count > 0) {
      const limit = written(this.segment);
      const chunk = readChunk(join(dir, segmentName(this.segment)), this.offset, limit);
      if (chunk === undefined || chunk.length === 0) {
        // Deleted, or read to its end: on to the next finished segment, else wait for writes.
        if ((chunk !== undefined && limit !== Infinity) || !this.nextSegment(segments)) break;
        continue;
      }
      const base = this.offset;
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const walk = walkRange(chunk, view, 0, chunk.length, (b, start, stop) => {
        if (out.length >= max || this.count === 0) return false;
        readRecordKey(b, start, stop, key);
        this.offset = base + stop;
        if (key.type !== RecordType.MESSAGE || key.channel !== channel || key.id <= this.lastLoaded)
          return true;
        this.lastLoaded = key.id;
        // Acked by an earlier run: never counted as spilled (recovery skipped it too).
        if (this.acked.delete(key.id)) return true;
        this.taken(this.segment);
        const record = decodeRecordBody(b, start, stop) as MessageRecord;
        const attempt = record.attempt + (this.nacks.get(key.id) ?? 0);
        this.nacks.delete(key.id);
        out.push({ record, attempt, segment: this.segment });
        return true;
      });
      if (this.offset !== base || out.length >= max) continue;
      // No progress: a record not fully written yet (wait), or the end of a finished segment
      // that is damaged or torn (nothing more to read there).
      if ((limit !== Infinity && walk.problem?.kind !== 'corrupt') || !this.nextSegment(segments))
        break;
    }
    return out;
  }

  /** Moves to the next existing segment after the current one. */
  private nextSegment(segments: readonly number[]): boolean {
    const next = segments.find((n) => n > this.segment);
    if (next === undefined) return false;
    this.segment = next;
    this.offset = SEGMENT_HEADER_BYTES;
    return true;
  }

  private taken(segment: number): void {
    this.count--;
    const left = (this.perSegment.get(segment) ?? 1) - 1;
    if (left === 0) this.perSegment.delete(segment);
    else this.perSegment.set(segment, left);
  }
}

/**
 * Bytes of the file at `path` from `offset`, up to READ_BYTES (or the whole first record when it
 * is larger) and never past `limit`; empty at the end, undefined when the file is gone.
 */
function readChunk(path: string, offset: number, limit: number): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const end = Math.min(limit, fstatSync(fd).size);
    if (offset >= end) return new Uint8Array(0);
    const prefix = new Uint8Array(RECORD_PREFIX_BYTES);
    readSync(fd, prefix, 0, prefix.length, offset);
    const first = RECORD_PREFIX_BYTES + new DataView(prefix.buffer).getUint32(0, true);
    const want = Math.min(end - offset, Math.max(READ_BYTES, first));
    const bytes = new Uint8Array(want);
    const got = readSync(fd, bytes, 0, want, offset);
    return bytes.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
