/**
 * mqtt-ws: MQTT over WebSocket, as browsers speak it. The same aedes broker and MQTT.js clients
 * as `mqtt` (peers/mqtt.ts), QoS 0 in W6–W10: the broker's process serves a `ws`
 * `WebSocketServer` and hands aedes each connection as a stream (`createWebSocketStream`), the
 * way aedes documents it; clients connect to `ws://127.0.0.1:PORT` (MQTT.js runs `ws` in Node).
 * Compression is off on both sides, as in the other WebSocket peers.
 *
 * Both ends write an MQTT packet as a few separate stream writes (mqtt-packet's
 * `writeToStream`), and the WebSocket stream sends each write as a WebSocket message of its own,
 * so a 64 B publish travels as several small frames: that is what this stack does out of the box.
 */
import type { Connection } from 'aedes';
import type { AddressInfo } from 'node:net';
import { type MqttListener, mqttPeer } from './mqtt.js';
import { closeWsServer, listenWs } from './ws.js';

async function listenWebSocket(handle: (conn: Connection) => void): Promise<MqttListener> {
  const { createWebSocketStream } = await import('ws');
  const { server } = await listenWs({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket) => handle(createWebSocketStream(socket)));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => closeWsServer(server)
  };
}

export const mqttWs = mqttPeer({
  name: 'mqtt-ws',
  transports: ['ws'],
  scheme: 'ws',
  packages: ['ws'],
  clientOptions: { wsOptions: { perMessageDeflate: false } },
  listen: listenWebSocket
});
