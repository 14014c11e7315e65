import type { RingbusError } from './errors.js';
import type { PayloadCodec } from './frames/envelope.js';
import type { Logger } from './logger.js';
import type { Message } from './message.js';
import type { Overflow } from './options.js';

/** When a durable `publishAsync` resolves (docs/durability.md). */
export type FsyncPolicy = 'always' | 'batch' | 'never';

/**
 * The `store` option of `new Bus()`: a write-ahead log that makes named QoS 1 channels survive a
 * crash of this process (Node only; docs/durability.md).
 */
export interface StoreOptions {
  /** Directory of the segment files; created if missing. One bus per directory. */
  dir: string;
  /**
   * `'always'`: `publishAsync` resolves once its record is written and `fdatasync`ed (appends
   * made meanwhile share one write and one sync); `'batch'`: resolves once written, and a sync
   * follows at most `fsyncIntervalMs` later (a machine crash loses at most that much of confirmed
   * publishes); `'never'`: resolves once written to the OS (survives a crash of the process, not
   * of the machine).
   * @defaultValue `'always'`
   */
  fsync?: FsyncPolicy;
  /** Longest time `'batch'` leaves written records unsynced. @defaultValue 10 */
  fsyncIntervalMs?: number;
  /** A segment file takes no more records once it holds this many bytes. @defaultValue 64 MiB */
  segmentBytes?: number;
  /** Turns payloads that are neither bytes nor strings into bytes and back; default JSON. */
  codec?: PayloadCodec;
}

/** {@link StoreOptions} with the defaults filled in. @internal */
export interface ResolvedStoreOptions {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  readonly codec: PayloadCodec | undefined;
}

/** What a durable channel is made with; kept in its CHANNEL_CREATED record. @internal */
export interface ChannelSettings {
  readonly pattern: string;
  readonly name: string;
  readonly queueSize: number;
  readonly overflow: Overflow;
  readonly ackTimeoutMs: number;
  readonly maxAttempts: number;
}

/** An unacked message read back from the log. @internal */
export interface RecoveredMessage {
  readonly id: number;
  /** The attempt its next delivery makes (a crash is not counted as one). */
  readonly attempt: number;
  readonly topic: string;
  readonly payload: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** Epoch ms. */
  readonly publishedAt: number;
  /** Epoch ms; 0 = never. */
  readonly expiresAt: number;
}

/**
 * A durable channel read back from the log: its first unacked messages in publish order (up to
 * `queueSize`), and how many more wait on disk. @internal
 */
export interface RecoveredChannel {
  readonly key: string;
  readonly settings: ChannelSettings;
  readonly messages: readonly RecoveredMessage[];
  /** Unacked messages left on disk, read back with {@link DurableStore.load}. */
  readonly spilled: number;
}

/** A damaged spot the recovery stopped at (never delivered). */
export interface StoreDamage {
  /** The segment file's name. */
  segment: string;
  /** Byte offset of the damaged record (0 for a bad header). */
  offset: number;
  /** What is wrong: checksum mismatch, damaged length, bad header, … */
  reason: string;
}

/** What the last start found on disk and how long it took. */
export interface RecoveryStats {
  /** Wall-clock ms from opening the directory to serving. */
  ms: number;
  /** Segment files read. */
  segments: number;
  /** Records replayed. */
  records: number;
  /** Durable channels rebuilt. */
  channels: number;
  /** Unacked messages put back in their channels. */
  messages: number;
  /** Bytes of an incomplete last record cut off (a crash mid-write). */
  truncatedBytes: number;
  /** Damaged records or headers: the replay of that segment stopped there; the file was kept. */
  damaged: StoreDamage[];
}

/** `stats().store`: the write-ahead log of a bus that has one. */
export interface StoreStats {
  /** The store's directory. */
  dir: string;
  /** Its fsync policy. */
  fsync: FsyncPolicy;
  /** Segment files on disk. */
  segments: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Unacked durable messages (one per channel a message is in). */
  messages: number;
  /** Records appended since start. */
  appends: number;
  /** Batches written since start (one write each: group commit). */
  writes: number;
  /** `fdatasync` calls since start. */
  syncs: number;
  /** Bytes appended, not yet written. */
  pendingBytes: number;
  /** Segments deleted by compaction since start. */
  segmentsDeleted: number;
  /** Segments rewritten by compaction since start (their live messages appended again). */
  segmentsRewritten: number;
  /** Why durable publishes fail now (disk full, permissions), or null. */
  failure: string | null;
  /** Failures since start (each made a new segment necessary). */
  failures: number;
  /** What the replay at start found. */
  recovery: RecoveryStats;
}

/**
 * What a bus asks of its write-ahead log (adapters/store/ on Node, through the container). Every
 * method is synchronous: records are appended to a pending batch; {@link DurableStore.commit}
 * resolves once they are durable.
 *
 * @internal
 */
export interface DurableStore {
  /** Channels found on disk at open. */
  readonly recovered: readonly RecoveredChannel[];
  /** The highest message id in the log: the bus continues after it. */
  readonly lastId: number;
  /** Set while appends fail; durable publishes reject with it. */
  readonly failure: RingbusError | undefined;
  /** Records appended so far: a publish that moved it waits for {@link DurableStore.commit}. */
  readonly appends: number;
  channelCreated(key: string, settings: ChannelSettings): void;
  channelDeleted(key: string): void;
  /**
   * Records `msg` entering the channels `keys` (payload encoded once, one record per channel).
   * @throws {@link RingbusError} `ERR_PAYLOAD` (not encodable), `ERR_STORE` (the log failed)
   */
  message(keys: readonly string[], msg: Message): void;
  /** A message left the channel for good: acked, dead-lettered, dropped (TTL, emptied). */
  removed(key: string, id: number): void;
  /** A message went back to the channel for another attempt. */
  requeued(key: string, id: number): void;
  /**
   * The channel's queue is full: message `id`, just recorded by {@link DurableStore.message}, stays
   * on disk only, and so does every later one until the backlog is read back.
   *
   * @returns false when the store does not hold that message (it was not recorded)
   */
  spilled(key: string, id: number): boolean;
  /**
   * Reads back up to `max` spilled messages of the channel, oldest first. None while their records
   * are still being written ({@link DurableStore.writing}).
   */
  load(key: string, max: number): RecoveredMessage[];
  /** True while records wait to be written or a write is in flight. */
  readonly writing: boolean;
  /** Spilled messages of the channel left on disk. */
  spilledCount(key: string): number;
  /** Drops the channel's spilled messages (`empty()`), for good. @returns how many */
  dropSpilled(key: string): number;
  /** Resolves once every record appended so far is durable; rejects with `ERR_STORE`. */
  commit(): Promise<void>;
  stats(): StoreStats;
  /** Writes what is pending and closes the files. */
  close(): Promise<void>;
}

/** Opens the store of a bus (synchronous: recovery runs before the bus serves). @internal */
export type StoreOpener = (options: ResolvedStoreOptions, logger: Logger) => DurableStore;
