import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import type { FsyncPolicy } from '../../src/store.js';
import { SEGMENT_HEADER_BYTES, segmentHeader, segmentName, storeError } from './segment.js';

/** The part of `fs.promises.FileHandle` a writer uses; tests inject fakes that count or fail. */
export interface SegmentFile {
  writev(buffers: Uint8Array[]): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a file; `flags` as `fs.open`. Defaults to `fs.promises.open`. */
export type OpenSegmentFile = (path: string, flags: string) => Promise<SegmentFile>;

/** Settings of a {@link LogWriter}; the store validates them (store-options.ts). */
export interface LogWriterSettings {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  /** A segment takes no more appends once it holds this many bytes. */
  readonly segmentBytes: number;
  readonly openFile: OpenSegmentFile;
  /** The id floor written in each new segment's header (segment.ts). */
  readonly idFloor: () => number;
}

/** Appends of one segment that go out together: one `writev`, then one `datasync`. */
class Batch {
  readonly segment: number;
  readonly buffers: Uint8Array[] = [];
  private settled: Promise<void> | undefined = undefined;
  private resolveFn: (() => void) | undefined = undefined;
  private rejectFn: ((err: RingbusError) => void) | undefined = undefined;

  constructor(segment: number) {
    this.segment = segment;
  }

  /** One promise per batch, made only when someone waits for it. */
  get promise(): Promise<void> {
    return (this.settled ??= new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    }));
  }

  resolve(): void {
    this.resolveFn?.();
  }

  reject(err: RingbusError): void {
    if (this.rejectFn !== undefined) this.rejectFn(err);
    else {
      // A failure nobody waits for yet is reported through stats, not as an unhandled rejection.
      this.settled = Promise.reject(err);
      this.settled.catch(() => undefined);
    }
  }
}

/** The default opener of {@link LogWriterSettings.openFile}. */
export const openFileHandle: OpenSegmentFile = (path, flags) => open(path, flags);

/**
 * Appends records to numbered segment files with group commit: every append made while the
 * previous batch was being written goes out in ONE `writev`, and with `'always'` ONE `datasync`
 * before the batch's commit resolves. `'batch'` resolves a batch once written and syncs in the
 * background at most `fsyncIntervalMs` later (and before a file is closed); `'never'` leaves
 * syncing to the OS. A segment that reached `segmentBytes` takes no
 * more appends: the next one starts the next segment (file created, header written, directory
 * synced). Which segment an append lands in is known when it is made ({@link LogWriter.segment}).
 *
 * @remarks After a failed write or sync the writer is failed for good: what reached the disk is
 * unknown (a retried fsync may report success for lost pages), so every pending and later append
 * fails; the store starts a new writer on a new segment.
 */
export class LogWriter {
  readonly settings: LogWriterSettings;
  /** Called when appends move to a new segment, before the append that moved them. */
  onSegment: (segment: number) => void = () => undefined;
  #segment: number;
  /** Bytes the current segment will hold once its pending appends are written. */
  #assigned = SEGMENT_HEADER_BYTES;
  #batches: Batch[] = [];
  #file: SegmentFile | undefined = undefined;
  #fileSegment = 0;
  /** The first segment this writer makes: older ones are finished files. */
  readonly #first: number;
  /** Bytes written to the current file, its header included. */
  #fileBytes = 0;
  #scheduled = false;
  /** `'batch'`: written since the last sync, and the timer of the next one. */
  #dirty = false;
  #syncTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #syncDue = false;
  /** Bytes appended and not yet taken by a flush. */
  #pending = 0;
  #flushing = false;
  #failure: RingbusError | undefined = undefined;
  #closed = false;
  #idle: (() => void)[] = [];
  /** Records appended. */
  appends = 0;
  /** Bytes written to files, headers included. */
  bytesWritten = 0;
  /** Batches written (one writev each). */
  writeCount = 0;
  /** `datasync` calls on segment files. */
  syncCount = 0;
  /** Highest segment whose file is fully written and closed. */
  completed = 0;
  /** When the write or sync failed (epoch ms), 0 before. */
  failedAt = 0;
  /** Inside onSegment: its own appends (a snapshot) never start yet another segment. */
  #rolling = false;

  /** @param segment - the first segment to create (it must not exist) */
  constructor(settings: LogWriterSettings, segment: number) {
    this.settings = settings;
    this.#segment = segment;
    this.#first = segment;
  }

  /** The segment the next append lands in. */
  get segment(): number {
    return this.#segment;
  }

  /** Why appends fail, once a write or sync failed. */
  get failure(): RingbusError | undefined {
    return this.#failure;
  }

  /** True while appends wait to be written or a write is in flight. */
  get busy(): boolean {
    return this.#flushing || this.#batches.length > 0;
  }

  /** Bytes appended but not yet written. */
  get pendingBytes(): number {
    return this.#pending;
  }

