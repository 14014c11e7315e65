import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { RingbusError } from '../../src/errors.js';
import {
  MAX_RECORD_BYTES,
  RECORD_PREFIX_BYTES,
  type StoreRecord,
  decodeRecordBody,
  lengthChecks,
  storedCrc
} from './record.js';
import {
  SEGMENT_HEADER_BYTES,
  SEGMENT_ID_FLOOR_OFFSET,
  SEGMENT_MAGIC,
  SEGMENT_VERSION
} from './segment.js';

/** Why a scan stopped before the end of the segment. */
export type ScanProblem =
  /**
   * The last record is incomplete (a crash mid-write): truncate the file to `validBytes`. Also
   * a file shorter than its header (a crash while creating it), and a tail of zero bytes (space a
   * file system allocated but never got the data for).
   */
  | { readonly kind: 'torn-tail'; readonly offset: number }
  /**
   * The record at `offset` fails its checksum, has a damaged or impossible length, or a malformed
   * body.
   */
  | { readonly kind: 'corrupt'; readonly offset: number; readonly reason: string }
  /** The file does not start with the 'RBWL' magic and a known version. */
  | { readonly kind: 'bad-header'; readonly reason: string };

/** What {@link walkRecords} found besides the records. */
export interface WalkResult {
  /** The header's id floor (segment.ts); 0 with a bad or torn header. */
  readonly idFloor: number;
  /** File offset just past the last good record (0 with a bad or torn header). */
  readonly validBytes: number;
  readonly problem: ScanProblem | undefined;
}

/** What {@link scanSegment} found. */
export interface ScanResult extends WalkResult {
  /** The records before the first problem, in file order; a corrupt record is never included. */
  readonly records: StoreRecord[];
}

/**
 * Called per good record with its type + body range `bytes[start, end)` and the offset of the
 * record; a RingbusError it throws marks that record corrupt; returning false stops the walk
 * before that record.
 */
export type RecordVisitor = (
  bytes: Uint8Array,
  start: number,
  end: number,
  offset: number
) => boolean | void;

/** Reads and scans the segment file at `path` (synchronously: recovery runs before serving). */
export function scanSegment(path: string): ScanResult {
  return scanSegmentBytes(readFileSync(path));
}

/** Scans a whole segment held in memory, decoding every record (see {@link walkRecords}). */
export function scanSegmentBytes(bytes: Uint8Array): ScanResult {
  const records: StoreRecord[] = [];
  const result = walkRecords(bytes, (b, start, end) => {
    records.push(decodeRecordBody(b, start, end));
  });
  return { ...result, records };
}

/**
 * Walks a whole segment held in memory: checks the header, then each record's length and CRC32
 * before handing it to `visit`, and stops at the first problem.
 *
 * @remarks Each length is stored with its complement, so a damaged length reads as `corrupt`;
 * `torn-tail` means the file really ends inside a record (or in zeros).
 */
export function walkRecords(bytes: Uint8Array, visit: RecordVisitor): WalkResult {
  if (bytes.length < SEGMENT_HEADER_BYTES || isZero(bytes, 0)) {
    return { idFloor: 0, validBytes: 0, problem: { kind: 'torn-tail', offset: 0 } };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) {
      return {
        idFloor: 0,
        validBytes: 0,
        problem: { kind: 'bad-header', reason: 'no RBWL magic' }
      };
    }
  }
  const version = view.getUint16(4, true);
  if (version !== SEGMENT_VERSION) {
    const reason = `unsupported segment version ${version}`;
    return { idFloor: 0, validBytes: 0, problem: { kind: 'bad-header', reason } };
  }
  const floor = view.getFloat64(SEGMENT_ID_FLOOR_OFFSET, true);
  const idFloor = Number.isSafeInteger(floor) && floor > 0 ? floor : 0;
  const result = walkRange(bytes, view, SEGMENT_HEADER_BYTES, bytes.length, visit);
  return { idFloor, ...result };
}

/**
 * Walks the records of `bytes[from, to)`; a record that runs past `to` ends the walk as a torn
 * tail (the caller decides whether that is a crash or simply data not written yet). `verified`
 * skips the CRCs of a range an earlier walk checked (recovery's second pass).
 */
export function walkRange(
  bytes: Uint8Array,
  view: DataView,
  from: number,
  to: number,
  visit: RecordVisitor,
  verified = false
): { validBytes: number; problem: ScanProblem | undefined } {
  let offset = from;
  const stop = (problem: ScanProblem) => ({ validBytes: offset, problem });
  while (offset < to) {
    if (isZero(bytes, offset, to)) return stop({ kind: 'torn-tail', offset });
    if (to - offset < RECORD_PREFIX_BYTES) return stop({ kind: 'torn-tail', offset });
    const length = view.getUint32(offset, true);
    if (!lengthChecks(view, offset)) {
      return stop({ kind: 'corrupt', offset, reason: 'record length and its complement disagree' });
    }
    if (length === 0 || length > MAX_RECORD_BYTES) {
      return stop({ kind: 'corrupt', offset, reason: `impossible record length ${length}` });
    }
    const start = offset + RECORD_PREFIX_BYTES;
    const end = start + length;
    if (end > to) return stop({ kind: 'torn-tail', offset });
    if (!verified && crc32(bytes.subarray(start, end)) !== storedCrc(view, offset)) {
      return stop({ kind: 'corrupt', offset, reason: 'checksum mismatch' });
    }
    try {
      if (visit(bytes, start, end, offset) === false) break;
    } catch (err) {
      if (!(err instanceof RingbusError)) throw err;
      return stop({ kind: 'corrupt', offset, reason: err.message });
    }
    offset = end;
  }
  return { validBytes: offset, problem: undefined };
}

function isZero(bytes: Uint8Array, from: number, to = bytes.length): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}
