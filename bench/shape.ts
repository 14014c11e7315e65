/**
 * What every contender is built from: the payloads, the subscriber layout of a scenario, and the
 * handlers that count deliveries. Shared by the ringbus and the peer adapters so both sides wire
 * the exact same workload.
 */

export interface Payload {
  x: number;
  y: number;
  seq: number;
}

/** Messages per ringbus burst: the default queueSize, so a burst never overflows a queue. */
export const BURST = 1024;

/**
 * Built once before any timing and reused round-robin, so the publishing loop allocates nothing
 * and every library gets the same objects.
 */
export const payloads: readonly Payload[] = Array.from({ length: BURST }, (_, i) => ({
  x: 1,
  y: 2,
  seq: i
}));
/** `payloads[i & PAYLOAD_MASK]` cycles through them without a modulo. */
export const PAYLOAD_MASK = BURST - 1;

/** Subscriber layout of a scenario; every library maps it onto its own API. */
export interface Shape {
  /** The topic / event name that is published. */
  topic: string;
  /** ringbus: the subscription pattern (may be a wildcard matching `topic`); peers use `topic`. */
  pattern: string;
  /** Independent subscribers of `topic` (fan-out), or the consumers of one shared channel. */
  consumers: number;
  /** True: the consumers share one queue and each message goes to one of them. */
  shared: boolean;
  /** Other topics with one subscriber each that are never published: the routing table size. */
  otherTopics: number;
}

/** Where handlers count what they received; read by the harness to check every run. */
export interface Sink {
  count: number;
  /** Last seen `seq`: the handlers read the payload, as a real one would. */
  last: number;
}

export function newSink(): Sink {
  return { count: 0, last: 0 };
}

/** One distinct handler closure per subscriber, as separate call sites would have. */
export function payloadHandler(sink: Sink): (p: Payload) => void {
  return (p) => {
    sink.count++;
    sink.last = p.seq;
  };
}

/**
 * The listeners a peer attaches to `shape.topic`. For a shared channel, peers have no such
 * concept: one listener round-robins by hand to the consumers, the cheapest equivalent.
 */
export function peerListeners(shape: Shape, sink: Sink): ((p: Payload) => void)[] {
  const handlers = Array.from({ length: shape.consumers }, () => payloadHandler(sink));
  if (!shape.shared) return handlers;
  let next = 0;
  return [
    (p) => {
      handlers[next](p);
      next = next + 1 === handlers.length ? 0 : next + 1;
    }
  ];
}

/** Names of the never-published topics of a shape. */
export function otherTopicNames(shape: Shape): string[] {
  return Array.from({ length: shape.otherTopics }, (_, i) => `other.t${i}.evt`);
}

/** Listener for the other topics: never called in a correct run, so it breaks the count check. */
export function strayHandler(sink: Sink): () => void {
  return () => {
    sink.count += 1e9;
  };
}
