import { readFileSync, readdirSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { safeParse } from '../../src/safe-parse.js';
import type { ChannelSettings, RecoveryStats, StoreDamage } from '../../src/store.js';
import {
  type MessageRecord,
  type RecordKey,
  RecordType,
  decodeRecordBody,
  readRecordKey,
  releaseDecodedBytes
} from './record.js';
import { type ScanProblem, walkRange, walkRecords } from './scan.js';
import { SEGMENT_HEADER_BYTES, segmentName, segmentNumber } from './segment.js';
import { SpillState, position } from './spill.js';

/** A live message recovery puts in memory: its last record, where that is, and its attempt. */
export interface WindowEntry {
  readonly record: MessageRecord;
  readonly attempt: number;
  readonly segment: number;
}

/** A durable channel as the replay left it. */
export interface ReplayedChannel {
  readonly settings: ChannelSettings;
  /** The live messages recovery loaded, in id order: at most `queueSize`, plus compaction copies. */
  readonly window: WindowEntry[];
  /** The live messages left on disk, if any. */
  readonly spill: SpillState | undefined;
}

/** A segment file that stays after recovery. */
export interface SegmentInfo {
  /** Its live MESSAGE and COPY records (in memory or spilled), and all of them. */
  live: number;
  messages: number;
  bytes: number;
  /** Recovery stopped inside it: compaction renames it to `.damaged` instead of deleting it. */
  damaged: boolean;
  /** Compaction could not copy all of its live messages: it stays until they are gone. */
  kept?: boolean;
}

/** What {@link replayDirectory} rebuilt. */
export interface Replay {
  readonly channels: Map<string, ReplayedChannel>;
  readonly segments: Map<number, SegmentInfo>;
  readonly lastId: number;
  /** The number the next segment takes. */
  readonly nextSegment: number;
  readonly stats: Omit<RecoveryStats, 'ms' | 'channels' | 'messages'>;
}

/** What the first pass learns of a channel: everything but its messages. */
class ChannelFacts {
  readonly settings: ChannelSettings;
  /** Position of the CHANNEL_CREATED that began this incarnation: older messages are not its own. */
  readonly since: number;
  readonly acked = new Set<number>();
  /** NACKs per id since its last MESSAGE or COPY record. */
  readonly nacks = new Map<number, number>();
  /** Position of the last COPY record per id: it supersedes every earlier record of that id. */
  readonly copies = new Map<number, number>();
  /** Id ranges of spilled messages `empty()` dropped. */
  readonly emptied: [from: number, to: number][] = [];
  readonly window: WindowEntry[] = [];
  /** MESSAGE records loaded so far (copies come on top). */
  loaded = 0;
  spill: SpillState | undefined = undefined;

  constructor(settings: ChannelSettings, since: number) {
    this.settings = settings;
    this.since = since;
  }
}

/**
 * Replays every segment of `dir` in two passes, holding only what memory must: the first reads
 * each record's type, channel and id (which messages are acked, nacked, copied; which channels
 * exist); the second loads, per channel, the live messages up to `queueSize` and leaves the rest
 * on disk behind a {@link SpillState}, so a backlog of millions does not become millions of
 * objects.
 *
 * A torn last record of the newest segment is cut off (a crash mid-write); a torn or damaged
 * record anywhere else stops that segment's replay there and is reported in `damaged`.
 */
export function replayDirectory(dir: string): Replay {
  const numbers = readdirSync(dir)
    .map(segmentNumber)
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
  const channels = new Map<string, ChannelFacts>();
  const segments = new Map<number, SegmentInfo>();
  const valid = new Map<number, number>();
  const damaged: StoreDamage[] = [];
  const key: RecordKey = { type: 0, channel: '', id: 0 };
  let lastId = 0;
  let records = 0;
  let truncatedBytes = 0;

  // Pass 1: facts.
  for (const [i, n] of numbers.entries()) {
    const path = join(dir, segmentName(n));
    const bytes = readFileSync(path);
    const walk = walkRecords(bytes, (b, start, end, offset) => {
      readRecordKey(b, start, end, key);
      records++;
      const ch = channels.get(key.channel);
      switch (key.type) {
        case RecordType.CHANNEL_CREATED:
          if (ch === undefined) {
            const record = decodeRecordBody(b, start, end);
            const settings =
              record.type === RecordType.CHANNEL_CREATED
                ? parseSettings(record.settings)
                : undefined;
            if (settings === undefined)
              report(damaged, n, offset, `unreadable settings of '${key.channel}'`);
            else channels.set(key.channel, new ChannelFacts(settings, position(n, offset)));
          }
          break;
        case RecordType.CHANNEL_DELETED:
          channels.delete(key.channel);
          break;
        case RecordType.MESSAGE:
          lastId = Math.max(lastId, key.id);
          break;
        case RecordType.COPY:
          ch?.copies.set(key.id, position(n, offset));
          ch?.nacks.delete(key.id);
          break;
        case RecordType.ACK:
          ch?.acked.add(key.id);
          break;
        case RecordType.NACK:
          ch?.nacks.set(key.id, (ch.nacks.get(key.id) ?? 0) + 1);
          break;
        case RecordType.EMPTIED: {
          const record = decodeRecordBody(b, start, end);
          if (ch !== undefined && record.type === RecordType.EMPTIED)
            ch.emptied.push([record.from, record.to]);
          break;
        }
      }
    });
    lastId = Math.max(lastId, walk.idFloor);
    const info: SegmentInfo = { live: 0, messages: 0, bytes: bytes.length, damaged: false };
    const problem = walk.problem;
    if (problem?.kind === 'torn-tail' && i === numbers.length - 1) {
      truncatedBytes += bytes.length - walk.validBytes;
      if (walk.validBytes === 0) {
        unlinkSync(path); // created, never written: nothing in it counted as durable
        continue;
      }
      if (walk.validBytes < bytes.length) truncateSync(path, walk.validBytes);
      info.bytes = walk.validBytes;
    } else if (problem !== undefined) {
      info.damaged = true;
      report(damaged, n, problem.kind === 'bad-header' ? 0 : problem.offset, reasonOf(problem));
    }
    segments.set(n, info);
    valid.set(n, walk.validBytes);
  }

  // Pass 2: live messages, in log order.
  for (const [n, info] of segments) {
    const end = valid.get(n)!;
    if (end <= SEGMENT_HEADER_BYTES) continue;
    const bytes = readFileSync(join(dir, segmentName(n)));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    walkRange(
      bytes,
      view,
      SEGMENT_HEADER_BYTES,
      end,
      (b, start, stop, offset) => {
        readRecordKey(b, start, stop, key);
        if (key.type !== RecordType.MESSAGE && key.type !== RecordType.COPY) return;
        info.messages++;
        const ch = channels.get(key.channel);
        const at = position(n, offset);
        if (ch === undefined || at < ch.since || ch.acked.has(key.id) || isEmptied(ch, key.id))
          return;
        const copiedAt = ch.copies.get(key.id);
        if (copiedAt !== undefined && copiedAt !== at) return; // a later copy supersedes it
        info.live++;
        const isCopy = key.type === RecordType.COPY;
        if (isCopy || (ch.spill === undefined && ch.loaded < ch.settings.queueSize)) {
          const record = decodeRecordBody(b, start, stop) as MessageRecord;
          const attempt = record.attempt + (ch.nacks.get(key.id) ?? 0);
          ch.window.push({ record, attempt, segment: n });
          if (!isCopy) ch.loaded++;
        } else {
          ch.spill ??= new SpillState(n, offset, lastLoadedOf(ch));
          ch.spill.add(n, key.id);
        }
      },
      true // pass 1 checked every CRC up to `end`
    );
  }

  releaseDecodedBytes();
  const replayed = new Map<string, ReplayedChannel>();
  for (const [name, ch] of channels) {
    ch.window.sort((a, b) => a.record.id - b.record.id);
    ch.spill?.keepHistory(ch.acked, ch.nacks);
    replayed.set(name, { settings: ch.settings, window: ch.window, spill: ch.spill });
  }
  return {
    channels: replayed,
    segments,
    lastId,
    nextSegment: (numbers.at(-1) ?? 0) + 1,
    stats: { segments: numbers.length, records, truncatedBytes, damaged }
  };
}

function isEmptied(ch: ChannelFacts, id: number): boolean {
  for (const [from, to] of ch.emptied) if (id >= from && id <= to) return true;
  return false;
}

/** The highest id among the MESSAGE records loaded so far (records are in id order). */
function lastLoadedOf(ch: ChannelFacts): number {
  let last = 0;
  for (const e of ch.window)
    if (e.record.type === RecordType.MESSAGE) last = Math.max(last, e.record.id);
  return last;
}

function report(damaged: StoreDamage[], segment: number, offset: number, reason: string): void {
  damaged.push({ segment: segmentName(segment), offset, reason });
}

function reasonOf(problem: ScanProblem): string {
  return problem.kind === 'torn-tail' ? 'incomplete record in an older segment' : problem.reason;
}

const settingsSchema = z.object({
  pattern: z.string(),
  name: z.string(),
  queueSize: z.int(),
  overflow: z.enum(['drop-oldest', 'drop-newest', 'block']),
  ackTimeoutMs: z.int(),
  maxAttempts: z.int()
});

/**
 * The settings JSON of a CHANNEL_CREATED record, or undefined when it is not one (the bus still
 * validates the values when it creates the channel).
 */
function parseSettings(json: string): ChannelSettings | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const result = safeParse(settingsSchema, value);
  return result.success ? result.data : undefined;
}
