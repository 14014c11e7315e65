import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod/mini';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { MAX_DURATION_MS } from '../../src/limits.js';
import { parseWith } from '../../src/options.js';
import { type StoreRecord, encodeRecord } from './record.js';

/**
 * A segment file starts with a 16-byte header, then records back to back:
 *
 * ```
 * offset 0   4 bytes  magic 'RBWL' (0x52 0x42 0x57 0x4c)
 * offset 4   u16 LE   format version (SEGMENT_VERSION)
 * offset 6   10 bytes reserved, written as zero, ignored by version-1 readers
 * offset 16  …        records (record.ts)
 * ```
 */
export const SEGMENT_HEADER_BYTES = 16;
/** The segment magic, 'RBWL'. */
export const SEGMENT_MAGIC = new Uint8Array([0x52, 0x42, 0x57, 0x4c]);
/** The only format version this code writes and reads. */
export const SEGMENT_VERSION = 1;

/** When an append counts as durable. */
export type FsyncPolicy = 'always' | 'batch' | 'never';

/** Builds the 16-byte header of a new segment. */
export function segmentHeader(): Uint8Array {
  const header = new Uint8Array(SEGMENT_HEADER_BYTES);
  header.set(SEGMENT_MAGIC, 0);
  new DataView(header.buffer).setUint16(4, SEGMENT_VERSION, true);
  return header;
}

/** The part of `fs.promises.FileHandle` a writer uses; tests inject fakes that count or fail. */
export interface SegmentFile {
  writev(buffers: Uint8Array[]): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a segment file; `flags` as `fs.open`. Defaults to `fs.promises.open`. */
export type OpenSegmentFile = (path: string, flags: string) => Promise<SegmentFile>;

/** Options of {@link SegmentWriter.create}. */
export interface SegmentWriterOptions {
  /**
   * `'always'`: each batch is written and `datasync`ed before its appends resolve; `'batch'`:
   * appends gather for `fsyncIntervalMs`, then one write and one `datasync`; `'never'`: appends
   * resolve once written (the OS flushes when it likes).
   * @defaultValue `'always'`
   */
  fsync?: FsyncPolicy;
  /** How long `'batch'` gathers appends before writing them. @defaultValue 10 */
  fsyncIntervalMs?: number;
  /** Opens the file (and, to sync a new segment's entry, its directory). @defaultValue fs.promises.open */
  openFile?: OpenSegmentFile;
}

/** Default gathering time of the `'batch'` policy. */
const DEFAULT_FSYNC_INTERVAL_MS = 10;

const segmentWriterOptionsSchema = z.strictObject({
  fsync: z.optional(z.enum(['always', 'batch', 'never'], "must be 'always', 'batch' or 'never'")),
  fsyncIntervalMs: z.optional(
    z
      .int('must be an integer')
      .check(
        z.minimum(0, 'must be >= 0'),
        z.maximum(MAX_DURATION_MS, `must be <= ${MAX_DURATION_MS}`)
      )
  ),
  openFile: z.optional(
    z.custom<OpenSegmentFile>((v) => typeof v === 'function', 'must be a function')
  )
});

interface Pending {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: RingbusError) => void;
}

const openFileHandle: OpenSegmentFile = (path, flags) => open(path, flags);

/**
 * Appends records to one segment with group commit: every append made in the same event-loop turn
 * (or, with `'batch'`, within `fsyncIntervalMs`) goes out in ONE `writev` and, unless the policy is
 * `'never'`, ONE `datasync`. Each append's promise resolves only after its batch is written (and
 * synced). While a batch is in flight, new appends gather for the next one.
 *
 * @remarks After a failed write or sync the writer is failed for good: what reached the disk is
 * unknown (a retried fsync may report success for lost pages), so every pending and later append
 * rejects and recovery must rescan the segment.
 */
export class SegmentWriter {
  readonly path: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  private readonly file: SegmentFile;
  private pending: Pending[] = [];
  private queuedBytes = 0;
  private isScheduled = false;
  private isFlushing = false;
  private failure: RingbusError | undefined = undefined;
  private isClosed = false;
  private readonly idle: (() => void)[] = [];
  /** Batches written so far (one writev each). */
  writeCount = 0;
  /** `datasync` calls so far. */
  syncCount = 0;

  private constructor(path: string, file: SegmentFile, fsync: FsyncPolicy, intervalMs: number) {
    this.path = path;
    this.file = file;
    this.fsync = fsync;
    this.fsyncIntervalMs = intervalMs;
  }

