import type { MsgHdrs } from 'nats';
import {
  type PayloadCodec,
  decodeWith,
  encodeValue,
  type InboundFrame,
  parseJson
} from '../../src/frames/envelope.js';
import { MsgFlag } from '../../src/frames/frame-type.js';
import { NO_HEADERS } from '../../src/message.js';

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
/** Set by JetStream publishes (dedupe); not a user header when a bus sent it. */
const MSG_ID = 'nats-msg-id';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** A payload as NATS message data, and the kind to announce (undefined: bytes). */
export function encodePayload(
  payload: unknown,
  codec: PayloadCodec | undefined
): { data: Uint8Array; kind: string | undefined } {
  if (payload instanceof Uint8Array) return { data: payload, kind: undefined };
  if (typeof payload === 'string') return { data: utf8.encode(payload), kind: 'string' };
  if (payload === undefined) return { data: EMPTY, kind: 'undefined' };
  return { data: encodeValue(payload, codec), kind: codec === undefined ? 'json' : 'codec' };
}

/** Is this a repeated offer of a QoS 1 export (for core subscribers: already seen, or at most once)? */
export function isRetry(headers: MsgHdrs | undefined): boolean {
  return headers !== undefined && headers.has(Header.RETRY);
}

/** Does a message need NATS headers at all? Bytes at QoS 0 with nothing else need none. */
export function needsHeaders(
  user: Readonly<Record<string, string>>,
  kind: string | undefined,
  hops: number,
  ttlMs: number,
  qos: 0 | 1
): boolean {
  return user !== NO_HEADERS || kind !== undefined || hops > 0 || ttlMs > 0 || qos === 1;
}

/** The NATS headers of an outgoing message. @throws when a user header is not a valid NATS one */
export function writeHeaders(
  into: MsgHdrs,
  user: Readonly<Record<string, string>>,
  kind: string | undefined,
  hops: number,
  ttlMs: number,
  qos: 0 | 1
): void {
  if (user !== NO_HEADERS) for (const k of Object.keys(user)) into.set(k, user[k]);
  if (kind !== undefined) into.set(Header.PAYLOAD, kind);
  if (hops > 0) into.set(Header.HOPS, String(hops));
  if (ttlMs > 0) into.set(Header.TTL, String(ttlMs));
  if (qos === 1) into.set(Header.QOS, '1');
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
  let kind: string | undefined;
  if (headers !== undefined) {
    const fromBus = headers.has(Header.QOS);
    let user: Record<string, string> | undefined;
    for (const [name, values] of headers) {
      const lower = name.toLowerCase();
      if (lower.startsWith(PREFIX)) continue;
      if (fromBus && lower === MSG_ID) continue;
      (user ??= {})[name] = values[values.length - 1];
    }
    if (user !== undefined) into.headers = user;
    kind = headers.has(Header.PAYLOAD) ? headers.get(Header.PAYLOAD) : undefined;
    into.hops = headerInt(headers, Header.HOPS);
    into.ttlMs = headerInt(headers, Header.TTL);
    if (fromBus) {
      into.flags = MsgFlag.QOS1;
      into.replyTo = undefined; // JetStream's acknowledgement inbox, not a request's
    }
  }
  into.payload = decodePayload(data, kind, codec);
}

function decodePayload(
  data: Uint8Array,
  kind: string | undefined,
  codec: PayloadCodec | undefined
): unknown {
  if (kind === 'string') return text.decode(data);
  if (kind === 'json') return parseJson(text.decode(data));
  if (kind === 'codec') return decodeWith(codec, data);
  if (kind === 'undefined') return undefined;
  // Bytes (or a kind from a newer bus): a plain Uint8Array view, as every link delivers.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function headerInt(headers: MsgHdrs, name: string): number {
  if (!headers.has(name)) return 0;
  const n = Number(headers.get(name));
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
