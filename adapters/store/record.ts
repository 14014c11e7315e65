import { crc32 } from 'node:zlib';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { BodyReader } from '../../src/frames/body-reader.js';
import { PayloadKind } from '../../src/frames/frame-type.js';
import { NO_HEADERS } from '../../src/message.js';

/**
 * One write-ahead-log record; segment.ts describes the file around it:
 *
 * ```
 * offset 0   u32 LE  length: bytes after the CRC (type byte + body), at least 1
 * offset 4   u32 LE  the length's bitwise complement: a damaged length reads as corruption,
 *                    never as a torn last record
 * offset 8   u32 LE  CRC32 (zlib.crc32, IEEE) of those `length` bytes
 * offset 12  u8      record type (RecordType)
 * offset 13  …       body, `length - 1` bytes: unsigned LEB128 integers and length-prefixed
 *                    UTF-8 strings as in docs/protocol.md §2.1
 * ```
 *
 * Bodies (docs/durability.md has the same table):
 * - MESSAGE: channel, id, attempt, publishedAt (epoch ms), expiresAt (epoch ms, 0 = never),
 *   topic, header count, (name, value)…, payload kind byte, payload bytes to the end
 * - COPY: as MESSAGE; compaction's copy of a live message (it supersedes earlier records of that
 *   id, and sits out of id order)
 * - ACK, NACK: channel, id
 * - CHANNEL_CREATED: channel, settings (a JSON object: pattern, name and the queue options)
 * - CHANNEL_DELETED: channel
 * - EMPTIED: channel, first id, last id: the channel's spilled messages in that range were
 *   dropped (`empty()`)
 */
export const RecordType = {
  MESSAGE: 1,
  ACK: 2,
  NACK: 3,
  CHANNEL_CREATED: 4,
  CHANNEL_DELETED: 5,
  COPY: 6,
  EMPTIED: 7
} as const;

/** One of the values of {@link RecordType}. */
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** One of the values of PayloadKind (docs/protocol.md): how the payload bytes are to be read. */
export type PayloadKindValue = (typeof PayloadKind)[keyof typeof PayloadKind];

/** Bytes before the type byte: the length, its complement and the CRC. */
export const RECORD_PREFIX_BYTES = 12;
/**
 * Largest `length` field accepted (256 MiB): encoding refuses more, and the scanner reads a larger
 * value as a corrupt length rather than trying to allocate it.
 */
export const MAX_RECORD_BYTES = 1 << 28;

/** A message held by a durable channel, as of one delivery attempt. */
export interface MessageRecord {
  readonly type: typeof RecordType.MESSAGE | typeof RecordType.COPY;
  /** The durable channel's key. */
  readonly channel: string;
  /** The message id, an integer in [0, 2^53 − 1]. */
  readonly id: number;
  /** The delivery attempt, an integer in [0, 2^53 − 1]. */
  readonly attempt: number;
  /** Epoch ms of the publish. */
  readonly publishedAt: number;
  /** Epoch ms after which it is dropped at dequeue; 0 = never. */
  readonly expiresAt: number;
  readonly topic: string;
  /** String headers; `{}` when none. */
  readonly headers: Readonly<Record<string, string>>;
  readonly payloadKind: PayloadKindValue;
  /** The payload's bytes as `payloadKind` says; empty for UNDEFINED. */
  readonly payload: Uint8Array;
}

/** A message gone from a channel (ACK: acked, dead-lettered or dropped) or requeued (NACK: attempt + 1). */
export interface SettleRecord {
  readonly type: typeof RecordType.ACK | typeof RecordType.NACK;
  readonly channel: string;
  readonly id: number;
}

/** A durable channel created, with what it takes to create it again. */
export interface ChannelCreatedRecord {
  readonly type: typeof RecordType.CHANNEL_CREATED;
  readonly channel: string;
  /** JSON: the channel's pattern, name and queue options. */
  readonly settings: string;
}

/** A durable channel deleted: its messages are gone with it. */
export interface ChannelDeletedRecord {
  readonly type: typeof RecordType.CHANNEL_DELETED;
  readonly channel: string;
}

