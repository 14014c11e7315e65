/**
 * ws-batched: the practical limit of a WebSocket fan-out in Node. The publisher varint-frames
 * every payload into one chunk per tick (as raw-net does) and sends that chunk as one binary
 * message to every client, the same bytes to all; each client splits its messages back into
 * payloads. No topics, no acks, nothing else.
 */
import type { WebSocketServer } from 'ws';
import { missingPackage, packageVersion } from '../harness.js';
import type { Endpoint, NetPeer, Publisher } from '../peer.js';
import { FrameBatcher, FrameDecoder } from '../varint-framing.js';
import { ClientWriter, connectWs, listenWs } from './ws.js';

class BatchedPublisher implements Publisher {
  private readonly writer: ClientWriter;
  private readonly batcher: FrameBatcher;

  constructor(
    server: WebSocketServer,
    readonly endpoint: Endpoint
  ) {
    this.writer = new ClientWriter(server);
    this.batcher = new FrameBatcher((chunk) => void this.writer.sendToAll(chunk));
  }

  send(payload: Buffer): boolean {
    this.batcher.push(payload);
    return !this.writer.behind;
  }

  drain(): Promise<void> {
    return this.writer.drained();
  }

  flush(): Promise<void> {
    this.batcher.flush();
    return this.writer.flushed();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

export const wsBatched: NetPeer = {
  name: 'ws-batched',
  hasQos1: false,
  transports: ['ws'],

  available: () => missingPackage('ws'),

  versions: () => Promise.resolve({ ws: packageVersion('ws') }),

  async openPublisher(endpoint) {
    const { server, bound } = await listenWs(endpoint);
    return new BatchedPublisher(server, bound);
  },

  openSubscriber(endpoint, _qos, onMessage) {
    const decoder = new FrameDecoder(onMessage);
    return connectWs(endpoint, (data) => decoder.push(data));
  }
};
