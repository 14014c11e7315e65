import type {
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  Msg,
  NatsConnection,
  Subscription as NatsSub
} from 'nats';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import type { Queue } from '../../src/queue.js';
import { type NatsModule, bridgeError } from './bridge-error.js';

/** What a channel feed needs from its session. @internal */
export interface FeedHost {
  readonly api: NatsModule;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** A JetStream message for `queue`. */
  fromStream(queue: Queue, m: JsMsg): void;
  /** A queue-group message for `queue`. */
  fromGroup(queue: Queue, m: Msg): void;
  /** Something went wrong that the application should hear about. */
  report(error: RingbusError): void;
  /** The feed of `queue` fell back to its queue group: it diverts nothing any more. */
  fellBack(queue: Queue): void;
}

/** JetStream pull requests expire after this (heartbeats every half): a lost server shows fast. */
export const PULL_EXPIRES_MS = 2000;
/** Messages a consume keeps requested from JetStream at most. */
const PULL_BATCH = 256;
/**
 * The shortest ack wait a consumer gets: the session tells JetStream every second that held
 * messages are in progress, so a shorter one would redeliver messages a host still holds.
 */
const MIN_ACK_WAIT_MS = 2000;
/** First and largest wait before a consumer set-up that failed (NATS had no leader, say) is tried again. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * Feeds one named channel from NATS, so its members on every host share one queue: a QoS 1
 * channel consumes the durable JetStream consumer named after it (on the stream that captures
 * its pattern); a QoS 0 channel, or a QoS 1 one no stream captures, joins the NATS queue group
 * of that name. @internal
 */
export class ChannelFeed {
  /** Settles once the feed is consuming (or has failed and fallen back). */
  readonly ready: Promise<void>;
  /** True while the channel is (to be) fed by JetStream rather than a queue group. */
  isStream: boolean;
  private group: NatsSub | undefined = undefined;
  private consuming: ConsumerMessages | undefined = undefined;
  private stopped = false;
  /** A new durable consumer starts here: what is published from the channel's creation on. */
  private readonly since = new Date().toISOString();

  constructor(
    private readonly host: FeedHost,
    private readonly queue: Queue
  ) {
    this.isStream = queue.qos === 1;
    this.ready = this.isStream ? this.consume() : Promise.resolve(this.joinGroup());
  }

  stop(): void {
    this.stopped = true;
    this.group?.unsubscribe();
    this.consuming?.stop();
  }

  private joinGroup(): void {
    if (this.stopped) return;
    const queue = this.queue;
    this.group = this.host.nc.subscribe(queue.pattern, {
      queue: queue.channel,
      callback: (err, m) => {
        if (err === null) this.host.fromGroup(queue, m);
      }
    });
  }

  /**
   * Finds the stream and consumes the channel's durable consumer. Only a missing stream makes the
   * channel fall back to the queue group; anything else (a timeout, no JetStream leader during a
   * failover) is tried again, so a channel set up during an outage is fed by JetStream after it.
   */
  private async consume(retryMs = RETRY_FIRST_MS): Promise<void> {
    const queue = this.queue;
    const name = queue.channel!;
    let stream: string | undefined;
    try {
      stream = await this.host.jsm.streams.find(queue.pattern);
      await this.durable(stream, name);
      const consumer = await this.host.js.consumers.get(stream, name);
      if (this.stopped) return;
      this.consuming = await consumer.consume({
        max_messages: Math.min(PULL_BATCH, queue.queueSize),
        expires: PULL_EXPIRES_MS,
        callback: (m) => this.host.fromStream(queue, m)
      });
    } catch (err) {
      if (this.stopped) return;
      if (stream === undefined && isNoStream(err)) {
        this.fallBack(
          `no JetStream stream captures '${queue.pattern}' (create one: streams in docs/scale-out.md)`,
          err
        );
        return;
      }
      if (isRefused(err)) {
        this.fallBack(`JetStream refused its durable consumer '${name}'`, err);
        return;
      }
      if (retryMs === RETRY_FIRST_MS) {
        this.host.report(
          bridgeError(
            `channel '${name}': its durable consumer${stream === undefined ? '' : ` on stream '${stream}'`} could not be set up; trying again`,
            err
          )
        );
      }
      setTimeout(() => {
        if (!this.stopped) void this.consume(Math.min(RETRY_MAX_MS, retryMs * 2));
      }, retryMs).unref();
    }
  }

  /** Creates the channel's durable consumer unless a host of the channel already did. */
  private async durable(stream: string, name: string): Promise<void> {
    if (await this.existing(stream, name)) return;
    const { AckPolicy, DeliverPolicy, nanos } = this.host.api;
    try {
      await this.host.jsm.consumers.add(stream, {
        durable_name: name,
        filter_subject: this.queue.pattern,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(Math.max(MIN_ACK_WAIT_MS, this.queue.ackTimeoutMs)),
        // Everyone's unacked messages at once: the channel's window.
        max_ack_pending: this.queue.queueSize,
        // Ringbus counts attempts and dead-letters; JetStream offers a message until it is acked.
        max_deliver: -1,
        // Like a new channel: what is published from its creation on (not from the consumer's,
        // which is made a little later: a message published meanwhile is in the stream already).
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: this.since
      });
    } catch (err) {
      // A host of the same channel made it first (with its own start time): use that one.
      if (!(await this.existing(stream, name))) throw err;
    }
  }

  /** Does the channel's consumer exist? @throws when one of that name filters another pattern */
  private async existing(stream: string, name: string): Promise<boolean> {
    let filter: string | undefined;
    try {
      filter = (await this.host.jsm.consumers.info(stream, name)).config.filter_subject;
    } catch {
      return false; // not there (yet)
    }
    if (filter === this.queue.pattern) return true;
    // Channels are (pattern, name): another pattern's channel of this name has the consumer.
    throw new RingbusError(
      ErrorCode.BRIDGE,
      `it filters '${filter}', not '${this.queue.pattern}': give channels on different patterns different names`
    );
  }

  /** Reports why the channel cannot consume JetStream and joins the queue group instead. */
  private fallBack(what: string, err: unknown): void {
    this.isStream = false;
    this.host.report(
      bridgeError(
        `channel '${this.queue.channel}': ${what}; it takes core NATS messages (at most once across NATS) instead`,
        err
      )
    );
    this.host.fellBack(this.queue);
    this.joinGroup();
  }
}

/**
 * Will trying again help? Yes for what a failover looks like (timeouts, no responders, a lost
 * connection, JetStream errors 5xx); no for the rest (a name NATS refuses, a conflicting consumer).
 */
function isRefused(err: unknown): boolean {
  if (err instanceof RingbusError) return true;
  const e = err as { code?: unknown; api_error?: { code?: number } };
  if (e.api_error?.code !== undefined) return e.api_error.code < 500;
  const code = typeof e.code === 'string' ? e.code : '';
  return !(
    code === 'TIMEOUT' ||
    code === '503' ||
    code.startsWith('CONNECTION_') ||
    code === 'DISCONNECT'
  );
}

/** The client's answer when no stream captures a subject (nats.js has no code for it). */
function isNoStream(err: unknown): boolean {
  return err instanceof Error && err.message === 'no stream matches subject';
}
