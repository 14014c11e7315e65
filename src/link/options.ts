import * as z from 'zod/mini';
import type { PayloadCodec } from '../frames/envelope.js';
import { codecSchema } from '../codec-schema.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HOP_LIMIT,
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_PENDING_BYTES,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_LINK,
  DEFAULT_RECONNECT_INITIAL_MS,
  DEFAULT_RECONNECT_MAX_MS,
  DEFAULT_SEND_QUEUE_SIZE,
  DEFAULT_WRITE_TIMEOUT_MS,
  MAX_DURATION_MS,
  MAX_FRAME_BYTES,
  MAX_QUEUE_SIZE,
  MAX_RING_BYTES,
  MIN_FRAME_BYTES,
  MIN_LINK_RING_BYTES
} from '../limits.js';
import type { Overflow } from '../options.js';
import { nextPowerOfTwo } from '../ring.js';
import { MAX_TOKEN_LENGTH } from '../frames/control.js';
import { parsePattern, parseSubject } from '../subject.js';
import { Permissions, type TokenPermissions } from './permissions.js';
import type { SessionSettings } from './session.js';

/** Options both ends of a link understand. */
export interface LinkOptions {
  /** Largest frame body accepted or sent. @defaultValue 1 MiB */
  maxFrameBytes?: number;
  /** Ping interval; a peer silent for two intervals is dropped. 0 disables. @defaultValue 10 000 */
  keepaliveMs?: number;
  /** Time a peer may leave written bytes unread before its connection is dropped. @defaultValue 30 000 */
  writeTimeoutMs?: number;
  /** Delay before encoded frames are written: 0 writes once per tick (lowest latency). @defaultValue 0 */
  flushIntervalMs?: number;
  /** Bytes written to the peer and not yet read by it before the connection is dropped. @defaultValue 16 MiB */
  maxPendingBytes?: number;
  /** Disable Nagle's algorithm (TCP). @defaultValue true */
  noDelay?: boolean;
  /**
   * WebSocket on Node: offer (connect) or accept (listen) the permessage-deflate extension; it
   * applies when both ends want it. Compression costs CPU per message and frames are small, so it
   * is off unless asked for. Browsers decide for themselves. @defaultValue false
   */
  perMessageDeflate?: boolean;
  /** Bound of the send queue for the peer's QoS 0 interest, in messages. @defaultValue 8192 */
  sendQueueSize?: number;
  /** What a full send queue does (a slow peer): as a subscription's overflow. @defaultValue 'drop-oldest' */
  overflow?: Overflow;
  /** Links a message may cross; stops loops in meshes. @defaultValue 8 */
  hopLimit?: number;
  /** Encodes payloads that are not bytes or strings (both ends need the same). @defaultValue JSON */
  codec?: PayloadCodec;
}

/**
 * Raw mode (nanoQ compatible): plain varint-framed payloads, no handshake, no topics on the wire.
 * Received frames are published on `topic`; messages matching `pattern` are sent.
 */
export interface RawOptions {
  /** Publish every received frame (as a Uint8Array) on this topic. */
  topic?: string;
  /** Send the payload of every message matching this pattern as one frame. */
  pattern?: string;
}

/** Reconnect delays: attempt n waits a random time in [0, min(maxDelayMs, initialDelayMs · 2^n)]. */
export interface ReconnectOptions {
  /** Ceiling of the first delay. @defaultValue 100 */
  initialDelayMs?: number;
  /** Largest ceiling. @defaultValue 10 000 */
  maxDelayMs?: number;
}

/** Options of `bus.connect(url, options)`. */
export interface ConnectOptions extends LinkOptions {
  /** Sent in the handshake; the listener checks it in constant time. */
  token?: string;
  /** Reconnect with exponential backoff and full jitter, or `false` to stay down. */
  reconnect?: false | ReconnectOptions;
  /** Time allowed for the transport connection and the handshake. @defaultValue 5000 */
  connectTimeoutMs?: number;
  /** Raw mode instead of the ringbus protocol. */
  raw?: RawOptions;
  /**
   * `wss://` on Node: the CA certificates (PEM) to trust for the server's certificate, for a
   * private CA or a self-signed server. Browsers use their own trust store. @defaultValue Node's
   */
  ca?: string | string[];
}

/** Options of `bus.connectWorker(worker, options)` and `bus.connectParent(options)`. */
export interface WorkerLinkOptions extends LinkOptions {
  /**
   * Bytes of each direction's shared ring (a power of two, at least 4 KiB); the parent's value
   * is the one used. @defaultValue 1 MiB
   */
  ringBytes?: number;
  /** Time allowed for the other thread to take the link and for the handshake. @defaultValue 5000 */
  connectTimeoutMs?: number;
}