  /**
   * Creates a new segment at `path` (it must not exist), writes its header and makes it durable:
   * the file's data and, for `'always'` and `'batch'`, its directory entry.
   *
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` for bad options; `ERR_STORE` if the file
   *   cannot be created or written (the OS code in the message and `cause`)
   */
  static async create(path: string, options?: SegmentWriterOptions): Promise<SegmentWriter> {
    const o = parseWith(segmentWriterOptionsSchema, options, 'segment options');
    const fsync = o.fsync ?? 'always';
    const intervalMs = o.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS;
    const openFile = o.openFile ?? openFileHandle;
    let file: SegmentFile;
    try {
      file = await openFile(path, 'wx');
    } catch (err) {
      throw storeError(`cannot create segment ${path}`, err);
    }
    try {
      await writeAll(file, [segmentHeader()]);
      if (fsync !== 'never') {
        await file.datasync();
        await syncDirectory(openFile, dirname(path));
      }
    } catch (err) {
      await file.close().catch(() => undefined);
      throw storeError(`cannot write the header of segment ${path}`, err);
    }
    return new SegmentWriter(path, file, fsync, intervalMs);
  }

  /** Bytes waiting for the next batch. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /**
   * Encodes `record` and appends it.
   *
   * @returns a promise that resolves once the record is written and, per policy, synced; it
   *   rejects with a RingbusError if the writer failed or is closed
   */
  append(record: StoreRecord): Promise<void> {
    return this.appendEncoded(encodeRecord(record));
  }

  /** Appends an already encoded record (record.ts); `bytes` must not change afterwards. */
  appendEncoded(bytes: Uint8Array): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.isClosed) {
      return Promise.reject(
        new RingbusError(ErrorCode.CLOSED, `segment ${this.path} is closed; no more appends`)
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ bytes, resolve, reject });
      this.queuedBytes += bytes.length;
      this.schedule();
    });
  }

  /**
   * Writes what is pending, waits for the batches in flight, then closes the file. Appends made
   * after this reject with `ERR_CLOSED`.
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.isFlushing || this.pending.length > 0) {
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        if (!this.isFlushing) void this.flush();
      });
    }
    await this.file.close();
  }

  private schedule(): void {
    if (this.isScheduled || this.isFlushing) return;
    this.isScheduled = true;
    const run = (): void => {
      this.isScheduled = false;
      if (!this.isFlushing) void this.flush();
    };
    if (this.fsync === 'batch' && this.fsyncIntervalMs > 0) setTimeout(run, this.fsyncIntervalMs);
    else setImmediate(run);
  }

  /** Writes one batch; never rejects (failures reject the batch's appends instead). */
  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.queuedBytes = 0;
    if (batch.length > 0) {
      this.isFlushing = true;
      try {
        await writeAll(
          this.file,
          batch.map((p) => p.bytes)
        );
        this.writeCount++;
        if (this.fsync !== 'never') {
          await this.file.datasync();
          this.syncCount++;
        }
        for (const p of batch) p.resolve();
      } catch (err) {
        this.fail(err, batch);
      } finally {
        this.isFlushing = false;
      }
    }
    if (this.pending.length > 0) {
      // Appends that came while this batch was in flight: the next batch, without delay if closing.
      if (this.isClosed) {
        void this.flush();
        return;
      }
      this.schedule();
    }
    if (!this.isFlushing && this.pending.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  private fail(err: unknown, batch: Pending[]): void {
    const failure =
      this.failure ??
      storeError(`cannot append to segment ${this.path}; the writer is closed`, err);
    this.failure = failure;
    for (const p of batch) p.reject(failure);
    for (const p of this.pending.splice(0)) p.reject(failure);
    this.queuedBytes = 0;
  }
}

/** Writes every byte of `buffers`, continuing after a short write. */
async function writeAll(file: SegmentFile, buffers: Uint8Array[]): Promise<void> {
  let rest = buffers;
  let left = rest.reduce((n, b) => n + b.length, 0);
  while (left > 0) {
    const { bytesWritten } = await file.writev(rest);
    if (bytesWritten <= 0) throw new Error('writev wrote no bytes');
    left -= bytesWritten;
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

/** Makes a new file's directory entry durable (POSIX; ignored where directories cannot sync). */
async function syncDirectory(openFile: OpenSegmentFile, dir: string): Promise<void> {
  let handle: SegmentFile;
  try {
    handle = await openFile(dir, 'r');
  } catch {
    return; // Windows cannot open a directory; its file system orders the entry itself.
  }
  try {
    await handle.datasync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await handle.close();
  }
}

/**
 * `ERR_STORE` for a failed store operation; the OS error (its `code`: ENOSPC, EACCES, EBADF, EIO …)
 * is the `cause` and named in the message.
 */
function storeError(message: string, cause: unknown): RingbusError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const detail = code !== undefined ? ` (${code})` : '';
  return new RingbusError(ErrorCode.STORE, `${message}${detail}`, { cause });
}
