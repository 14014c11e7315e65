import type { PayloadCodec } from '../frames/envelope.js';
import type { Upstream } from '../message.js';
import type { Overflow } from '../options.js';
import type { Feeder, Queue } from '../queue.js';
import type { Link, LinkHost } from './link.js';
import type { SessionHost } from './session.js';

/**
 * A stream the NATS bridge creates when it does not exist yet (docs/scale-out.md). The bridge
 * never creates any other: a QoS 1 subject no stream captures is refused with `ERR_BRIDGE`.
 */
export interface NatsStreamOptions {
  /** Stream name (NATS rules: no whitespace, '.', '*' or '>'). */
  name: string;
  /** Subjects (patterns) the stream captures. */
  subjects: string[];
  /** Copies kept across the NATS cluster (1-5). @defaultValue 1 */
  replicas?: number;
  /** Where the server keeps messages. @defaultValue 'file' */
  storage?: 'file' | 'memory';
  /**
   * 'limits' keeps messages until a limit removes them; 'interest' removes a message once every
   * consumer (channel) acked it. @defaultValue 'limits'
   */
  retention?: 'limits' | 'interest';
  /** Oldest message kept, ms; 0 = no limit. @defaultValue 0 */
  maxAgeMs?: number;
  /** Bytes kept; 0 = no limit. @defaultValue 0 */
  maxBytes?: number;
  /** Messages kept; 0 = no limit. @defaultValue 0 */
  maxMessages?: number;
}

/** NATS client reconnects: a fixed wait plus random jitter between attempts, or none. */
export interface NatsReconnectOptions {
  /** Wait between attempts on the same server. @defaultValue 2000 */
  waitMs?: number;
  /** Random extra wait, up to this. @defaultValue 100 */
  jitterMs?: number;
}

/**
 * Options of `bus.connect('nats://host:port', options)` (also `tls://`): a bridge between this bus
 * and a NATS system (docs/scale-out.md). Subjects map one to one; QoS 0 travels over core NATS and
 * QoS 1 over JetStream.
 */
export interface NatsBridgeOptions {
  /** Local topics matching these patterns are published to NATS (patterns must not overlap). */
  export?: string[];
  /** NATS subjects matching these patterns are delivered to this bus's subscribers. */
  import?: string[];
  /** More servers of the same NATS system, for failover (the URL's server comes first). */
  servers?: string[];
  /** Token authentication. */
  token?: string;
  /** User and password authentication (both or neither). */
  user?: string;
  /** Password of `user`. */
  pass?: string;
  /** Connection name the servers show (monitoring). @defaultValue `ringbus <bus id>` */
  name?: string;
  /** `tls://` (or a server that requires TLS): CA certificates (PEM) to trust. @defaultValue Node's */
  ca?: string | string[];
  /** Streams to create when they do not exist (never any other). */
  streams?: NatsStreamOptions[];
  /** Time allowed for the first connection and for each JetStream API call. @defaultValue 5000 */
  connectTimeoutMs?: number;
  /** NATS client reconnects through the server list, or `false` to stay down. */
  reconnect?: false | NatsReconnectOptions;
  /** Exported QoS 1 messages waiting for JetStream's acknowledgement at once. @defaultValue 1024 */
  maxInFlight?: number;
  /** Bound of the export queue, in messages. @defaultValue 8192 */
  sendQueueSize?: number;
  /**
   * What a full export queue does (NATS slow or away): 'block' makes publishers of exported
   * topics wait (publishAsync) or throw `ERR_QUEUE_FULL`; a drop policy drops QoS 0 messages and
   * dead-letters QoS 1 ones. @defaultValue 'block'
   */
  overflow?: Overflow;
  /** Hops (links and bridges) a message may cross; stops loops. @defaultValue 8 */
  hopLimit?: number;
  /** Encodes payloads that are not bytes or strings (every bus on the subject needs the same). @defaultValue JSON */
  codec?: PayloadCodec;
}

/** What a bridge needs from its bus: a link's and a session's needs, plus feeding channels. @internal */
export interface BridgeHost extends LinkHost, SessionHost {
  /** True once the bus is closed (it may close while a bridge loads its client). */
  readonly isClosed: boolean;
  /**
   * Marks `queue` as fed by `feeder` (or no longer, with undefined): publishes of topics the
   * feeder diverts skip it (they come back through the feeder), and links do not advertise it.
   * Called again with the same feeder, re-routes (what it diverts changed).
   */
  feed(queue: Queue, feeder: Feeder | undefined): void;
  /**
   * Would a message on `topic` from `origin` enter any queue here (publishRemote)? Lets a bridge
   * skip decoding what nobody takes. @throws {@link RingbusError} `ERR_INVALID_TOPIC`
   */
  wants(topic: string, origin: Upstream): boolean;
}

/**
 * A link to a messaging system that is not a ringbus bus (the NATS bridge on Node): it owns its
 * connection and reconnects itself. Registered by URL scheme like transports (adapters/container.ts).
 *
 * @internal
 */
export interface Bridge {
  /** Validates `options`, connects, and resolves with the link once it is up. */
  connect(host: BridgeHost, url: URL, options: unknown): Promise<Link>;
}