/** Who may use a listener. */
export interface AuthOptions {
  /** Accepted tokens, each with what it may publish and subscribe to. */
  tokens: Record<string, TokenPermissions>;
}

/** Options of `bus.listen(url, options)`. */
export interface ListenOptions extends LinkOptions {
  /** Accepted tokens and what each may publish and subscribe to; without it, no token is needed. */
  auth?: AuthOptions;
  /** Links accepted at once; more are refused with `ERR_LIMIT`. @defaultValue 1024 */
  maxConnections?: number;
  /** Subscriptions one link may hold. @defaultValue 10 000 */
  maxSubscriptionsPerLink?: number;
  /** Time a new connection has to complete its handshake. @defaultValue 5000 */
  handshakeTimeoutMs?: number;
  /** Raw mode instead of the ringbus protocol. */
  raw?: RawOptions;
  /**
   * WebSocket: the `Origin` values accepted, such as `'https://app.example.com'`. A browser
   * always sends its page's origin; others get HTTP 403. Clients that send none (not browsers)
   * are not affected. @defaultValue any origin
   */
  origins?: string[];
  /**
   * WebSocket: a `node:http` or `node:https` server (already listening or not) to take upgrades
   * from on the URL's path, instead of a server of the listener's own; `wss://` needs one. The
   * listener never closes it. @defaultValue a new HTTP server on the URL's host and port
   */
  httpServer?: object;
  /**
   * `wss://` on a port of the listener's own: the server's private key and certificate chain
   * (PEM). Give either this or `httpServer` (an `https.Server`) for `wss://`.
   */
  tls?: TlsServerOptions;
}

/** The key and certificate of a `wss://` listener on its own port. */
export interface TlsServerOptions {
  /** Private key, PEM. */
  key: string | Uint8Array;
  /** Certificate chain, PEM. */
  cert: string | Uint8Array;
}

/** One link in `bus.stats()`. */
export interface LinkStats {
  /** Per-bus link number, unique for the life of the bus (tells apart links to one URL). */
  id: number;
  /** The URL connected to, or the peer address of an accepted link. */
  url: string;
  /** 'out' for `connect()`, 'in' for links a listener accepted. */
  direction: 'in' | 'out';
  /** Where the link is now. */
  state: 'connecting' | 'up' | 'down' | 'closed';
  /** The peer bus's id (undefined in raw mode or before the first handshake). */
  peer: string | undefined;
  /** True in raw (nanoQ) mode. */
  raw: boolean;
  /** Successful reconnects. */
  reconnects: number;
  /** Frames received. */
  framesIn: number;
  /** Frames sent. */
  framesOut: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** Messages received (MSG and PUB frames). */
  messagesIn: number;
  /** Messages sent. */
  messagesOut: number;
  /** Messages waiting in the send queue. */
  queued: number;
  /** Messages the send queue dropped because the peer was slow. */
  dropped: number;
  /** Messages refused or not forwardable (hop limit, permissions, encoding). */
  refused: number;
  /** QoS 1 deliveries to the peer awaiting its ack. */
  inFlight: number;
}

const intIn = (min: number, max: number) =>
  z
    .int('must be an integer')
    .check(z.minimum(min, `must be >= ${min}`), z.maximum(max, `must be <= ${max}`));
const ms = (max: number) => z.optional(intIn(0, max));
/** An optional integer in [1, max]. @internal */
export const positive = (max: number) => z.optional(intIn(1, max));

const rawSchema = z
  .strictObject({
    topic: z.optional(z.string().check(z.refine(isSubject, 'must be a valid topic'))),
    pattern: z.optional(z.string().check(z.refine(isPattern, 'must be a valid pattern')))
  })
  .check(
    z.refine((r) => r.topic !== undefined || r.pattern !== undefined, 'needs topic or pattern')
  );

/** Fields every kind of link validates alike. @internal */
export const linkShape = {
  maxFrameBytes: z.optional(
    intIn(1, MAX_FRAME_BYTES).check(
      z.minimum(MIN_FRAME_BYTES, `must be >= ${MIN_FRAME_BYTES} (room for a handshake)`)
    )
  ),
  keepaliveMs: ms(3_600_000),
  writeTimeoutMs: positive(MAX_DURATION_MS),
  flushIntervalMs: ms(1000),
  noDelay: z.optional(z.boolean('must be a boolean')),
  perMessageDeflate: z.optional(z.boolean('must be a boolean')),
  maxPendingBytes: positive(MAX_FRAME_BYTES),
  sendQueueSize: positive(MAX_QUEUE_SIZE),
  overflow: z.optional(
    z.enum(
      ['drop-oldest', 'drop-newest', 'block'],
      "must be 'drop-oldest', 'drop-newest' or 'block'"
    )
  ),
  hopLimit: positive(255),
  codec: z.optional(codecSchema)
};

