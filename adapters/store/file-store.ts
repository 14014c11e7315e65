import { mkdirSync } from 'node:fs';
import { readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { CLOCK_EPOCH } from '../../src/clock.js';
import {
  type PayloadCodec,
  decodeWith,
  encodeValue,
  parseJson
} from '../../src/frames/envelope.js';
import { PayloadKind } from '../../src/frames/frame-type.js';
import type { Logger } from '../../src/logger.js';
import type { Message } from '../../src/message.js';
import type {
  ChannelSettings,
  DurableStore,
  RecoveredChannel,
  RecoveredMessage,
  RecoveryStats,
  ResolvedStoreOptions,
  StoreStats
} from '../../src/store.js';
import { DirectoryLock } from './directory-lock.js';
import { LogWriter, type OpenSegmentFile, openFileHandle } from './log-writer.js';
import { type MessageRecord, type PayloadKindValue, RecordType, encodeRecord } from './record.js';
import { type SegmentInfo, type WindowEntry, replayDirectory } from './recovery.js';
import { SpillState } from './spill.js';
import { scanSegmentBytes } from './scan.js';
import { SEGMENT_HEADER_BYTES, segmentName, storeError } from './segment.js';

/** A live message's segment and attempt in one number: no object per message. */
const ATTEMPT_BITS = 1024;
const pack = (segment: number, attempt: number): number =>
  segment * ATTEMPT_BITS + Math.min(attempt, ATTEMPT_BITS - 1);
const segmentOf = (packed: number): number => Math.floor(packed / ATTEMPT_BITS);
const attemptOf = (packed: number): number => packed % ATTEMPT_BITS;

/** After a failed write, the next append waits this long before trying a new segment. */
const RETRY_AFTER_MS = 1000;

interface LiveChannel {
  readonly settings: ChannelSettings;
  /** Unacked messages in memory: id → packed (segment, attempt). */
  readonly live: Map<number, number>;
  /** Unacked messages on disk only, when the channel's queue overflowed. */
  spill: SpillState | undefined;
  /** Where the channel's last MESSAGE record went: a spill starts there. */
  lastSegment: number;
  lastOffset: number;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Test hooks of {@link FileStore.open}. @internal */
export interface FileStoreHooks {
  openFile?: OpenSegmentFile;
}

/**
 * The write-ahead log of one bus: numbered segment files in `dir` (docs/durability.md). Records
 * are appended synchronously to a pending batch (group commit by {@link LogWriter}); the live
 * state (which channel holds which unacked message, in which segment, at which attempt) is kept
 * in memory so acks, compaction and segment deletion need no disk reads.
 *
 * Compaction: a segment none of whose messages are live is deleted once every older one is (its
 * ACK records may settle messages of older segments); the oldest segment is rewritten (its live
 * messages appended again, then the file deleted) when at most half of its messages are live or
 * when it holds back two or more fully acked segments, so disk use follows the unacked backlog.
 */
export class FileStore implements DurableStore {
  readonly recovered: readonly RecoveredChannel[];
  readonly lastId: number;
  /** The highest message id recorded: the id floor of new segments. */
  #maxId: number;
  #options: ResolvedStoreOptions;
  #logger: Logger;
  #lock: DirectoryLock;
  #openFile: OpenSegmentFile;
  #writer: LogWriter;
  #channels = new Map<string, LiveChannel>();
  #segments: Map<number, SegmentInfo>;
  #recovery: RecoveryStats;
  #failedAt = 0;
  #failures = 0;
  #appendsBefore = 0;
  #compacting: Promise<void> | undefined = undefined;
  #segmentsDeleted = 0;
  #segmentsRewritten = 0;
  #closed = false;

  private constructor(options: ResolvedStoreOptions, logger: Logger, hooks: FileStoreHooks) {
    const started = performance.now();
    this.#options = options;
    this.#logger = logger;
    this.#openFile = hooks.openFile ?? openFileHandle;
    try {
      mkdirSync(options.dir, { recursive: true });
    } catch (err) {
      throw storeError(`cannot create the store directory ${options.dir}`, err);
    }
    this.#lock = DirectoryLock.take(options.dir);
    try {
      const replay = replayDirectory(options.dir);
      this.#segments = replay.segments;
      this.lastId = replay.lastId;
      this.#maxId = replay.lastId;
      const recovered: RecoveredChannel[] = [];
      let messages = 0;
      for (const [key, channel] of replay.channels) {
        const state = liveChannel(channel.settings);
        state.spill = channel.spill;
        this.#channels.set(key, state);
        const list = this.#revive(key, state, channel.window);
        const spilled = channel.spill?.count ?? 0;
        recovered.push({ key, settings: channel.settings, messages: list, spilled });
        messages += list.length + spilled;
      }
      this.recovered = recovered;
      this.#writer = this.#newWriter(replay.nextSegment);
      this.#snapshot(this.#writer.segment);
      this.#recovery = {
        ...replay.stats,
        ms: 0,
        channels: recovered.length,
        messages
      };
      for (const d of replay.stats.damaged)
        logger.error(
          d,
          'ringbus: the store found a damaged record; replay of that segment stopped there'
        );
      this.#recovery.ms = Math.round((performance.now() - started) * 1000) / 1000;
      void this.#compact();
    } catch (err) {
      this.#lock.release();
      throw err;
    }
  }

  /**
   * Opens (creating if needed) the store in `options.dir` and replays it, synchronously.
   *
   * @throws {@link RingbusError} `ERR_STORE` when the directory cannot be created or read, or
   *   another live process holds it
   */
  static open(
    options: ResolvedStoreOptions,
    logger: Logger,
    hooks: FileStoreHooks = {}
  ): FileStore {
    return new FileStore(options, logger, hooks);
  }

  /** The writer's failure until the retry delay passed (then the next append tries a new segment). */
  get failure(): RingbusError | undefined {
    const failure = this.#writer.failure;
    if (failure === undefined) return undefined;
    this.#noteFailure(failure);
    return Date.now() - this.#failedAt < RETRY_AFTER_MS ? failure : undefined;
  }

  get appends(): number {
    return this.#appendsBefore + this.#writer.appends;
  }

  channelCreated(key: string, settings: ChannelSettings): void {
    this.#channels.set(key, liveChannel(settings));
    this.#record(channelRecord(key, settings));
  }

  channelDeleted(key: string): void {
    const channel = this.#channels.get(key);
    if (channel === undefined) return;
    this.#channels.delete(key);
    for (const packed of channel.live.values()) this.#segments.get(segmentOf(packed))!.live--;
    for (const [segment, n] of channel.spill?.perSegment ?? [])
      this.#segments.get(segment)!.live -= n;
    this.#record(encodeRecord({ type: RecordType.CHANNEL_DELETED, channel: key }));
    this.#scheduleCompaction();
  }

  message(keys: readonly string[], msg: Message): void {
    const { kind, bytes } = encodePayload(msg.payload, this.#options.codec);
    if (msg.id > this.#maxId) this.#maxId = msg.id;
    for (const key of keys) {
      const offset = this.#append(
        encodeRecord({
          type: RecordType.MESSAGE,
          channel: key,
          id: msg.id,
          attempt: msg.attempt,
          publishedAt: msg.publishedAt,
          expiresAt: msg.expiresAt === 0 ? 0 : CLOCK_EPOCH + msg.expiresAt,
          topic: msg.topic,
          headers: msg.headers,
          payloadKind: kind,
          payload: bytes
        })
      );
      const segment = this.#writer.segment;
      const channel = this.#channels.get(key)!;
      channel.live.set(msg.id, pack(segment, msg.attempt));
      channel.lastSegment = segment;
      channel.lastOffset = offset;
      const info = this.#segments.get(segment)!;
      info.live++;
      info.messages++;
    }
  }

  removed(key: string, id: number): void {
    const channel = this.#channels.get(key);
    const packed = channel?.live.get(id);
    if (packed === undefined) return;
    channel!.live.delete(id);
    this.#record(encodeRecord({ type: RecordType.ACK, channel: key, id }));
    const segment = segmentOf(packed);
    if (--this.#segments.get(segment)!.live === 0) this.#scheduleCompaction();
  }

  requeued(key: string, id: number): void {
    const channel = this.#channels.get(key);
    const packed = channel?.live.get(id);
    if (packed === undefined) return;
    channel!.live.set(id, pack(segmentOf(packed), attemptOf(packed) + 1));
    this.#record(encodeRecord({ type: RecordType.NACK, channel: key, id }));
  }

  spilled(key: string, id: number): boolean {
    const channel = this.#channels.get(key);
    const packed = channel?.live.get(id);
    if (packed === undefined) return false;
    channel!.live.delete(id);
    channel!.spill ??= new SpillState(channel!.lastSegment, channel!.lastOffset, id - 1);
    channel!.spill.add(segmentOf(packed), id);
    return true;
  }

  load(key: string, max: number): RecoveredMessage[] {
    const channel = this.#channels.get(key);
    const spill = channel?.spill;
    if (spill === undefined) return [];
    const entries = spill.read(this.#options.dir, key, max, this.#written, this.#segmentNumbers());
    if (entries.length === 0 && spill.count > 0 && !this.#writer.busy) {
      // Everything written was read and nothing more is coming: their records died with a failed
      // write (their publishers were told). Nothing to wait for.
      this.#logger.error(
        { channel: key, lost: spill.count },
        'ringbus: spilled messages were lost with a failed write'
      );
      for (const [segment, n] of spill.perSegment) this.#segments.get(segment)!.live -= n;
      spill.count = 0;
    }
    if (spill.count === 0) channel!.spill = undefined;
    return this.#revive(key, channel!, entries);
  }

  dropSpilled(key: string): number {
    const channel = this.#channels.get(key);
    const spill = channel?.spill;
    if (spill === undefined) return 0;
    channel!.spill = undefined;
    for (const [segment, n] of spill.perSegment) this.#segments.get(segment)!.live -= n;
    this.#record(
      encodeRecord({
        type: RecordType.EMPTIED,
        channel: key,
        from: spill.lastLoaded + 1,
        to: spill.lastSpilled
      })
    );
    this.#scheduleCompaction();
    return spill.count;
  }

  get writing(): boolean {
    return this.#writer.busy;
  }

  spilledCount(key: string): number {
    return this.#channels.get(key)?.spill?.count ?? 0;
  }

  commit(): Promise<void> {
    return this.#writer.commit();
  }

  stats(): StoreStats {
    const w = this.#writer;
    if (w.failure !== undefined) this.#noteFailure(w.failure);
    let bytes = 0;
    let messages = 0;
    for (const info of this.#segments.values()) {
      bytes += info.bytes;
      messages += info.live;
    }
    return {
      dir: this.#options.dir,
      fsync: this.#options.fsync,
      segments: this.#segments.size,
      bytes, // appended records count from the append: a segment's size once written
      messages,
      appends: this.appends,
      writes: w.writeCount,
      syncs: w.syncCount,
      pendingBytes: w.pendingBytes,
      segmentsDeleted: this.#segmentsDeleted,
      segmentsRewritten: this.#segmentsRewritten,
      failure: w.failure?.message ?? null,
      failures: this.#failures,
      recovery: { ...this.#recovery, damaged: [...this.#recovery.damaged] }
    };
  }

  async close(): Promise<void> {
    this.#closed = true; // no compaction starts from now on: the files are the next owner's
    await this.#compacting;
    try {
      await this.#writer.close();
    } finally {
      this.#lock.release();
    }
  }

  #newWriter(segment: number): LogWriter {
    const o = this.#options;
    const writer = new LogWriter(
      {
        dir: o.dir,
        fsync: o.fsync,
        fsyncIntervalMs: o.fsyncIntervalMs,
        segmentBytes: o.segmentBytes,
        openFile: this.#openFile,
        idFloor: () => this.#maxId
      },
      segment
    );
    writer.onSegment = (n) => {
      this.#snapshot(n);
      this.#scheduleCompaction();
    };
    return writer;
  }

  /** Starts segment `n`'s bookkeeping and its CHANNEL_CREATED records: older ones may be deleted. */
  #snapshot(n: number): void {
    this.#segments.set(n, { live: 0, messages: 0, bytes: SEGMENT_HEADER_BYTES, damaged: false });
    for (const [key, channel] of this.#channels) this.#append(channelRecord(key, channel.settings));
  }

  /**
   * Appends, first replacing a failed writer once the retry delay has passed.
   *
   * @returns the record's offset in its segment ({@link LogWriter.segment})
   */
  #append(bytes: Uint8Array): number {
    const w = this.#writer;
    if (w.failure !== undefined) {
      this.#noteFailure(w.failure);
      if (Date.now() - this.#failedAt < RETRY_AFTER_MS) throw w.failure;
      this.#failedAt = 0;
      this.#appendsBefore += w.appends;
      this.#writer = this.#newWriter(w.segment + 1);
      this.#snapshot(this.#writer.segment);
    }
    const offset = this.#writer.append(bytes);
    this.#segments.get(this.#writer.segment)!.bytes += bytes.length;
    return offset;
  }

  /**
   * Appends a record nobody waits for (ack, nack, channel change). While the log fails it is lost
   * with a count in stats: a lost ACK means one redelivery after a restart, never an error thrown
   * into a consumer's ack().
   */
  #record(bytes: Uint8Array): void {
    try {
      this.#append(bytes);
    } catch (err) {
      if (!(err instanceof RingbusError) || err.code !== ErrorCode.STORE) throw err;
    }
  }

  /** Counts and logs a writer's failure once. */
  #noteFailure(failure: RingbusError): void {
    if (this.#failedAt !== 0) return;
    this.#failedAt = this.#writer.failedAt; // the retry delay runs from the failure itself
    this.#failures++;
    this.#logger.error({ err: failure }, 'ringbus: the store cannot write; durable publishes fail');
  }

  /** Bytes of `segment` that can be read back now (Infinity: the whole file). */
  #written = (segment: number): number => this.#writer.written(segment);

  #segmentNumbers(): number[] {
    return [...this.#segments.keys()].sort((a, b) => a - b);
  }

  /** Messages read back from the log, now in memory: tracked live, decoded for the bus. */
  #revive(key: string, channel: LiveChannel, entries: readonly WindowEntry[]): RecoveredMessage[] {
    const out: RecoveredMessage[] = [];
    for (const { record, attempt, segment } of entries) {
      const message = this.#recover(record, attempt, key);
      if (message === undefined) {
        this.#segments.get(segment)!.live--; // undecodable: never delivered, so never acked
        continue;
      }
      channel.live.set(record.id, pack(segment, attempt));
      out.push(message);
    }
    return out;
  }

  /** A replayed record as a message, or undefined (reported) when its payload does not decode. */
  #recover(record: MessageRecord, attempt: number, key: string): RecoveredMessage | undefined {
    let payload: unknown;
    try {
      payload = decodePayload(record.payloadKind, record.payload, this.#options.codec);
    } catch (err) {
      this.#logger.error(
        { err, channel: key, id: record.id },
        'ringbus: a stored payload does not decode (a different codec?); the message is skipped'
      );
      return undefined;
    }
    return {
      id: record.id,
      attempt: Math.max(1, attempt),
      topic: record.topic,
      payload,
      headers: record.headers,
      publishedAt: record.publishedAt,
      expiresAt: record.expiresAt
    };
  }

  #scheduleCompaction(): void {
    if (this.#compacting === undefined && !this.#closed) setImmediate(() => void this.#compact());
  }

  /** Deletes fully acked segments from the oldest on; rewrites the oldest when it pins others. */
  async #compact(): Promise<void> {
    if (this.#compacting !== undefined || this.#closed) return;
    let done!: () => void;
    this.#compacting = new Promise<void>((resolve) => (done = resolve));
    try {
      for (;;) {
        const oldest = Math.min(...this.#segments.keys());
        // Segments from the first spilled record on are read back in place: never touched.
        if (!(oldest < Math.min(this.#writer.segment, this.#firstSpilled()))) break;
        const info = this.#segments.get(oldest)!;
        if (info.live === 0) {
          // Every fully acked segment from the oldest on, emptied by records that one commit
          // (with the next segment's snapshot) makes durable before they go.
          const empty = this.#emptyRun(oldest);
          await this.#writer.commit();
          for (const segment of empty) await this.#remove(segment, this.#segments.get(segment)!);
        } else if (!info.kept && (info.live * 2 <= info.messages || this.#pinned(oldest) >= 2)) {
          await this.#rewrite(oldest, info);
        } else break;
      }
    } catch (err) {
      this.#logger.error({ err }, 'ringbus: store compaction failed; it is tried again later');
    } finally {
      this.#compacting = undefined;
      done();
    }
  }

  /** `oldest` and the fully acked segments right after it, below the current one. */
  #emptyRun(oldest: number): number[] {
    const run: number[] = [];
    const limit = Math.min(this.#writer.segment, this.#firstSpilled());
    for (const segment of this.#segmentNumbers()) {
      if (segment < oldest) continue;
      if (segment >= limit || this.#segments.get(segment)!.live !== 0) break;
      run.push(segment);
    }
    return run;
  }

  /** The segment the earliest spill cursor is in (Infinity without spills). */
  #firstSpilled(): number {
    let first = Infinity;
    for (const channel of this.#channels.values())
      if (channel.spill !== undefined) first = Math.min(first, channel.spill.segment);
    return first;
  }

  /** Closed, fully acked segments held back by `oldest`. */
  #pinned(oldest: number): number {
    let n = 0;
    for (const [segment, info] of this.#segments)
      if (segment > oldest && segment < this.#writer.segment && info.live === 0) n++;
    return n;
  }

  async #remove(segment: number, info: SegmentInfo): Promise<void> {
    const path = join(this.#options.dir, segmentName(segment));
    try {
      if (info.damaged) await rename(path, `${path}.damaged`);
      else await unlink(path);
    } catch (err) {
      // Never created (its writer failed at open): nothing to delete.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.#segments.delete(segment);
    this.#segmentsDeleted++;
  }

  /**
   * Appends COPY records of the live messages of `segment` (current attempt) and, once they are
   * durable, moves their bookkeeping to where the copies are; then it holds none. A failed commit
   * moves nothing (the segment stays, its messages too).
   */
  async #rewrite(segment: number, info: SegmentInfo): Promise<void> {
    const bytes = await readFile(join(this.#options.dir, segmentName(segment)));
    const copied: { key: string; channel: LiveChannel; id: number; target: number }[] = [];
    for (const record of scanSegmentBytes(bytes).records) {
      if (record.type !== RecordType.MESSAGE && record.type !== RecordType.COPY) continue;
      const channel = this.#channels.get(record.channel);
      const packed = channel?.live.get(record.id);
      if (packed === undefined || segmentOf(packed) !== segment) continue;
      this.#append(encodeRecord({ ...record, type: RecordType.COPY, attempt: attemptOf(packed) }));
      copied.push({
        key: record.channel,
        channel: channel!,
        id: record.id,
        target: this.#writer.segment
      });
    }
    await this.#writer.commit();
    for (const { key, channel, id, target } of copied) {
      const packed = channel.live.get(id);
      // Acked, or its channel deleted, while the copies were written: nothing to move.
      if (
        this.#channels.get(key) !== channel ||
        packed === undefined ||
        segmentOf(packed) !== segment
      )
        continue;
      channel.live.set(id, pack(target, attemptOf(packed)));
      const to = this.#segments.get(target)!;
      to.live++;
      to.messages++;
      info.live--;
    }
    if (info.live !== 0) {
      // Live messages its file no longer shows (damaged since start): keep it, and stop there.
      this.#logger.error(
        { segment: segmentName(segment), unreadable: info.live },
        'ringbus: compaction could not copy every live message of a segment; the segment is kept'
      );
      info.kept = true;
    }
    this.#segmentsRewritten++;
  }
}

function liveChannel(settings: ChannelSettings): LiveChannel {
  return { settings, live: new Map(), spill: undefined, lastSegment: 0, lastOffset: 0 };
}

function channelRecord(key: string, settings: ChannelSettings): Uint8Array {
  return encodeRecord({
    type: RecordType.CHANNEL_CREATED,
    channel: key,
    settings: JSON.stringify(settings)
  });
}

/** A payload's kind and bytes as links send them (envelope.ts). */
function encodePayload(
  payload: unknown,
  codec: PayloadCodec | undefined
): { kind: PayloadKindValue; bytes: Uint8Array } {
  if (payload instanceof Uint8Array) return { kind: PayloadKind.BYTES, bytes: payload };
  if (typeof payload === 'string') return { kind: PayloadKind.STRING, bytes: utf8.encode(payload) };
  if (payload === undefined) return { kind: PayloadKind.UNDEFINED, bytes: new Uint8Array(0) };
  const bytes = encodeValue(payload, codec);
  return { kind: codec === undefined ? PayloadKind.JSON : PayloadKind.CODEC, bytes };
}

function decodePayload(
  kind: PayloadKindValue,
  bytes: Uint8Array,
  codec: PayloadCodec | undefined
): unknown {
  switch (kind) {
    case PayloadKind.BYTES:
      return bytes;
    case PayloadKind.STRING:
      return utf8Decoder.decode(bytes);
    case PayloadKind.JSON:
      return parseJson(utf8Decoder.decode(bytes));
    case PayloadKind.CODEC:
      return decodeWith(codec, bytes);
    case PayloadKind.UNDEFINED:
      return undefined;
  }
}
