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

/** What {@link scanSegment} found. */
export interface ScanResult {
  /** The records before the first problem, in file order; a corrupt record is never included. */
  readonly records: StoreRecord[];
  /** The header's id floor (segment.ts); 0 with a bad or torn header. */
  readonly idFloor: number;
  /** File offset just past the last good record (0 with a bad or torn header). */
  readonly validBytes: number;
  readonly problem: ScanProblem | undefined;
}

/** Reads and scans the segment file at `path` (synchronously: recovery runs before serving). */
export function scanSegment(path: string): ScanResult {
  return scanSegmentBytes(readFileSync(path));
}

/**
 * Scans a whole segment held in memory: checks the header, then each record's length and CRC32
 * before decoding it, and stops at the first problem.
 *
 * @remarks Each length is stored with its complement, so a damaged length reads as `corrupt`;
 * `torn-tail` means the file really ends inside a record (or in zeros).
 */
export function scanSegmentBytes(bytes: Uint8Array): ScanResult {
  const records: StoreRecord[] = [];
  if (bytes.length < SEGMENT_HEADER_BYTES || isZero(bytes, 0)) {
    return { records, idFloor: 0, validBytes: 0, problem: { kind: 'torn-tail', offset: 0 } };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) {
      const problem = { kind: 'bad-header', reason: 'no RBWL magic' } as const;
      return { records, idFloor: 0, validBytes: 0, problem };
    }
  }
  const version = view.getUint16(4, true);
  if (version !== SEGMENT_VERSION) {
    const reason = `unsupported segment version ${version}`;
    return { records, idFloor: 0, validBytes: 0, problem: { kind: 'bad-header', reason } };
  }
  const floor = view.getFloat64(SEGMENT_ID_FLOOR_OFFSET, true);
  const idFloor = Number.isSafeInteger(floor) && floor > 0 ? floor : 0;
  let offset = SEGMENT_HEADER_BYTES;
  const stop = (problem: ScanProblem): ScanResult => ({
    records,
    idFloor,
    validBytes: offset,
    problem
  });
  while (offset < bytes.length) {
    if (isZero(bytes, offset)) return stop({ kind: 'torn-tail', offset });
    if (bytes.length - offset < RECORD_PREFIX_BYTES) {
      return stop({ kind: 'torn-tail', offset });
    }
    const length = view.getUint32(offset, true);
    if (!lengthChecks(view, offset)) {
      return stop({ kind: 'corrupt', offset, reason: 'record length and its complement disagree' });
    }
    if (length === 0 || length > MAX_RECORD_BYTES) {
      return stop({ kind: 'corrupt', offset, reason: `impossible record length ${length}` });
    }
    const start = offset + RECORD_PREFIX_BYTES;
    const end = start + length;
    if (end > bytes.length) return stop({ kind: 'torn-tail', offset });
    if (crc32(bytes.subarray(start, end)) !== storedCrc(view, offset)) {
      return stop({ kind: 'corrupt', offset, reason: 'checksum mismatch' });
    }
    try {
      records.push(decodeRecordBody(bytes, start, end));
    } catch (err) {
      if (!(err instanceof RingbusError)) throw err;
      return stop({ kind: 'corrupt', offset, reason: err.message });
    }
    offset = end;
  }
  return { records, idFloor, validBytes: offset, problem: undefined };
}

function isZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