/** @internal */
export const connectOptionsSchema = z.strictObject({
  ...linkShape,
  raw: z.optional(rawSchema),
  token: z.optional(z.string('must be a string').check(z.maxLength(MAX_TOKEN_LENGTH))),
  reconnect: z.optional(
    z.union([
      z.literal(false),
      z.strictObject({
        initialDelayMs: positive(MAX_DURATION_MS),
        maxDelayMs: positive(MAX_DURATION_MS)
      })
    ])
  ),
  connectTimeoutMs: positive(MAX_DURATION_MS),
  ca: z.optional(
    z.union([z.string(), z.array(z.string())], 'must be a PEM string or an array of them')
  )
});

/** @internal */
export const workerLinkOptionsSchema = z.strictObject({
  ...linkShape,
  ringBytes: z.optional(
    intIn(MIN_LINK_RING_BYTES, MAX_RING_BYTES).check(
      z.refine((n) => nextPowerOfTwo(n) === n, 'must be a power of two')
    )
  ),
  connectTimeoutMs: positive(MAX_DURATION_MS)
});

const pem = z.union(
  [z.string(), z.custom<Uint8Array>((v) => v instanceof Uint8Array)],
  'must be PEM text (a string or bytes)'
);

/** An optional list of valid patterns. @internal */
export const patterns = z.optional(
  z.array(z.string().check(z.refine(isPattern, 'must be a valid pattern')))
);

/** @internal */
export const listenOptionsSchema = z.strictObject({
  ...linkShape,
  raw: z.optional(rawSchema),
  auth: z.optional(
    z.strictObject({
      tokens: z.record(
        z
          .string()
          .check(z.minLength(1, 'a token must not be empty'), z.maxLength(MAX_TOKEN_LENGTH)),
        z.strictObject({ publish: patterns, subscribe: patterns })
      )
    })
  ),
  maxConnections: positive(1 << 20),
  maxSubscriptionsPerLink: positive(1 << 24),
  handshakeTimeoutMs: positive(MAX_DURATION_MS),
  origins: z.optional(z.array(z.string('must be a string'), 'must be an array of origins')),
  httpServer: z.optional(
    z.custom<object>((v) => typeof v === 'object' && v !== null, 'must be an http.Server')
  ),
  tls: z.optional(z.strictObject({ key: pem, cert: pem }))
});

/** Reconnect delays after validation, or undefined for no reconnect. @internal */
export interface Backoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

type AnyLinkOptions = Partial<
  z.output<typeof connectOptionsSchema> & z.output<typeof listenOptionsSchema>
>;

/** Session settings from validated options. @internal */
export function sessionSettings(o: AnyLinkOptions, isListener: boolean): SessionSettings {
  return {
    maxFrameBytes: o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    keepaliveMs: o.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
    handshakeTimeoutMs: isListener
      ? (o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS)
      : (o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    writeTimeoutMs: o.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS,
    maxPendingBytes: Math.max(
      o.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
      2 * (o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    ),
    flushIntervalMs: o.flushIntervalMs ?? 0,
    sendQueueSize: o.sendQueueSize ?? DEFAULT_SEND_QUEUE_SIZE,
    overflow: o.overflow ?? 'drop-oldest',
    hopLimit: o.hopLimit ?? DEFAULT_HOP_LIMIT,
    maxSubscriptionsPerLink: o.maxSubscriptionsPerLink ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_LINK,
    codec: o.codec,
    token: o.token,
    auth:
      o.auth === undefined
        ? undefined
        : new Map(Object.entries(o.auth.tokens).map(([t, p]) => [t, new Permissions(p)]))
  };
}

/** @internal */
export function backoffOf(o: z.output<typeof connectOptionsSchema>): Backoff | undefined {
  if (o.reconnect === false) return undefined;
  const initialDelayMs = o.reconnect?.initialDelayMs ?? DEFAULT_RECONNECT_INITIAL_MS;
  return {
    initialDelayMs,
    maxDelayMs: Math.max(initialDelayMs, o.reconnect?.maxDelayMs ?? DEFAULT_RECONNECT_MAX_MS)
  };
}

/** @internal */
export function maxConnectionsOf(o: z.output<typeof listenOptionsSchema>): number {
  return o.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
}

function isSubject(s: string): boolean {
  try {
    parseSubject(s);
    return true;
  } catch {
    return false;
  }
}

function isPattern(s: string): boolean {
  try {
    parsePattern(s);
    return true;
  } catch {
    return false;
  }
}
