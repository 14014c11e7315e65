/**
 * The network contenders, in table order: ringbus first (the subject), then the peers. A new
 * contender is one more {@link NetPeer} module added here.
 */
import type { NetPeer } from './peer.js';
import { mqtt } from './peers/mqtt.js';
import { mqttWs } from './peers/mqtt-ws.js';
import { nats } from './peers/nats.js';
import { natsWs } from './peers/nats-ws.js';
import { rawNet } from './peers/raw-net.js';
import { redis } from './peers/redis.js';
import { ringbus } from './peers/ringbus.js';
import { socketIo } from './peers/socket-io.js';
import { ws } from './peers/ws.js';
import { wsBatched } from './peers/ws-batched.js';
import { zeromq } from './peers/zeromq.js';

export const NET_PEERS: readonly NetPeer[] = [
  ringbus,
  rawNet,
  wsBatched,
  ws,
  nats,
  natsWs,
  redis,
  mqtt,
  mqttWs,
  zeromq,
  socketIo
];

export function peerByName(name: string): NetPeer {
  const peer = NET_PEERS.find((p) => p.name === name);
  if (peer === undefined) throw new Error(`unknown net peer ${name}`);
  return peer;
}
