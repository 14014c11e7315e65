import { readdirSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { safeParse } from '../../src/safe-parse.js';
import type { ChannelSettings, RecoveryStats, StoreDamage } from '../../src/store.js';
import { type MessageRecord, RecordType, type StoreRecord } from './record.js';
import { scanSegment } from './scan.js';
import { segmentName, segmentNumber } from './segment.js';

/** A live message found by the replay: its last record and where that record is. */
export interface LiveEntry {
  record: MessageRecord;
  attempt: number;
  segment: number;
}

/** A durable channel as the replay left it. */
export interface ReplayedChannel {
  readonly settings: ChannelSettings;
  /** Unacked messages by id. */
  readonly live: Map<number, LiveEntry>;
}

/** A segment file that stays after recovery. */
export interface SegmentInfo {
  /** Its MESSAGE records still live, and all of its MESSAGE records. */
  live: number;
  messages: number;
  bytes: number;
  /** Recovery stopped inside it: compaction renames it to `.damaged` instead of deleting it. */
  damaged: boolean;
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

/**
 * Replays every segment of `dir` in order: a MESSAGE record (re)places its message with the
 * record's attempt (compaction copies a live message forward with its current attempt), NACK adds
 * one attempt, ACK forgets it, CHANNEL_CREATED creates a channel unless it exists (every segment
 * starts with one per live channel), CHANNEL_DELETED drops it and its messages.
 *
 * A torn last record of the newest segment is cut off (a crash mid-write); a torn or damaged
 * record anywhere else stops that segment's replay there and is reported in `damaged`.
 */
export function replayDirectory(dir: string): Replay {
  const numbers = readdirSync(dir)
    .map(segmentNumber)
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
  const channels = new Map<string, ReplayedChannel>();
  const segments = new Map<number, SegmentInfo>();
  const damaged: StoreDamage[] = [];
  let lastId = 0;
  let records = 0;
  let truncatedBytes = 0;
  for (const [i, n] of numbers.entries()) {
    const path = join(dir, segmentName(n));
    const scan = scanSegment(path);
    const problem = scan.problem;
    const info: SegmentInfo = { live: 0, messages: 0, bytes: 0, damaged: false };
    if (problem?.kind === 'torn-tail' && i === numbers.length - 1) {
      const size = statSync(path).size;
      truncatedBytes += size - scan.validBytes;
      if (scan.validBytes === 0) {
        unlinkSync(path); // created, never written: nothing in it counted as durable
        continue;
      }
      truncateSync(path, scan.validBytes);
    } else if (problem !== undefined) {
      info.damaged = true;
      damaged.push({
        segment: segmentName(n),
        offset: problem.kind === 'bad-header' ? 0 : problem.offset,
        reason:
          problem.kind === 'torn-tail' ? 'incomplete record in an older segment' : problem.reason
      });
    }
    info.bytes = statSync(path).size;
    segments.set(n, info);
    lastId = Math.max(lastId, scan.idFloor);
    records += scan.records.length;
    for (const record of scan.records) {
      if (record.type === RecordType.MESSAGE) lastId = Math.max(lastId, record.id);
      apply(record, n, channels, segments, damaged);
    }
  }
  for (const channel of channels.values())
    for (const entry of channel.live.values()) segments.get(entry.segment)!.live++;
  return {
    channels,
    segments,
    lastId,
    nextSegment: (numbers.at(-1) ?? 0) + 1,
    stats: { segments: numbers.length, records, truncatedBytes, damaged }
  };
}

function apply(
  record: StoreRecord,
  segment: number,
  channels: Map<string, ReplayedChannel>,
  segments: Map<number, SegmentInfo>,
  damaged: StoreDamage[]
): void {
  const channel = channels.get(record.channel);
  switch (record.type) {
    case RecordType.MESSAGE:
      segments.get(segment)!.messages++;
      channel?.live.set(record.id, { record, attempt: record.attempt, segment });
      break;
    case RecordType.NACK: {
      const entry = channel?.live.get(record.id);
      if (entry !== undefined) entry.attempt++;
      break;
    }
    case RecordType.ACK:
      channel?.live.delete(record.id);
      break;
    case RecordType.CHANNEL_CREATED:
      if (channel === undefined) {
        const settings = parseSettings(record.settings);
        if (settings !== undefined) channels.set(record.channel, { settings, live: new Map() });
        else
          damaged.push({
            segment: segmentName(segment),
            offset: 0,
            reason: `unreadable settings of channel '${record.channel}'`
          });
      }
      break;
    case RecordType.CHANNEL_DELETED:
      channels.delete(record.channel);
      break;
  }
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