  /**
   * Appends an encoded record (record.ts); `bytes` must not change afterwards.
   *
   * @returns the record's offset in segment {@link LogWriter.segment}
   * @throws {@link RingbusError} `ERR_STORE` once the writer failed, `ERR_CLOSED` after close
   */
  append(bytes: Uint8Array): number {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) throw new RingbusError(ErrorCode.CLOSED, 'the store is closed');
    if (
      this.#assigned >= this.settings.segmentBytes &&
      this.#assigned > SEGMENT_HEADER_BYTES &&
      !this.#rolling
    ) {
      this.#segment++;
      this.#assigned = SEGMENT_HEADER_BYTES;
      this.#rolling = true;
      try {
        this.onSegment(this.#segment);
      } finally {
        this.#rolling = false;
      }
    }
    let batch = this.#batches.at(-1);
    if (batch === undefined || batch.segment !== this.#segment) {
      batch = new Batch(this.#segment);
      this.#batches.push(batch);
    }
    batch.buffers.push(bytes);
    const offset = this.#assigned;
    this.#assigned += bytes.length;
    this.#pending += bytes.length;
    this.appends++;
    this.#schedule();
    return offset;
  }

  /**
   * Bytes of `segment` written to its file so far: Infinity once the writer moved past it (the
   * whole file), 0 before it was started.
   */
  written(segment: number): number {
    if (segment < this.#first || segment < this.#fileSegment) return Infinity;
    return segment === this.#fileSegment ? this.#fileBytes : 0;
  }

  /**
   * Resolves once everything appended so far is written and, per policy, synced; rejects with
   * `ERR_STORE` if that failed.
   */
  commit(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const last = this.#batches.at(-1);
    if (last !== undefined) return last.promise;
    if (!this.#flushing) return Promise.resolve();
    return new Promise<void>((resolve, reject) =>
      this.#idle.push(() => (this.#failure === undefined ? resolve() : reject(this.#failure)))
    );
  }

  /** Writes what is pending, then closes the current file. Later appends throw `ERR_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer); // closing syncs anyway
    this.#syncTimer = undefined;
    if (this.#flushing || this.#batches.length > 0) {
      await new Promise<void>((resolve) => {
        this.#idle.push(resolve);
        if (!this.#flushing) void this.#flush();
      });
    }
    try {
      await this.#closeFile();
    } catch (err) {
      this.#failure ??= storeError('cannot sync the last segment before closing it', err);
      throw this.#failure;
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(this.#run);
  }

  #run = (): void => {
    this.#scheduled = false;
    if (!this.#flushing) void this.#flush();
  };

  /** `'batch'`: the background sync, at most `fsyncIntervalMs` after a write. */
  #armSync(): void {
    if (this.#syncTimer !== undefined || this.#closed) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      this.#syncDue = true;
      if (!this.#flushing) void this.#flush();
    }, this.settings.fsyncIntervalMs);
    // Closing syncs what is left: a pending sync alone does not keep the process alive.
    (this.#syncTimer as { unref?: () => void }).unref?.();
  }

  /** Writes the pending batches in order; never rejects (failures reject the batches instead). */
  async #flush(): Promise<void> {
    this.#flushing = true;
    for (let batch = this.#batches.shift(); batch !== undefined; batch = this.#batches.shift()) {
      try {
        if (this.#fileSegment !== batch.segment) await this.#openSegment(batch.segment);
        let bytes = 0;
        for (const b of batch.buffers) bytes += b.length;
        this.#pending -= bytes;
        await writeAll(this.#file!, batch.buffers);
        this.writeCount++;
        this.bytesWritten += bytes;
        this.#fileBytes += bytes;
        if (this.settings.fsync === 'always') {
          await this.#file!.datasync();
          this.syncCount++;
        } else if (this.settings.fsync === 'batch') {
          this.#dirty = true;
          this.#armSync();
        }
        batch.resolve();
      } catch (err) {
        this.#fail(err, batch);
        break;
      }
    }
    if (this.#syncDue && this.#failure === undefined) {
      this.#syncDue = false;
      try {
        await this.#syncDirty();
      } catch (err) {
        this.#fail(err, undefined);
      }
    }
    this.#flushing = false;
    if (this.#batches.length > 0 && this.#failure === undefined) this.#schedule();
    else for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #openSegment(segment: number): Promise<void> {
    await this.#closeFile();
    const { dir, openFile, fsync } = this.settings;
    const path = join(dir, segmentName(segment));
    const file = await openFile(path, 'wx').catch((err: unknown) => {
      throw storeError(`cannot create segment ${path}`, err);
    });
    this.#file = file;
    this.#fileSegment = segment;
    this.#fileBytes = 0;
    await writeAll(file, [segmentHeader(this.settings.idFloor())]);
    this.bytesWritten += SEGMENT_HEADER_BYTES;
    this.#fileBytes = SEGMENT_HEADER_BYTES;
    // The new file's directory entry must be durable before anything in the file counts as such.
    if (fsync !== 'never') await syncDirectory(openFile, dir);
  }

  /** `'batch'`: syncs the current file if it was written since its last sync. */
  async #syncDirty(): Promise<void> {
    if (!this.#dirty || this.#file === undefined) return;
    this.#dirty = false;
    await this.#file.datasync();
    this.syncCount++;
  }

  /** Closes the current file, synced first under `'batch'`: only the newest file is ever dirty. */
  async #closeFile(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    try {
      await this.#syncDirty();
    } finally {
      this.#file = undefined;
      await file.close().catch(() => undefined);
      this.completed = this.#fileSegment;
    }
  }

  #fail(err: unknown, batch: Batch | undefined): void {
    const failure =
      err instanceof RingbusError && err.code === ErrorCode.STORE
        ? err
        : storeError(
            `cannot append to segment ${segmentName(batch?.segment ?? this.#fileSegment)}`,
            err
          );
    this.#failure = failure;
    this.failedAt = Date.now();
    batch?.reject(failure);
    for (const b of this.#batches.splice(0)) b.reject(failure);
    this.#pending = 0;
    this.#dirty = false; // what it held is unknown now: nothing to sync
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    this.#closeFile().catch(() => undefined);
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
