/** What the bridge suite needs of a client: a fresh publisher and subscribers per run. */
import type { Workload } from './workload.js';

/** The nats-server every run connects to (loopback). */
export interface Server {
  readonly host: string;
  readonly port: number;
}

/** One run's connections: a publisher and the workload's subscribers. */
export interface Rig {
  /**
   * QoS 0: publishes one message now, or returns a promise when it has to wait for room first.
   * QoS 1: publishes one message; the promise settles as the client's publish call does.
   */
  send(): Promise<unknown> | undefined;
  /** Resolves once the server answered a PING the publisher sent after its messages so far. */
  flush(): Promise<void>;
  /** Messages received (QoS 1: and acked) by all subscribers together so far. */
  received(): number;
  /** Closes every connection and bus it opened. */
  close(): Promise<void>;
}

export interface BridgeClient {
  /** `plain` or `ringbus`. */
  readonly id: string;
  /** Row label. */
  readonly name: string;
  /** Connects a publisher and `workload.subscribers` subscribers; resolves once they all listen. */
  open(server: Server, workload: Workload): Promise<Rig>;
}

/** Runs the closers in reverse order of registration; what `Rig.close` does. */
export class Closers {
  private readonly all: (() => Promise<unknown>)[] = [];

  add(close: () => Promise<unknown>): void {
    this.all.push(close);
  }

  async close(): Promise<void> {
    for (const c of this.all.splice(0).reverse()) await c();
  }
}
