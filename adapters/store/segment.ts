import { ErrorCode, RingbusError } from '../../src/errors.js';

/**
 * A segment file starts with a 16-byte header, then records back to back:
 *
 * ```
 * offset 0   4 bytes  magic 'RBWL' (0x52 0x42 0x57 0x4c)
 * offset 4   u16 LE   format version (SEGMENT_VERSION)
 * offset 6   2 bytes  reserved, written as zero, ignored by version-1 readers
 * offset 8   f64 LE   id floor: the highest message id the store had used when the file was
 *                     created, so ids keep growing after every older segment was compacted away
 * offset 16  …        records (record.ts)
 * ```
 *
 * Segments are numbered from 1 and named by number (`segmentName`); a log replays them in order.
 */
export const SEGMENT_HEADER_BYTES = 16;
/** The segment magic, 'RBWL'. */
export const SEGMENT_MAGIC = new Uint8Array([0x52, 0x42, 0x57, 0x4c]);
/** The only format version this code writes and reads. */
export const SEGMENT_VERSION = 1;

const SEGMENT_SUFFIX = '.rbwl';
const SEGMENT_NAME = /^(\d{10})\.rbwl$/;

/** Byte offset of the id floor in the header. */
export const SEGMENT_ID_FLOOR_OFFSET = 8;

/** Builds the 16-byte header of a new segment. */
export function segmentHeader(idFloor = 0): Uint8Array {
  const header = new Uint8Array(SEGMENT_HEADER_BYTES);
  header.set(SEGMENT_MAGIC, 0);
  const view = new DataView(header.buffer);
  view.setUint16(4, SEGMENT_VERSION, true);
  view.setFloat64(SEGMENT_ID_FLOOR_OFFSET, idFloor, true);
  return header;
}

/** The file name of segment `n`: ten digits, so names sort in log order. */
export function segmentName(n: number): string {
  return String(n).padStart(10, '0') + SEGMENT_SUFFIX;
}

/** The number of a segment file name, or undefined for any other file. */
export function segmentNumber(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/**
 * `ERR_STORE` for a failed store operation; the OS error (its `code`: ENOSPC, EACCES, EBADF, EIO …)
 * is the `cause` and named in the message.
 */
export function storeError(message: string, cause?: unknown): RingbusError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const detail = code !== undefined ? ` (${code})` : '';
  return new RingbusError(ErrorCode.STORE, `${message}${detail}`, { cause });
}
