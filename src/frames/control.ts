import * as z from 'zod/mini';
import { ErrorCode, RingbusError } from '../errors.js';
import {
  MAX_ACK_TIMEOUT_MS,
  MAX_ATTEMPTS,
  MAX_IN_FLIGHT,
  MAX_QUEUE_SIZE,
  MIN_FRAME_BYTES
} from '../limits.js';
import type { BodyReader } from './body-reader.js';
import type { FrameEncoder } from './frame-encoder.js';
import type { FrameType } from './frame-type.js';
import { safeParse } from '../safe-parse.js';

/**
 * The protocol version this code speaks (HELLO `v`): 2 added CREDIT (§3.3). It also speaks 1 with
 * a peer that does (it sends that peer no CREDIT).
 */
export const PROTOCOL_VERSION = 2;

/** Longest auth token (UTF-16 units); with the bus id it keeps a HELLO within MIN_FRAME_BYTES. */
export const MAX_TOKEN_LENGTH = 1024;

const uint = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.int().check(z.minimum(min), z.maximum(max));
const name = z.string().check(z.minLength(1), z.maxLength(1024));

/** HELLO: the first frame each side sends (docs/protocol.md §3.1). */
export const helloSchema = z.strictObject({
  v: z.literal([1, PROTOCOL_VERSION]),
  bus: z.string().check(z.minLength(1), z.maxLength(256)),
  token: z.optional(z.string().check(z.maxLength(MAX_TOKEN_LENGTH))),
  maxFrameBytes: uint(MIN_FRAME_BYTES, 0xffff_ffff),
  keepaliveMs: uint(0, 3_600_000)
});
/** A decoded HELLO frame. */
export type Hello = z.infer<typeof helloSchema>;

/** ERROR: a code and a text; `fatal` closes the connection, `sid`/`pubId` name what failed. */
export const errorSchema = z.strictObject({
  code: z.string().check(z.minLength(1), z.maxLength(64)),
  message: z.string().check(z.maxLength(4096)),
  fatal: z.boolean(),
  sid: z.optional(uint()),
  pubId: z.optional(uint())
});
/** A decoded ERROR frame. */
export type ErrorFrame = z.infer<typeof errorSchema>;

/** SUB: a subscription the peer holds messages for, addressed by `sid` (§3.3). */
export const subSchema = z.strictObject({
  sid: uint(1),
  pattern: name,
  channel: z.optional(name),
  qos: z.literal([0, 1]),
  queueSize: uint(1, MAX_QUEUE_SIZE),
  overflow: z.enum(['drop-oldest', 'drop-newest', 'block']),
  conflate: z.boolean(),
  ackTimeoutMs: uint(1, MAX_ACK_TIMEOUT_MS),
  maxAttempts: uint(1, MAX_ATTEMPTS),
  credit: uint(1, MAX_IN_FLIGHT)
});
/** A decoded SUB frame. */
export type SubFrame = z.infer<typeof subSchema>;

/** CREDIT: a new `credit` for the subscription `sid` (§3.3). */
export const creditSchema = z.strictObject({ sid: uint(1), credit: uint(1, MAX_IN_FLIGHT) });
/** A decoded CREDIT frame. */
export type CreditFrame = z.infer<typeof creditSchema>;

/** UNSUB: ends the subscription `sid`. */
export const unsubSchema = z.strictObject({ sid: uint(1) });

/** INTEREST / UNINTEREST: a pattern the peer's private QoS 0 subscribers want (§3.4). */
export const interestSchema = z.strictObject({ pattern: name });

const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Writes a control frame: its type byte, then `body` as JSON. */
export function writeControl(enc: FrameEncoder, type: FrameType, body: object): void {
  const json = utf8.encode(JSON.stringify(body));
  enc.begin(json.length + 1);
  enc.u8(type);
  enc.bytes(json);
  enc.end();
}

/**
 * Reads the JSON of a control frame (after its type byte) and checks it against `schema`.
 *
 * @throws {@link RingbusError} `ERR_PROTOCOL` naming the frame and the failing field
 */
export function readControl<S extends z.ZodMiniType>(
  reader: BodyReader,
  schema: S,
  frame: string
): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text.decode(reader.rest()));
  } catch {
    throw new RingbusError(ErrorCode.PROTOCOL, `${frame} frame: body is not valid UTF-8 JSON`);
  }
  const parsed = safeParse(schema, value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : '(body)';
    throw new RingbusError(ErrorCode.PROTOCOL, `${frame} frame: ${field}: ${issue.message}`);
  }
  return parsed.data;
}