/** A spilled range of a channel emptied: its MESSAGE records with ids in [from, to] are gone. */
export interface EmptiedRecord {
  readonly type: typeof RecordType.EMPTIED;
  readonly channel: string;
  readonly from: number;
  readonly to: number;
}

/** Any record of the log. */
export type StoreRecord =
  MessageRecord | SettleRecord | ChannelCreatedRecord | ChannelDeletedRecord | EmptiedRecord;

const utf8 = new TextEncoder();

/** Sizes the record, then fills one array: a length-prefixed, checksummed record. */
class RecordWriter {
  readonly bytes: Uint8Array;
  private pos = RECORD_PREFIX_BYTES;

  constructor(bodyBytes: number) {
    this.bytes = new Uint8Array(RECORD_PREFIX_BYTES + 1 + bodyBytes);
  }

  u8(value: number): void {
    this.bytes[this.pos++] = value;
  }

  /** Unsigned LEB128, shortest form (what BodyReader.uint accepts). */
  uint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.bytes[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.pos++] = v;
  }

  str(bytes: Uint8Array): void {
    this.uint(bytes.length);
    this.raw(bytes);
  }

  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Writes the length and the CRC; returns the whole record. */
  finish(): Uint8Array {
    const b = this.bytes;
    if (this.pos !== b.length) throw new Error(`record sized ${b.length}, written ${this.pos}`);
    const length = b.length - RECORD_PREFIX_BYTES;
    setU32(b, 0, length);
    setU32(b, 4, ~length >>> 0);
    setU32(b, 8, crc32(b.subarray(RECORD_PREFIX_BYTES)));
    return b;
  }
}

/** Little-endian u32 without a DataView per record. */
function setU32(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff;
  b[at + 1] = (value >>> 8) & 0xff;
  b[at + 2] = (value >>> 16) & 0xff;
  b[at + 3] = value >>> 24;
}

/**
 * UTF-8 bytes of channel keys and topics, which repeat from record to record: encoding them each
 * time was a third of a record's cost. Bounded: cleared when full.
 */
class NameBytes {
  private readonly cache = new Map<string, Uint8Array>();

  bytes(name: string): Uint8Array {
    let bytes = this.cache.get(name);
    if (bytes === undefined) {
      if (this.cache.size >= 4096) this.cache.clear();
      bytes = utf8.encode(name);
      this.cache.set(name, bytes);
    }
    return bytes;
  }
}

const names = new NameBytes();
const NO_HEADER_BYTES: Uint8Array[][] = [];

function uintBytes(value: number): number {
  let n = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

function checkUint(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RingbusError(
      ErrorCode.INVALID_OPTIONS,
      `${field} must be an integer in [0, 2^53 - 1] (got ${value})`
    );
  }
}

function checkPayloadKind(kind: number): void {
  if (!Number.isInteger(kind) || kind < PayloadKind.BYTES || kind > PayloadKind.UNDEFINED) {
    throw new RingbusError(ErrorCode.INVALID_OPTIONS, `payloadKind ${kind} is not a PayloadKind`);
  }
}

/**
 * Encodes one record: length, CRC32, type, body.
 *
 * @returns a new array holding the whole record
 * @throws RingbusError `ERR_INVALID_OPTIONS` if an id, attempt or payload kind is out of range;
 *   `ERR_PAYLOAD` if the record would exceed {@link MAX_RECORD_BYTES}
 */
