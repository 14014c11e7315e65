import { ErrorCode, RingbusError } from '../errors.js';
import { NO_HEADERS } from '../message.js';
import type { BodyReader } from './body-reader.js';
import { type FrameEncoder, MAX_UINT_BYTES, writeUint } from './frame-encoder.js';
import { FrameType, MsgFlag, PayloadKind } from './frame-type.js';

/**
 * Turns payloads that are neither bytes nor strings into bytes and back (for example msgpack).
 * Without one, such payloads travel as JSON.
 */
export interface PayloadCodec {
  /** Turns a payload into bytes; may throw for values it cannot encode. */
  encode(value: unknown): Uint8Array;
  /** Turns bytes made by `encode` (on the peer) back into a payload. */
  decode(bytes: Uint8Array): unknown;
}

/** What a MSG or PUB frame carries besides its routing fields (docs/protocol.md §4). */
export interface EnvelopeFields {
  readonly topic: string;
  readonly payload: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly replyTo: string | undefined;
}

/**
 * One decoded MSG or PUB frame. The link reuses one instance per connection, so reading a frame
 * allocates only what the message keeps (topic string, payload, headers).
 */
export class InboundFrame implements EnvelopeFields {
  flags = 0;
  /** MSG: subscription id (0 for interest delivery). PUB: publish id (0: no PUBACK wanted). */
  sid = 0;
  tag = 0;
  id = 0;
  attempt = 1;
  hops = 0;
  ttlMs = 0;
  topic = '';
  payload: unknown = undefined;
  headers: Readonly<Record<string, string>> = NO_HEADERS;
  replyTo: string | undefined = undefined;

  get qos(): 0 | 1 {
    return (this.flags & MsgFlag.QOS1) === 0 ? 0 : 1;
  }
}

const utf8 = new TextEncoder();

/**
 * Writes a MSG frame (§4.1): a delivery to the peer's subscription `sid`, or (sid 0) to every
 * private QoS 0 subscriber it has for the topic.
 *
 * @throws {@link RingbusError} `ERR_PAYLOAD` when the payload cannot be encoded; RangeError when the
 *   frame exceeds maxFrameBytes (nothing is written in either case)
 */
export function writeMsg(
  enc: FrameEncoder,
  msg: EnvelopeFields,
  sid: number,
  tag: number,
  id: number,
  attempt: number,
  hops: number,
  ttlMs: number,
  codec: PayloadCodec | undefined
): void {
  enc.begin(estimate(msg));
  let flags = envelopeFlags(msg, ttlMs);
  if (tag !== 0) flags |= MsgFlag.QOS1;
  // The head goes straight into the buffer: a call and a room check per field cost about an
  // eighth of encoding a 64-byte message.
  let at = enc.room(MSG_HEAD_BYTES);
  const b = enc.target;
  b[at++] = FrameType.MSG;
  b[at++] = flags;
  at = writeUint(b, at, sid);
  if (tag !== 0) at = writeUint(b, at, tag);
  at = writeUint(b, at, id);
  at = writeUint(b, at, attempt);
  enc.advance(writeUint(b, at, hops));
  writeEnvelope(enc, msg, ttlMs, codec);
}

/** Type, flags, five field integers: the head of a MSG frame at its longest. */
const MSG_HEAD_BYTES = 2 + 5 * MAX_UINT_BYTES;

/**
 * Writes a PUB frame (§4.2): publish on the peer's bus; `pubId` > 0 asks for a PUBACK.
 *
 * @throws as {@link writeMsg}
 */
export function writePub(
  enc: FrameEncoder,
  msg: EnvelopeFields,
  pubId: number,
  qos: 0 | 1,
  retain: boolean,
  ttlMs: number,
  codec: PayloadCodec | undefined
): void {
  enc.begin(estimate(msg));
  let flags = envelopeFlags(msg, ttlMs);
  if (qos === 1) flags |= MsgFlag.QOS1;
  if (retain) flags |= MsgFlag.RETAIN;
  enc.u8(FrameType.PUB);
  enc.u8(flags);
  enc.uint(pubId);
  writeEnvelope(enc, msg, ttlMs, codec);
}

