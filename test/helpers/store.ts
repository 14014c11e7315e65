/**
 * Helpers of the store tests: temporary store directories, an opener for the log writer that
 * counts, holds and fails calls on real files, and readers of the segment files a bus left.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Bus, type StoreOptions, type StoreStats } from '../../adapters/node.js';
import type { OpenSegmentFile, SegmentFile } from '../../adapters/store/log-writer.js';
import {
  RECORD_PREFIX_BYTES,
  type StoreRecord,
  encodeRecord
} from '../../adapters/store/record.js';
import { scanSegmentBytes } from '../../adapters/store/scan.js';
import {
  SEGMENT_HEADER_BYTES,
  segmentHeader,
  segmentNumber
} from '../../adapters/store/segment.js';

/** A fresh directory under the OS temp dir; `remove()` deletes it with everything in it. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `ringbus-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** An error as `fs` makes them: `code` is the errno name. */
export function errno(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected fault`);
  err.code = code;
  return err;
}

/** Which calls fail, by errno code, while set; undefined lets them through. */
export interface OpenerFaults {
  /** Creating a segment file (flags 'wx'). */
  open?: string;
  writev?: string;
  datasync?: string;
}

/** Calls made on segment files (the directory's own sync is counted apart). */
export interface OpenerCalls {
  segmentOpens: number;
  writev: number;
  datasync: number;
  directorySyncs: number;
}

/** An opener over real files whose segment calls a test counts, holds and fails. */
export interface TestOpener {
  readonly openFile: OpenSegmentFile;
  readonly calls: OpenerCalls;
  readonly faults: OpenerFaults;
  /** While set, every segment `writev` waits for it before writing. */
  hold: Promise<void> | undefined;
  /** Sets the counters back to zero. */
  resetCalls(): void;
}

/** {@link TestOpener}: `fs.promises.open` underneath, so what is written is on disk. */
export function testOpener(): TestOpener {
  const calls: OpenerCalls = { segmentOpens: 0, writev: 0, datasync: 0, directorySyncs: 0 };
  const faults: OpenerFaults = {};
  const opener: TestOpener = {
    calls,
    faults,
    hold: undefined,
    resetCalls: () => {
      calls.segmentOpens = calls.writev = calls.datasync = calls.directorySyncs = 0;
    },
    openFile: async (path, flags) => {
      const handle = await open(path, flags);
      if (flags === 'r') {
        return {
          writev: (buffers) => handle.writev(buffers),
          datasync: () => {
            calls.directorySyncs++;
            return handle.datasync();
          },
          close: () => handle.close()
        };
      }
      calls.segmentOpens++;
      if (faults.open !== undefined) {
        await handle.close();
        throw errno(faults.open);
      }
      const file: SegmentFile = {
        writev: async (buffers) => {
          calls.writev++;
          if (opener.hold !== undefined) await opener.hold;
          if (faults.writev !== undefined) throw errno(faults.writev);
          return handle.writev(buffers);
        },
        datasync: async () => {
          calls.datasync++;
          if (faults.datasync !== undefined) throw errno(faults.datasync);
          return handle.datasync();
        },
        close: () => handle.close()
      };
      return file;
    }
  };
  return opener;
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** The segment file names in `dir`, oldest first. */
export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => segmentNumber(name) !== undefined)
    .sort();
}

/** Total size of every file in `dir`. */
export function directoryBytes(dir: string): number {
  return readdirSync(dir).reduce((n, name) => n + statSync(join(dir, name)).size, 0);
}

/** One record of a segment file and where it lies. */
export interface RecordSpan {
  readonly record: StoreRecord;
  /** Offset of its length field. */
  readonly offset: number;
  /** Its whole size, prefix included. */
  readonly bytes: number;
}

/**
 * The records of a segment file with their offsets: the scanner's records, placed by walking the
 * length fields (the file must be undamaged).
 */
export function recordSpans(path: string): RecordSpan[] {
  const bytes = readFileSync(path);
  const scan = scanSegmentBytes(bytes);
  if (scan.problem !== undefined) throw new Error(`${path} is damaged: ${scan.problem.kind}`);
  const spans: RecordSpan[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  for (const record of scan.records) {
    const size = RECORD_PREFIX_BYTES + bytes.readUInt32LE(offset);
    spans.push({ record, offset, bytes: size });
    offset += size;
  }
  return spans;
}

/**
 * A bus with a store in `dir`, closed when the test ends (close is idempotent, so a test may
 * close it earlier to restart): a bus left open keeps its LOCK and later buses on `dir` fail.
 */
export function storeBus(t: TestContext, dir: string, store: Partial<StoreOptions> = {}): Bus {
  const bus = new Bus({ store: { dir, ...store } });
  t.after(() => bus.close());
  return bus;
}

/** `bus.stats().store`, which a bus with a store always has. */
export function storeStats(bus: Bus): StoreStats {
  const stats = bus.stats().store;
  if (stats === undefined) throw new Error('the bus has no store');
  return stats;
}

/** A segment file's bytes holding `records`; `starts[i]` is where record i begins, `starts[n]` the end. */
export function segmentImage(records: readonly StoreRecord[]): {
  bytes: Uint8Array;
  starts: number[];
} {
  const encoded = records.map(encodeRecord);
  const starts = [SEGMENT_HEADER_BYTES];
  for (const e of encoded) starts.push(starts[starts.length - 1] + e.length);
  const bytes = new Uint8Array(starts[starts.length - 1]);
  bytes.set(segmentHeader());
  encoded.forEach((e, i) => bytes.set(e, starts[i]));
  return { bytes, starts };
}
