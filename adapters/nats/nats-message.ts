import type { JsMsg, Msg, MsgHdrs } from 'nats';
import {
  type PayloadCodec,
  decodeWith,
  encodeValue,
  type InboundFrame,
  parseJson
} from '../../src/frames/envelope.js';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { MsgFlag } from '../../src/frames/frame-type.js';
import { NO_HEADERS } from '../../src/message.js';
import type { SubjectCache } from '../../src/frames/subject-cache.js';

/**
 * How a ringbus message crosses NATS (docs/scale-out.md "Mapping"): the topic is the subject, the
 * payload is the message data, user headers are NATS headers, and the bridge's own fields are
 * headers named `Ringbus-…` (reserved), sent only when they differ from the default. A message
 * without `Ringbus-Payload` is bytes, so a plain NATS publisher's messages arrive as `Uint8Array`
 * and a bus's bytes reach plain subscribers without any header at all.
 */

/** Header names the bridge reserves. */
export const Header = {
  /** Links and bridges crossed before NATS (absent: 0). */
  HOPS: 'Ringbus-Hops',
  /** 'string' | 'json' | 'codec' | 'undefined' (absent: bytes). */
  PAYLOAD: 'Ringbus-Payload',
  /** Milliseconds the message had left to live when it entered NATS (absent: no TTL). */
  TTL: 'Ringbus-Ttl',
  /** '1' when a bus published it at QoS 1 (through JetStream, whose reply subject is its ack). */
  QOS: 'Ringbus-Qos',
  /**
   * Set on a QoS 1 export offered to JetStream again: JetStream keeps one copy (Nats-Msg-Id), and
   * core subscribers, which saw the first offer, skip it.
   */
  RETRY: 'Ringbus-Retry'
} as const;

const PREFIX = 'ringbus-';
/** The header JetStream deduplicates by (a repeat within the stream's window is not stored). */
export const MSG_ID_HEADER = 'Nats-Msg-Id';
/** A QoS 1 export carries it; not a user header when a bus sent it. */
const MSG_ID = MSG_ID_HEADER.toLowerCase();

const utf8 = new TextEncoder();
const text = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** An outgoing message as NATS takes it; a session refills one for every message it sends. */
export class NatsOut {
  data: Uint8Array = EMPTY;
  /** Absent when every field is the default: bytes at QoS 0 cross bare. */
  headers: MsgHdrs | undefined = undefined;
}

/**
 * Fills `out` with a message's NATS data and headers.
 *
 * @param newHeaders - makes an empty header set (the lazily loaded client's `headers()`)
 * @throws {@link RingbusError} `ERR_PAYLOAD` for a user header NATS refuses, or a payload the
 *   codec (or JSON) cannot encode
 */
