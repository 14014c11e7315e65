import * as z from 'zod';
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

/** The protocol version this code speaks (HELLO `v`). */
export const PROTOCOL_VERSION = 1;

/** Longest auth token (UTF-16 units); with the bus id it keeps a HELLO within MIN_FRAME_BYTES. */
export const MAX_TOKEN_LENGTH = 1024;

const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(1024);

/** HELLO: the first frame each side sends (docs/protocol.md §3.1). */
export const helloSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  bus: z.string().min(1).max(256),
  token: z.string().max(MAX_TOKEN_LENGTH).optional(),
  maxFrameBytes: uint.min(MIN_FRAME_BYTES).max(0xffff_ffff),
  keepaliveMs: uint.max(3_600_000)
});
/** A decoded HELLO frame. */
export type Hello = z.infer<typeof helloSchema>;

/** ERROR: a code and a text; `fatal` closes the connection, `sid`/`pubId` name what failed. */
export const errorSchema = z.strictObject({
  code: z.string().min(1).max(64),
  message: z.string().max(4096),
  fatal: z.boolean(),
  sid: uint.optional(),
  pubId: uint.optional()
});
/** A decoded ERROR frame. */
export type ErrorFrame = z.infer<typeof errorSchema>;

/** SUB: a subscription the peer holds messages for, addressed by `sid` (§3.3). */
export const subSchema = z.strictObject({
  sid: uint.min(1),
  pattern: name,
  channel: name.optional(),
  qos: z.union([z.literal(0), z.literal(1)]),
  queueSize: uint.min(1).max(MAX_QUEUE_SIZE),
  overflow: z.enum(['drop-oldest', 'drop-newest', 'block']),
  conflate: z.boolean(),
  ackTimeoutMs: uint.min(1).max(MAX_ACK_TIMEOUT_MS),
  maxAttempts: uint.min(1).max(MAX_ATTEMPTS),
  credit: uint.min(1).max(MAX_IN_FLIGHT)
});
/** A decoded SUB frame. */
export type SubFrame = z.infer<typeof subSchema>;

/** UNSUB: ends the subscription `sid`. */
export const unsubSchema = z.strictObject({ sid: uint.min(1) });

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
export function readControl<S extends z.ZodType>(
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
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : '(body)';
    throw new RingbusError(ErrorCode.PROTOCOL, `${frame} frame: ${field}: ${issue.message}`);
  }
  return parsed.data;
}