export function encodeRecord(record: StoreRecord): Uint8Array {
  const channel = names.bytes(record.channel);
  let w: RecordWriter;
  switch (record.type) {
    case RecordType.MESSAGE:
    case RecordType.COPY: {
      checkUint(record.id, 'id');
      checkUint(record.attempt, 'attempt');
      checkUint(record.publishedAt, 'publishedAt');
      checkUint(record.expiresAt, 'expiresAt');
      checkPayloadKind(record.payloadKind);
      if (record.payloadKind === PayloadKind.UNDEFINED && record.payload.length > 0) {
        throw new RingbusError(ErrorCode.INVALID_OPTIONS, 'an UNDEFINED payload must be empty');
      }
      const topic = names.bytes(record.topic);
      const headers =
        record.headers === NO_HEADERS
          ? NO_HEADER_BYTES
          : Object.entries(record.headers).map(([k, v]) => [utf8.encode(k), utf8.encode(v)]);
      let size =
        uintBytes(channel.length) +
        channel.length +
        uintBytes(record.id) +
        uintBytes(record.attempt) +
        uintBytes(record.publishedAt) +
        uintBytes(record.expiresAt) +
        uintBytes(topic.length) +
        topic.length +
        uintBytes(headers.length) +
        1 +
        record.payload.length;
      for (const [k, v] of headers)
        size += uintBytes(k.length) + k.length + uintBytes(v.length) + v.length;
      w = writer(size);
      w.str(channel);
      w.uint(record.id);
      w.uint(record.attempt);
      w.uint(record.publishedAt);
      w.uint(record.expiresAt);
      w.str(topic);
      w.uint(headers.length);
      for (const [k, v] of headers) {
        w.str(k);
        w.str(v);
      }
      w.u8(record.payloadKind);
      w.raw(record.payload);
      break;
    }
    case RecordType.ACK:
    case RecordType.NACK:
      checkUint(record.id, 'id');
      w = writer(uintBytes(channel.length) + channel.length + uintBytes(record.id));
      w.str(channel);
      w.uint(record.id);
      break;
    case RecordType.CHANNEL_CREATED: {
      const settings = utf8.encode(record.settings);
      w = writer(
        uintBytes(channel.length) + channel.length + uintBytes(settings.length) + settings.length
      );
      w.str(channel);
      w.str(settings);
      break;
    }
    case RecordType.CHANNEL_DELETED:
      w = writer(uintBytes(channel.length) + channel.length);
      w.str(channel);
      break;
    case RecordType.EMPTIED:
      checkUint(record.from, 'from');
      checkUint(record.to, 'to');
      w = writer(
        uintBytes(channel.length) + channel.length + uintBytes(record.from) + uintBytes(record.to)
      );
      w.str(channel);
      w.uint(record.from);
      w.uint(record.to);
      break;
  }
  // The type byte precedes the body; writer() reserved it.
  w.bytes[RECORD_PREFIX_BYTES] = record.type;
  return w.finish();
}

function writer(bodyBytes: number): RecordWriter {
  if (1 + bodyBytes > MAX_RECORD_BYTES) {
    throw new RingbusError(
      ErrorCode.PAYLOAD,
      `a store record of ${1 + bodyBytes} bytes exceeds the limit of ${MAX_RECORD_BYTES}`
    );
  }
  const w = new RecordWriter(bodyBytes);
  w.u8(0); // the type byte, set by encodeRecord
  return w;
}

const reader = new BodyReader();

/** Lets go of the bytes the decoder read last (a whole segment during recovery). */
export function releaseDecodedBytes(): void {
  reader.reset(new Uint8Array(0));
}

/**
 * Decodes the type byte and body of one record, `bytes[start, end)` (what follows the CRC; the
 * caller has checked the length and the CRC). Payload bytes are copied out of `bytes`.
 *
 * @throws RingbusError `ERR_PROTOCOL` on an unknown type, a truncated or overlong field, invalid
 *   UTF-8, an unknown payload kind or trailing bytes
 */