/** Reads a MSG frame's fields after its type byte into `into`. @throws `ERR_PROTOCOL` */
export function readMsg(r: BodyReader, into: InboundFrame, codec: PayloadCodec | undefined): void {
  if (readPlainMsg(r, into, codec)) return;
  const flags = r.u8();
  into.flags = flags;
  into.sid = r.uint();
  into.tag = (flags & MsgFlag.QOS1) === 0 ? 0 : r.uint();
  into.id = r.uint();
  into.attempt = r.uint();
  into.hops = r.uint();
  if (into.attempt === 0) throw new RingbusError(ErrorCode.PROTOCOL, 'MSG frame: attempt 0');
  if ((flags & MsgFlag.QOS1) !== 0 && (into.tag === 0 || into.sid === 0)) {
    throw new RingbusError(
      ErrorCode.PROTOCOL,
      'MSG frame: a QoS 1 delivery needs a subscription id and a tag >= 1'
    );
  }
  readEnvelope(r, into, flags, codec);
}

/**
 * The common MSG in one pass: no flags (QoS 0; no TTL, headers or reply) and one-byte sid, attempt
 * and hops. Reading those field by field cost about a tenth of a delivery's receive path. False,
 * with nothing read, for any other frame: the full reader checks and reads it.
 */
function readPlainMsg(r: BodyReader, into: InboundFrame, codec: PayloadCodec | undefined): boolean {
  const sid = r.peek(1);
  if (r.peek(0) !== 0 || sid >= 0x80) return false;
  const start = r.pos;
  r.skip(2);
  const id = r.uint();
  const attempt = r.peek(0);
  const hops = r.peek(1);
  if (attempt === 0 || attempt >= 0x80 || hops >= 0x80) {
    r.pos = start;
    return false;
  }
  r.skip(2);
  into.flags = 0;
  into.sid = sid;
  into.tag = 0;
  into.id = id;
  into.attempt = attempt;
  into.hops = hops;
  into.ttlMs = 0;
  into.topic = r.subject();
  into.headers = NO_HEADERS;
  into.replyTo = undefined;
  into.payload = readPayload(r, codec);
  return true;
}

/** Reads a PUB frame's fields after its type byte into `into` (`sid` holds the pubId). */
export function readPub(r: BodyReader, into: InboundFrame, codec: PayloadCodec | undefined): void {
  const flags = r.u8();
  if ((flags & MsgFlag.REPLY) !== 0)
    throw new RingbusError(ErrorCode.PROTOCOL, 'PUB frame: the REPLY flag is not allowed');
  into.flags = flags;
  into.sid = r.uint();
  into.tag = 0;
  into.id = 0;
  into.attempt = 1;
  into.hops = 0;
  readEnvelope(r, into, flags, codec);
}

function envelopeFlags(msg: EnvelopeFields, ttlMs: number): number {
  let flags = 0;
  if (msg.headers !== NO_HEADERS) flags |= MsgFlag.HEADERS;
  if (msg.replyTo !== undefined) flags |= MsgFlag.REPLY;
  if (ttlMs > 0) flags |= MsgFlag.TTL;
  return flags;
}

function estimate(msg: EnvelopeFields): number {
  const p = msg.payload;
  const size = p instanceof Uint8Array ? p.length : typeof p === 'string' ? p.length : 64;
  return 24 + msg.topic.length + size;
}

function writeEnvelope(
  enc: FrameEncoder,
  msg: EnvelopeFields,
  ttlMs: number,
  codec: PayloadCodec | undefined
): void {
  if (ttlMs > 0) enc.uint(ttlMs);
  enc.str(msg.topic);
  const headers = msg.headers;
  if (headers !== NO_HEADERS) {
    const names = Object.keys(headers);
    enc.uint(names.length);
    for (const k of names) {
      enc.str(k);
      enc.str(headers[k]);
    }
  }
  if (msg.replyTo !== undefined) enc.str(msg.replyTo);
  try {
    writePayload(enc, msg.payload, codec);
  } catch (err) {
    enc.abort();
    throw err;
  }
  enc.end();
}

