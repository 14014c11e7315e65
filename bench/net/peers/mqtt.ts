/**
 * mqtt: the `aedes` broker in its own Node process and `mqtt` (MQTT.js, protocol 3.1.1) clients,
 * QoS 0 and QoS 1, over TCP. With QoS 1 both hops are acked: publisher → broker and broker →
 * subscriber. {@link mqttPeer} builds this peer and `mqtt-ws` (the same broker and clients over
 * WebSocket, peers/mqtt-ws.ts) from a {@link MqttTransport}.
 *
 * Flow control: QoS 0 waits for the client stream's 'drain'; QoS 1 also keeps at most
 * {@link WINDOW} PUBACKs outstanding (MQTT.js itself puts no bound on them).
 */
import type { Connection } from 'aedes';
import type { IClientOptions, MqttClient } from 'mqtt';
import net from 'node:net';
import { forkBroker, missingPackages, packageVersions } from '../harness.js';
import {
  type Endpoint,
  type NetPeer,
  type Publisher,
  type Qos,
  TOPIC,
  type Transport
} from '../peer.js';

const WINDOW = 1024;

/** A server of the broker's process, listening on 127.0.0.1 (port 0: any). */
export interface MqttListener {
  port: number;
  close(): Promise<void>;
}

/** How the clients reach aedes: what differs between `mqtt` (TCP) and `mqtt-ws`. */
export interface MqttTransport {
  /** Peer name and registry key. */
  name: string;
  /** The workloads' transports the peer runs (see {@link NetPeer.transports}). */
  transports: readonly Transport[];
  /** URL scheme the clients connect with: `mqtt` (TCP) or `ws`. */
  scheme: 'mqtt' | 'ws';
  /** npm packages the transport needs besides aedes and mqtt (checked and versioned). */
  packages: readonly string[];
  /** MQTT.js options on top of the common ones. */
  clientOptions: IClientOptions;
  /** Broker side: listens on 127.0.0.1, port 0, and hands every connection to `handle`. */
  listen(handle: (conn: Connection) => void): Promise<MqttListener>;
}

/**
 * Neither MQTT.js nor aedes disables Nagle; ws, ioredis and nats.js do. Without it, paced small
 * messages wait for delayed ACKs (W4 p50 ≈ 27 ms here), so both ends of every MQTT connection
 * get TCP_NODELAY, as the other peers have. (Over WebSocket, ws already sets it on its sockets.)
 */
function noDelay(stream: unknown): void {
  if (stream instanceof net.Socket) stream.setNoDelay(true);
}

async function connectTo(t: MqttTransport, endpoint: Endpoint): Promise<MqttClient> {
  if ('path' in endpoint) throw new Error(`${t.name} runs over TCP only here`);
  const { connectAsync } = await import('mqtt');
  const client = await connectAsync(`${t.scheme}://${endpoint.host}:${endpoint.port}`, {
    ...t.clientOptions,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0
  });
  noDelay(client.stream);
  client.on('error', () => undefined); // surfaced through publish callbacks and loss
  return client;
}

class MqttPublisher implements Publisher {
  private inFlight: number;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private wakeBelow: number;
  private readonly options: { qos: Qos };
  private readonly onAckBound: (err?: Error | null) => void;

  constructor(
    private readonly client: MqttClient,
    private readonly qos: Qos,
    readonly endpoint: Endpoint
  ) {
    this.inFlight = 0;
    this.failure = undefined;
    this.wake = undefined;
    this.wakeBelow = 0;
    this.options = { qos };
    this.onAckBound = (err) => this.onAck(err);
  }

  send(payload: Buffer): boolean {
    if (this.qos === 0) {
      this.client.publish(TOPIC, payload, this.options);
    } else {
      this.client.publish(TOPIC, payload, this.options, this.onAckBound);
      this.inFlight++;
    }
    return this.inFlight < WINDOW && !this.client.stream.writableNeedDrain;
  }

  async drain(): Promise<void> {
    await this.waitBelow(WINDOW >> 1);
    await this.socketDrained();
  }

  async flush(): Promise<void> {
    await this.waitBelow(1);
    await this.socketDrained();
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private socketDrained(): Promise<void> {
    const stream = this.client.stream;
    if (!stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
    });
  }

  /** Resolves once fewer than `limit` PUBACKs are outstanding. */
  private waitBelow(limit: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.inFlight < limit) return Promise.resolve();
    this.wakeBelow = limit;
    return new Promise((resolve) => (this.wake = resolve));
  }

  private onAck(err?: Error | null): void {
    this.inFlight--;
    if (err !== undefined && err !== null) this.failure ??= err;
    if (this.wake !== undefined && (this.inFlight < this.wakeBelow || this.failure !== undefined)) {
      const wake = this.wake;
      this.wake = undefined;
      wake(); // a failure surfaces at the next drain()/flush()
    }
  }
}

/** Plain TCP, as `mqtt://` clients and an MQTT broker normally speak. */
async function listenTcp(handle: (conn: Connection) => void): Promise<MqttListener> {
  const server = net.createServer((socket) => {
    noDelay(socket);
    handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An aedes broker and MQTT.js clients over `t`. */
export function mqttPeer(t: MqttTransport): NetPeer {
  const packages = ['mqtt', 'aedes', ...t.packages];
  return {
    name: t.name,
    hasQos1: true,
    transports: t.transports,

    available: () => missingPackages(packages),

    versions: () => Promise.resolve(packageVersions(packages)),

    startBroker: () => forkBroker(t.name),

    async serveBroker() {
      const { Aedes } = await import('aedes');
      const broker = await Aedes.createBroker();
      const listener = await t.listen((conn) => broker.handle(conn));
      return {
        port: listener.port,
        close: async () => {
          await new Promise<void>((resolve) => broker.close(resolve)); // ends the clients too
          await listener.close();
        }
      };
    },

    async openPublisher(endpoint, qos) {
      return new MqttPublisher(await connectTo(t, endpoint), qos, endpoint);
    },

    async openSubscriber(endpoint, qos, onMessage) {
      const client = await connectTo(t, endpoint);
      client.on('message', (_topic: string, payload: Buffer) => onMessage(payload));
      await client.subscribeAsync(TOPIC, { qos });
      return { close: () => client.endAsync(true) };
    }
  };
}

export const mqtt: NetPeer = {
  ...mqttPeer({
    name: 'mqtt',
    transports: ['tcp'],
    scheme: 'mqtt',
    packages: [],
    clientOptions: {},
    listen: listenTcp
  }),
  noUnix: "this suite's aedes broker serves TCP only (MQTT.js connects over TCP or WebSocket)"
};
