import type { Queue } from './queue.js';
import type { TopicLog } from './topic-log.js';
import type { ReplyTarget } from './message.js';
import type { PublishOptions } from './options.js';

/** Routing state of one concrete topic: its matching queues, cached until the next (un)subscribe. @internal */
export class TopicState {
  readonly name: string;
  readonly tokens: string[];
  /** The bus generation `targets` was computed at; -1 = never. */
  gen = -1;
  targets: Queue[] = [];
  /** The shared log of this topic's direct queues, if it has any. */
  log: TopicLog | undefined = undefined;
  /** Some target has overflow 'block': publish must check for room first. */
  blocking = false;
  /** Keys of the durable channels among the targets: a QoS 1 publish is recorded in the store. */
  durable: string[] | undefined = undefined;
  published = 0;

  constructor(name: string, tokens: string[]) {
    this.name = name;
    this.tokens = tokens;
  }
}

/** What a topic handle publishes through: the bus. @internal */
export interface TopicHost {
  publishTo(
    state: TopicState,
    payload: unknown,
    options: PublishOptions | undefined,
    reply: ReplyTarget | undefined
  ): number;
}

/**
 * A pre-resolved topic: publishing through it skips the topic lookup that `bus.publish` does.
 * Get one with `bus.topic(name)`; it stays valid for the life of the bus.
 *
 * @typeParam P - the payload type
 */
export class Topic<P = unknown> {
  private readonly bus: TopicHost;
  private readonly state: TopicState;

  /** @internal made by `bus.topic()` */
  constructor(bus: TopicHost, state: TopicState) {
    this.bus = bus;
    this.state = state;
  }

  /** The topic name. */
  get name(): string {
    return this.state.name;
  }

  /**
   * Publishes on this topic; same semantics as `bus.publish`.
   *
   * @param payload - passed by reference to every subscriber
   * @param options - `qos`, `ttlMs`, `headers`, `retain`
   * @returns the number of queues the message entered
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS`, `ERR_QUEUE_FULL`, `ERR_CLOSED`
   */
  publish(payload: P, options?: PublishOptions): number {
    return this.bus.publishTo(this.state, payload, options, undefined);
  }
}
