import * as z from 'zod/mini';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import type { PayloadCodec } from '../../src/frames/envelope.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HOP_LIMIT,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_SEND_QUEUE_SIZE,
  MAX_DURATION_MS,
  MAX_IN_FLIGHT
} from '../../src/limits.js';
import type { NatsStreamOptions } from '../../src/link/bridge.js';
import { linkShape, patterns, positive } from '../../src/link/options.js';
import { overlaps } from '../../src/link/permissions.js';
import type { Overflow } from '../../src/options.js';
import { parseWith } from '../../src/options.js';
import { parsePattern } from '../../src/subject.js';

/** Subject prefixes NATS keeps for itself: a bridge neither exports nor imports them. */
const NATS_RESERVED = ['$JS', '$JSC', '$SYS', '$KV', '$O', '$NRG', '$G'];

const natsName = z
  .string('must be a string')
  .check(
    z.regex(/^[^\s.*>]{1,256}$/u, 'must be 1-256 characters without whitespace, ".", "*" or ">"')
  );

const streamSchema = z.strictObject({
  name: natsName,
  subjects: z.array(z.string('must be a subject pattern')).check(z.minLength(1, 'needs a subject')),
  replicas: z.optional(
    z.int('must be an integer').check(z.minimum(1, 'must be >= 1'), z.maximum(5, 'must be <= 5'))
  ),
  storage: z.optional(z.enum(['file', 'memory'], "must be 'file' or 'memory'")),
  retention: z.optional(z.enum(['limits', 'interest'], "must be 'limits' or 'interest'")),
  maxAgeMs: z.optional(z.int().check(z.minimum(0, 'must be >= 0'))),
  maxBytes: z.optional(z.int().check(z.minimum(0, 'must be >= 0'))),
  maxMessages: z.optional(z.int().check(z.minimum(0, 'must be >= 0')))
});

const schema = z.strictObject({
  export: patterns,
  import: patterns,
  servers: z.optional(z.array(z.string('must be a server URL'))),
  token: z.optional(z.string('must be a string')),
  user: z.optional(z.string('must be a string')),
  pass: z.optional(z.string('must be a string')),
  name: z.optional(z.string('must be a string')),
  ca: z.optional(
    z.union([z.string(), z.array(z.string())], 'must be a PEM string or an array of them')
  ),
  streams: z.optional(z.array(streamSchema)),
  connectTimeoutMs: positive(MAX_DURATION_MS),
  reconnect: z.optional(
    z.union([
      z.literal(false),
      z.strictObject({
        waitMs: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_DURATION_MS))),
        jitterMs: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_DURATION_MS)))
      })
    ])
  ),
  maxInFlight: positive(MAX_IN_FLIGHT),
  sendQueueSize: linkShape.sendQueueSize,
  overflow: linkShape.overflow,
  hopLimit: linkShape.hopLimit,
  codec: linkShape.codec
});

/** A bridge's options after validation. @internal */
export interface BridgeSettings {
  readonly servers: string[];
  readonly exports: string[];
  readonly imports: string[];
  readonly token: string | undefined;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly name: string | undefined;
  readonly ca: string | string[] | undefined;
  readonly tls: boolean;
  readonly streams: NatsStreamOptions[];
  readonly timeoutMs: number;
  readonly reconnect: false | { waitMs: number; jitterMs: number };
  readonly maxInFlight: number;
  readonly sendQueueSize: number;
  readonly overflow: Overflow;
  readonly hopLimit: number;
  readonly codec: PayloadCodec | undefined;
}

/**
 * Validates `bus.connect('nats://…', options)`.
 *
 * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` naming the field
 */
export function bridgeSettings(url: URL, options: unknown): BridgeSettings {
  const o = parseWith(schema, options, 'NATS bridge options');
  const exports = o.export ?? [];
  const imports = o.import ?? [];
  for (const p of [...exports, ...imports]) checkNotReserved(p);
  checkDisjoint('export', exports, 'sent');
  checkDisjoint('import', imports, 'delivered');
  if ((o.user === undefined) !== (o.pass === undefined)) invalid('user and pass go together');
  const tls = url.protocol === 'tls:';
  const server = `${url.hostname}:${url.port === '' ? 4222 : url.port}`;
  return {
    // The URL's server first, each once (the client keeps this order: noRandomize).
    servers: [...new Set([server, ...(o.servers ?? []).map(hostPort)])],
    exports,
    imports,
    token: o.token,
    user: o.user,
    pass: o.pass,
    name: o.name,
    ca: o.ca,
    tls,
    streams: o.streams ?? [],
    timeoutMs: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    reconnect:
      o.reconnect === false
        ? false
        : { waitMs: o.reconnect?.waitMs ?? 2000, jitterMs: o.reconnect?.jitterMs ?? 100 },
    maxInFlight: o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    sendQueueSize: o.sendQueueSize ?? DEFAULT_SEND_QUEUE_SIZE,
    overflow: o.overflow ?? 'block',
    hopLimit: o.hopLimit ?? DEFAULT_HOP_LIMIT,
    codec: o.codec
  };
}

/** `nats://h:p` or `h:p` as the NATS client's `host:port`. */
function hostPort(server: string): string {
  const url = URL.canParse(server) ? new URL(server) : new URL(`nats://${server}`);
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:')
    invalid(`servers: '${server}' is not a nats:// or tls:// URL`);
  return `${url.hostname}:${url.port === '' ? 4222 : url.port}`;
}

/** Overlapping patterns would carry a message twice (one NATS subscription or export each). */
function checkDisjoint(field: string, list: readonly string[], what: string): void {
  for (let i = 0; i < list.length; i++)
    for (let j = i + 1; j < list.length; j++)
      if (overlaps(parsePattern(list[i]), parsePattern(list[j])))
        invalid(
          `${field} patterns '${list[i]}' and '${list[j]}' overlap: a message would be ${what} twice; keep one`
        );
}

function checkNotReserved(pattern: string): void {
  const first = pattern.split('.')[0];
  if (NATS_RESERVED.includes(first))
    invalid(`'${pattern}': subjects under '${first}.' belong to the NATS server`);
}

function invalid(message: string): never {
  throw new RingbusError(ErrorCode.INVALID_OPTIONS, `NATS bridge options: ${message}`);
}