export function decodeRecordBody(bytes: Uint8Array, start = 0, end = bytes.length): StoreRecord {
  const r = reader;
  r.reset(bytes, start, end);
  const type = r.u8();
  switch (type) {
    case RecordType.MESSAGE:
    case RecordType.COPY: {
      const channel = r.str();
      const id = r.uint();
      const attempt = r.uint();
      const publishedAt = r.uint();
      const expiresAt = r.uint();
      const topic = r.str();
      const count = r.uint();
      // Each header takes at least two bytes: a count beyond that is malformed, not a huge loop.
      if (count * 2 > r.remaining) throw malformed(`header count ${count} exceeds the record`);
      // Most messages have none: one shared frozen object, not one per record.
      const headers: Record<string, string> = count === 0 ? NO_HEADERS : {};
      for (let i = 0; i < count; i++) {
        const name = r.str();
        if (Object.hasOwn(headers, name)) throw malformed(`duplicate header '${name}'`);
        // defineProperty, not assignment: a header named '__proto__' must stay a header.
        Object.defineProperty(headers, name, {
          value: r.str(),
          enumerable: true,
          writable: true,
          configurable: true
        });
      }
      const payloadKind = r.u8();
      if (payloadKind > PayloadKind.UNDEFINED)
        throw malformed(`unknown payload kind ${payloadKind}`);
      // A copy, as a plain Uint8Array: scanned bytes may be a Buffer, whose slice() is a view.
      const payload = new Uint8Array(r.rest());
      if (payloadKind === PayloadKind.UNDEFINED && payload.length > 0) {
        throw malformed('an UNDEFINED payload carries bytes');
      }
      return {
        type,
        channel,
        id,
        attempt,
        publishedAt,
        expiresAt,
        topic,
        headers,
        payloadKind: payloadKind as PayloadKindValue,
        payload
      };
    }
    case RecordType.ACK:
    case RecordType.NACK: {
      const channel = r.str();
      const id = r.uint();
      r.done('a settle record');
      return { type, channel, id };
    }
    case RecordType.CHANNEL_CREATED: {
      const channel = r.str();
      const settings = r.str();
      r.done('a channel record');
      return { type, channel, settings };
    }
    case RecordType.CHANNEL_DELETED: {
      const channel = r.str();
      r.done('a channel record');
      return { type, channel };
    }
    case RecordType.EMPTIED: {
      const channel = r.str();
      const from = r.uint();
      const to = r.uint();
      r.done('an emptied record');
      return { type, channel, from, to };
    }
    default:
      throw malformed(`unknown record type ${type}`);
  }
}

/** The fields every record starts with: what recovery's first pass reads of each. */
export interface RecordKey {
  type: number;
  channel: string;
  /** The message id (MESSAGE, COPY, ACK, NACK; EMPTIED: its first id); 0 for channel records. */
  id: number;
}

/**
 * Reads the type, channel and (for message and settle records) id of the record body
 * `bytes[start, end)` into `into`, leaving the rest undecoded.
 *
 * @throws RingbusError `ERR_PROTOCOL` on an unknown type or a truncated field
 */
export function readRecordKey(
  bytes: Uint8Array,
  start: number,
  end: number,
  into: RecordKey
): void {
  const r = reader;
  r.reset(bytes, start, end);
  const type = r.u8();
  if (type < RecordType.MESSAGE || type > RecordType.EMPTIED)
    throw malformed(`unknown record type ${type}`);
  into.type = type;
  into.channel = r.str();
  into.id =
    type === RecordType.CHANNEL_CREATED || type === RecordType.CHANNEL_DELETED ? 0 : r.uint();
}

/**
 * Decodes one whole record (length, CRC, type, body) that fills `bytes` exactly.
 *
 * @throws RingbusError `ERR_PROTOCOL` if the length does not match, the CRC fails or the body is
 *   malformed
 */
export function decodeRecord(bytes: Uint8Array): StoreRecord {
  if (bytes.length < RECORD_PREFIX_BYTES + 1) throw malformed('a record shorter than 13 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true);
  if (!lengthChecks(view, 0)) throw malformed('record length and its complement disagree');
  if (length !== bytes.length - RECORD_PREFIX_BYTES) {
    throw malformed(
      `record length ${length} does not match its ${bytes.length - RECORD_PREFIX_BYTES} bytes`
    );
  }
  const body = bytes.subarray(RECORD_PREFIX_BYTES);
  if (crc32(body) !== view.getUint32(8, true)) throw malformed('record checksum mismatch');
  return decodeRecordBody(body);
}

/** Does the length at `offset` agree with its complement? */
export function lengthChecks(view: DataView, offset: number): boolean {
  return (view.getUint32(offset, true) ^ view.getUint32(offset + 4, true)) >>> 0 === 0xffff_ffff;
}

/** The CRC32 stored in the record at `offset`. */
export function storedCrc(view: DataView, offset: number): number {
  return view.getUint32(offset + 8, true);
}

function malformed(message: string): RingbusError {
  return new RingbusError(ErrorCode.PROTOCOL, `store record: ${message}`);
}