function writePayload(enc: FrameEncoder, payload: unknown, codec: PayloadCodec | undefined): void {
  if (payload instanceof Uint8Array) {
    enc.u8(PayloadKind.BYTES);
    enc.bytes(payload);
  } else if (typeof payload === 'string') {
    enc.u8(PayloadKind.STRING);
    enc.utf8(payload);
  } else if (payload === undefined) {
    enc.u8(PayloadKind.UNDEFINED);
  } else {
    const bytes = encodeValue(payload, codec);
    enc.u8(codec === undefined ? PayloadKind.JSON : PayloadKind.CODEC);
    enc.bytes(bytes);
  }
}

/**
 * The bytes of a payload that is neither bytes, a string nor undefined: the codec's when there is
 * one (kind CODEC), else JSON (kind JSON).
 *
 * @throws {@link RingbusError} `ERR_PAYLOAD` when neither can encode it
 */
export function encodeValue(payload: unknown, codec: PayloadCodec | undefined): Uint8Array {
  if (codec !== undefined) {
    try {
      return codec.encode(payload);
    } catch (err) {
      throw new RingbusError(ErrorCode.PAYLOAD, 'the codec could not encode a payload', {
        cause: err
      });
    }
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw new RingbusError(
      ErrorCode.PAYLOAD,
      'a payload that crosses a link or is stored must be a Uint8Array, a string, JSON-serialisable, or handled by the codec',
      { cause: err }
    );
  }
  if (json === undefined) {
    throw new RingbusError(
      ErrorCode.PAYLOAD,
      `a ${typeof payload} payload cannot cross a link or be stored; send bytes, a string, JSON, or set a codec`
    );
  }
  return utf8.encode(json);
}

/** A JSON payload's value. @throws {@link RingbusError} `ERR_PROTOCOL` when it does not parse */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RingbusError(ErrorCode.PROTOCOL, 'JSON payload does not parse');
  }
}

/**
 * A CODEC payload's value.
 *
 * @throws {@link RingbusError} `ERR_PROTOCOL` without a codec, or when the codec throws
 */
export function decodeWith(codec: PayloadCodec | undefined, bytes: Uint8Array): unknown {
  if (codec === undefined)
    throw new RingbusError(
      ErrorCode.PROTOCOL,
      'a codec payload arrived but this end has no codec; give both ends the same codec option'
    );
  try {
    return codec.decode(bytes);
  } catch (err) {
    throw new RingbusError(ErrorCode.PROTOCOL, 'the codec could not decode a payload', {
      cause: err
    });
  }
}

function readEnvelope(
  r: BodyReader,
  into: InboundFrame,
  flags: number,
  codec: PayloadCodec | undefined
): void {
  if (
    (flags & ~(MsgFlag.QOS1 | MsgFlag.HEADERS | MsgFlag.REPLY | MsgFlag.TTL | MsgFlag.RETAIN)) !==
    0
  )
    throw new RingbusError(ErrorCode.PROTOCOL, `unknown flag bits 0x${flags.toString(16)}`);
  into.ttlMs = (flags & MsgFlag.TTL) === 0 ? 0 : r.uint();
  into.topic = r.subject();
  if ((flags & MsgFlag.HEADERS) === 0) into.headers = NO_HEADERS;
  else {
    const n = r.uint();
    if (n > r.remaining)
      throw new RingbusError(ErrorCode.PROTOCOL, 'header count beyond the frame');
    const headers: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const name = r.str();
      const value = r.str();
      // Defined, not assigned: a header named __proto__ would hit the prototype setter.
      Object.defineProperty(headers, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true
      });
    }
    into.headers = headers;
  }
  into.replyTo = (flags & MsgFlag.REPLY) === 0 ? undefined : r.str();
  into.payload = readPayload(r, codec);
}

function readPayload(r: BodyReader, codec: PayloadCodec | undefined): unknown {
  const kind = r.u8();
  switch (kind) {
    case PayloadKind.BYTES:
      // A copy: a view would keep the whole socket chunk alive as long as the message lives.
      return r.restCopy();
    case PayloadKind.STRING:
      return r.restString();
    case PayloadKind.JSON:
      return parseJson(r.restString());
    case PayloadKind.CODEC:
      return decodeWith(codec, r.restCopy());
    case PayloadKind.UNDEFINED:
      r.done('an undefined payload');
      return undefined;
    default:
      throw new RingbusError(ErrorCode.PROTOCOL, `unknown payload kind ${kind}`);
  }
}
