/**
 * The contract every network contender implements, and the wire layout of the benchmark payloads.
 *
 * A contender is one small module (bench/net/peers/*.ts) exporting a {@link NetPeer}. The parent
 * process uses `available`, `versions` and `startBroker`; the child processes (bench/net/child.ts)
 * use `openPublisher`, `openSubscriber` and `serveBroker`. Peer modules import their npm package
 * lazily (`await import(...)`) so a missing package makes the peer skip instead of crashing the run.
 *
 * Topology: broker peers (nats, redis, mqtt, nats-ws, mqtt-ws) run the broker in its own process
 * and both sides connect to it. Brokerless peers (ringbus, raw-net, ws, ws-batched, socket.io,
 * zeromq) let the *publisher* listen
 * and the subscribers connect, for 1→1 and fan-out alike: one topology for every workload, and the
 * one a ZeroMQ PUB socket (bind) and a ringbus node (`bus.listen`) use.
 */

/**
 * Where a process listens or connects: loopback TCP or a Unix socket path. `webSocket` marks the
 * WebSocket workloads (W6–W10), for peers that speak more than one protocol (ringbus).
 */
export type Endpoint = { host: string; port: number; webSocket?: boolean } | { path: string };

/** What a workload runs over. */
export type Transport = 'tcp' | 'unix' | 'ws';

/** Delivery guarantee asked of the peer: 0 = at most once, 1 = acked (MQTT QoS 1). */
export type Qos = 0 | 1;

/** The sending side of one workload, living in a publisher child process. */
export interface Publisher {
  /** Where subscribers connect: the bound address for brokerless peers, the broker's otherwise. */
  readonly endpoint: Endpoint;
  /**
   * Queues one message. Returns false when the caller must `await drain()` before the next send
   * (socket buffer above its mark, ack window full, or a send still in progress). The caller
   * never modifies `payload` afterwards (floods resend one buffer), so a peer may keep a
   * reference instead of copying.
   */
  send(payload: Buffer): boolean;
  /** Resolves once {@link Publisher.send} may be called again. */
  drain(): Promise<void>;
  /** Resolves once everything sent so far has left this process (and, for QoS 1, is acked). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** One subscriber connection; messages arrive through the `onMessage` given at open. */
export interface Subscriber {
  close(): Promise<void>;
}

/** Receives each payload; the view may be reused by the peer after the call returns. */
export type OnMessage = (payload: Uint8Array) => void;

/** A broker started for a peer: the parent owns it and stops it when the peer is done. */
export interface Broker {
  readonly endpoint: Endpoint;
  /** Where it also listens on a Unix socket, for peers that run W1 over one. */
  readonly unixEndpoint?: Endpoint;
  stop(): Promise<void>;
}

/** One network contender. */
export interface NetPeer {
  /** Row label and registry key, e.g. `nats`. */
  readonly name: string;
  /** Whether W5 (QoS 1, acks) applies. */
  readonly hasQos1: boolean;
  /**
   * The workloads' transports it runs: 'tcp' (W1–W5, each peer's own protocol over loopback TCP),
   * 'unix' (W1 over a Unix socket), 'ws' (the WebSocket fan-out workloads W6–W10).
   */
  readonly transports: readonly Transport[];
  /** Why a peer with 'tcp' but not 'unix' is not measured over a Unix socket (printed). */
  readonly noUnix?: string;
  /** Why the peer cannot run on this machine (package or binary missing), or undefined. */
  available(): Promise<string | undefined>;
  /** Versions of every moving part, e.g. `{ nats: '2.29.3', 'nats-server': 'v2.9.10' }`. */
  versions(): Promise<Record<string, string>>;
  /** Parent side: starts the broker in its own process. Absent for brokerless peers. */
  startBroker?(): Promise<Broker>;
  /** Broker child side (JavaScript brokers only): serves on 127.0.0.1, port 0. */
  serveBroker?(): Promise<{ port: number; close(): Promise<void> }>;
  /**
   * Child side: opens the publisher. `endpoint` is the broker for broker peers, or the address to
   * listen on (port 0 or a fresh Unix path) for brokerless ones.
   */
  openPublisher(endpoint: Endpoint, qos: Qos): Promise<Publisher>;
  /** Child side: opens one subscriber connection, resolved once its subscription is in place. */
  openSubscriber(endpoint: Endpoint, qos: Qos, onMessage: OnMessage): Promise<Subscriber>;
}

/**
 * Payload layout (every payload is at least {@link MIN_PAYLOAD_BYTES} long):
 *
 * ```
 * offset 0..7   float64 LE  send time, ns of the shared monotonic clock (latency workload only)
 * offset 8      uint8       kind: DATA, PROBE or LAST
 * offset 9..    filler
 * ```
 */
export const STAMP_OFFSET = 0;
export const KIND_OFFSET = 8;
export const MIN_PAYLOAD_BYTES = 9;

export const Kind = { DATA: 0, PROBE: 1, LAST: 2 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Subject / topic / channel every peer publishes on. */
export const TOPIC = 'bench.net';