export function writeNatsMessage(
  out: NatsOut,
  payload: unknown,
  user: Readonly<Record<string, string>>,
  hops: number,
  ttlMs: number,
  qos: 0 | 1,
  codec: PayloadCodec | undefined,
  newHeaders: () => MsgHdrs
): void {
  let kind: string | undefined;
  if (payload instanceof Uint8Array) out.data = payload;
  else if (typeof payload === 'string') {
    out.data = utf8.encode(payload);
    kind = 'string';
  } else if (payload === undefined) {
    out.data = EMPTY;
    kind = 'undefined';
  } else {
    out.data = encodeValue(payload, codec);
    kind = codec === undefined ? 'json' : 'codec';
  }
  out.headers = undefined;
  if (user === NO_HEADERS && kind === undefined && hops === 0 && ttlMs === 0 && qos === 0) return;
  const headers = newHeaders();
  try {
    if (user !== NO_HEADERS) for (const k of Object.keys(user)) headers.set(k, user[k]);
  } catch (err) {
    throw new RingbusError(
      ErrorCode.PAYLOAD,
      `a header cannot cross NATS: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err }
    );
  }
  if (kind !== undefined) headers.set(Header.PAYLOAD, kind);
  if (hops > 0) headers.set(Header.HOPS, String(hops));
  if (ttlMs > 0) headers.set(Header.TTL, String(ttlMs));
  if (qos === 1) headers.set(Header.QOS, '1');
  out.headers = headers;
}

/** Is this a repeated offer of a QoS 1 export (for core subscribers: already seen, or at most once)? */
export function isRetry(headers: MsgHdrs | undefined): boolean {
  return headers !== undefined && headers.has(Header.RETRY);
}

/** nats.js's parsed arguments of a MSG, as its `Msg` keeps them (not public API). */
interface RawArgs {
  subject?: Uint8Array;
  reply?: Uint8Array;
  /** Bytes of the header block at the start of the raw data; -1 without one. */
  hdr?: number;
}

function rawArgs(m: Msg): RawArgs | undefined {
  return (m as { _msg?: RawArgs })._msg;
}

/** The core message a nats.js `JsMsg` wraps, whose raw fields are cheaper to read. */
export function coreOf(m: JsMsg): Msg | undefined {
  return (m as { msg?: Msg }).msg;
}

/** A message's reply subject as nats.js received it, undecoded (when it keeps it there). */
export function rawReply(m: Msg): Uint8Array | undefined {
  const reply = rawArgs(m)?.reply;
  return reply instanceof Uint8Array ? reply : undefined;
}

/** The header block of a bus's QoS 1 export of bytes with nothing else to say, up to the id. */
const PLAIN_QOS1 = utf8.encode(`NATS/1.0\r\n${Header.QOS}: 1\r\n${MSG_ID_HEADER}: `);
const CR = 0x0d;
const LF = 0x0a;

/**
 * True when `m`'s header block is exactly what a bus writes on a QoS 1 export of bytes with no
 * user header, hop or TTL (`Ringbus-Qos: 1` and a `Nats-Msg-Id`, in that order), as most of what
 * feeds a channel from JetStream is: such a message reads as QoS 1 bytes with no headers. Looked
 * at in the raw bytes, because nats.js's header parser costs as much as the rest of a delivery.
 * False for any other block (parse it), and when the client keeps no raw bytes where looked.
 */
export function isPlainQos1(m: Msg): boolean {
  const hdr = rawArgs(m)?.hdr;
  const data = (m as { _rdata?: Uint8Array })._rdata;
  const head = PLAIN_QOS1;
  if (typeof hdr !== 'number' || !(data instanceof Uint8Array) || hdr > data.length) return false;
  const end = hdr - 4; // the block ends with the id's line end and an empty line
  if (end <= head.length || data[end] !== CR || data[end + 1] !== LF) return false;
  if (data[end + 2] !== CR || data[end + 3] !== LF) return false;
  for (let i = 0; i < head.length; i++) if (data[i] !== head[i]) return false;
  for (let i = head.length; i < end; i++) if (data[i] === CR || data[i] === LF) return false;
  return true;
}

/**
 * A message's subject. nats.js decodes it with a TextDecoder call per message; a stream mostly
 * repeats its subjects, so the raw bytes are looked up in `cache` first (the public getter if that
 * field is not there, as in another client version).
 *
 * @throws {@link RingbusError} `ERR_PROTOCOL` for a subject that is not UTF-8
 */
export function subjectOf(m: Msg, cache: SubjectCache): string {
  const raw = rawArgs(m)?.subject;
  return raw instanceof Uint8Array ? cache.read(raw, 0, raw.length) : m.subject;
}

/**
 * A message's reply subject, if any. nats.js decodes it on every read, even when there is none,
 * as for most messages: its raw field is looked at first (the public getter if that field is
 * not there, as in another client version).
 */
export function replyOf(m: Msg): string | undefined {
  const raw = rawArgs(m);
  if (raw !== undefined && 'reply' in raw && (raw.reply === undefined || raw.reply.length === 0))
    return undefined;
  const reply = m.reply;
  return reply === '' ? undefined : reply;
}

/**
 * Fills `into` from a NATS message, as the frame decoder does from a MSG frame.
 *
 * @throws {@link RingbusError} `ERR_PROTOCOL` for a payload that does not decode
 */
export function readNatsMessage(
  into: InboundFrame,
  subject: string,
  data: Uint8Array,
  headers: MsgHdrs | undefined,
  reply: string | undefined,
  codec: PayloadCodec | undefined
): void {
  into.topic = subject;
  into.replyTo = reply === undefined || reply === '' ? undefined : reply;
  into.flags = 0;
  into.hops = 0;
  into.ttlMs = 0;
  into.headers = NO_HEADERS;
  // Kept apart so that this common path stays small enough to inline.
  const kind = headers === undefined ? undefined : readHeaders(into, headers);
  into.payload = kind === undefined ? asPlainBytes(data) : decodePayload(data, kind, codec);
}

/** The bridge's own headers into `into`, the rest as user headers; returns the payload kind. */
function readHeaders(into: InboundFrame, headers: MsgHdrs): string | undefined {
  const fromBus = headers.has(Header.QOS);
  let user: Record<string, string> | undefined;
  for (const [name, values] of headers) {
    const lower = name.toLowerCase();
    if (lower.startsWith(PREFIX)) continue;
    if (fromBus && lower === MSG_ID) continue;
    (user ??= {})[name] = values[values.length - 1];
  }
  if (user !== undefined) into.headers = user;
  into.hops = headerInt(headers, Header.HOPS);
  into.ttlMs = headerInt(headers, Header.TTL);
  if (fromBus) {
    into.flags = MsgFlag.QOS1;
    into.replyTo = undefined; // JetStream's acknowledgement inbox, not a request's
  }
  return headers.has(Header.PAYLOAD) ? headers.get(Header.PAYLOAD) : undefined;
}

function decodePayload(data: Uint8Array, kind: string, codec: PayloadCodec | undefined): unknown {
  if (kind === 'string') return text.decode(data);
  if (kind === 'json') return parseJson(text.decode(data));
  if (kind === 'codec') return decodeWith(codec, data);
  if (kind === 'undefined') return undefined;
  return asPlainBytes(data); // a kind from a newer bus
}

/** Bytes as a plain Uint8Array view (nats.js hands out Buffers), as every link delivers them. */
function asPlainBytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function headerInt(headers: MsgHdrs, name: string): number {
  if (!headers.has(name)) return 0;
  const n = Number(headers.get(name));
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
