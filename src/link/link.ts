import { ErrorCode, RingbusError } from '../errors.js';
import { reconnectDelay } from './backoff.js';
import type { PublishOptions } from '../options.js';
import { PublishFields, readPublishOptions } from '../publish-options.js';
import { parseSubject } from '../subject.js';
import type { Backoff, LinkStats } from './options.js';
import type { LinkSession, SessionCounters } from './session.js';

/** Where a link is: connecting (first time or again), up, down (waiting to reconnect), closed. */
export type LinkState = 'connecting' | 'up' | 'down' | 'closed';

/** What a link needs from its bus. @internal */
export interface LinkHost {
  readonly links: Set<Link>;
  nextLinkId(): number;
  linkEvent(event: 'link-up', link: Link): void;
  linkEvent(event: 'link-down', link: Link, error: RingbusError | undefined): void;
}

/** Opens one session (transport connection + protocol) for a client link. @internal */
export type Dialer = (link: Link) => Promise<LinkSession>;

/**
 * A connection between this bus and another: made by `bus.connect()` (it reconnects by itself
 * until closed) or accepted by a listener (it ends when its connection does).
 *
 * @example
 * ```ts
 * const link = await bus.connect('tcp://127.0.0.1:4222');
 * await link.publish('orders.new', { id: 1 }, { qos: 1 }); // accepted by the remote bus
 * await link.flush(); // everything sent before is in effect there
 * await link.close();
 * ```
 */
export class Link {
  /** The URL connected to, or the peer's address for an accepted link. */
  readonly url: string;
  /** 'out' for `bus.connect()`, 'in' for a link a listener accepted. */
  readonly direction: 'in' | 'out';
  /** True in raw (nanoQ) mode. */
  readonly raw: boolean;
  /** Per-bus link number, unique for the life of the bus. */
  readonly id: number;
  private current: LinkSession | undefined = undefined;
  private status: LinkState = 'connecting';
  private reconnects = 0;
  private everUp = false;
  /** The peer of the last session, while none is current. */
  private lastPeer: string | undefined = undefined;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Why the last session ended, to explain a failed attempt. */
  private lastError: RingbusError | undefined = undefined;
  private readonly scratch = new PublishFields();
  /** Counters of sessions that ended, so totals never go backwards across reconnects. */
  private readonly past = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    refused: 0,
    dropped: 0
  };

  /** @internal links are made by `bus.connect()` and listeners */
  constructor(
    private readonly host: LinkHost,
    url: string,
    direction: 'in' | 'out',
    raw: boolean,
    private readonly dial: Dialer | undefined,
    private readonly backoff: Backoff | undefined
  ) {
    this.url = url;
    this.direction = direction;
    this.raw = raw;
    this.id = host.nextLinkId();
    host.links.add(this);
  }

  /** 'connecting' | 'up' | 'down' | 'closed'. */
  get state(): LinkState {
    return this.status;
  }

  /** The peer bus's id (undefined in raw mode or before the first handshake). */
  get peer(): string | undefined {
    return this.current?.peer ?? this.lastPeer;
  }

  /**
   * Publishes on the remote bus (not on this one). With `qos: 1` it resolves once the remote bus
   * accepted the message; with QoS 0 once it is queued for sending.
   *
   * @throws {@link RingbusError} (as a rejection) `ERR_INVALID_TOPIC`, `ERR_INVALID_OPTIONS`,
   *   `ERR_LINK_DOWN` (not up, or it went down before the remote bus answered: the message may or
   *   may not have landed), `ERR_FORBIDDEN`, `ERR_QUEUE_FULL` (from the remote bus), `ERR_PAYLOAD`
   */
  async publish(topic: string, payload: unknown, options?: PublishOptions): Promise<void> {
    parseSubject(topic);
    const o = readPublishOptions(options ?? {}, this.scratch);
    const session = this.current;
    if (this.status !== 'up' || session === undefined) throw linkDown(this.status);
    await session.publish({ topic, payload, headers: o.headers }, o.qos, o.retain, o.ttlMs);
  }

  /**
   * A round trip: resolves once everything either side sent before it is in effect on the other
   * (subscriptions registered, messages queued), so callers can sequence without sleeping.
   *
   * @throws {@link RingbusError} (as a rejection) `ERR_LINK_DOWN`
   */
  flush(): Promise<void> {
    const session = this.current;
    if (this.status !== 'up' || session === undefined) return Promise.reject(linkDown(this.status));
    return session.ping();
  }

  /** Closes the link (goodbye to the peer, no reconnect); idempotent. */
  close(): Promise<void> {
    if (this.status === 'closed') return Promise.resolve();
    const wasUp = this.status === 'up';
    this.status = 'closed';
    clearTimeout(this.retryTimer);
    this.current?.close();
    this.host.links.delete(this);
    if (wasUp) this.host.linkEvent('link-down', this, undefined);
    return Promise.resolve();
  }

  /** Link counters for `bus.stats()`. */
  stats(): LinkStats {
    const s = this.current;
    const c: SessionCounters | undefined = s?.counters;
    const p = this.past;
    return {
      id: this.id,
      url: this.url,
      direction: this.direction,
      state: this.status,
      peer: this.peer,
      raw: this.raw,
      reconnects: this.reconnects,
      framesIn: p.framesIn + (c?.framesIn ?? 0),
      framesOut: p.framesOut + (s?.framesOut ?? 0),
      bytesIn: p.bytesIn + (c?.bytesIn ?? 0),
      bytesOut: p.bytesOut + (s?.bytesOut ?? 0),
      messagesIn: p.messagesIn + (c?.messagesIn ?? 0),
      messagesOut: p.messagesOut + (c?.messagesOut ?? 0),
      queued: s?.queued ?? 0,
      dropped: p.dropped + (s?.dropped ?? 0),
      refused: p.refused + (c?.refused ?? 0),
      inFlight: s?.inFlight ?? 0
    };
  }

  /** @internal first connection of a client link: resolves when up, rejects (and closes) on failure */
  async start(): Promise<void> {
    try {
      await this.attempt();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** @internal adopts the session of an accepted connection */
  adopt(session: LinkSession): void {
    this.current = session;
  }

  /**
   * @internal {@link SessionEvents.up}: for a client, up only after the first flush round trip;
   * afterwards, a session that healed itself (a bridge's client reconnected) is up again
   */
  sessionUp(session: LinkSession): void {
    if (this.direction === 'in' || (this.status === 'down' && session === this.current))
      this.markUp(session);
  }

  /** @internal {@link SessionEvents.down}: the session lost its peer and reconnects by itself */
  sessionDown(session: LinkSession, error: RingbusError | undefined): void {
    if (session !== this.current || this.status !== 'up') return;
    this.status = 'down';
    this.host.linkEvent('link-down', this, error);
  }

  /** @internal {@link SessionEvents.closed} */
  sessionClosed(session: LinkSession, error: RingbusError | undefined): void {
    this.lastError = error;
    if (session !== this.current) return;
    this.fold(session);
    // Its counters are in `past` now; stats must not add them twice while the link is down.
    this.lastPeer = session.peer;
    this.current = undefined;
    if (this.status === 'closed') return;
    const wasUp = this.status === 'up';
    this.status = this.direction === 'out' ? 'down' : 'closed';
    if (this.status === 'closed') this.host.links.delete(this);
    if (wasUp) this.host.linkEvent('link-down', this, error);
    if (this.direction === 'out' && wasUp) this.scheduleReconnect(error);
  }

  private async attempt(): Promise<void> {
    this.status = 'connecting';
    this.lastError = undefined;
    let session: LinkSession;
    try {
      session = await this.dial!(this);
      // The await may have seen close() (of the link or its bus): nobody else closes this session.
      if ((this.status as LinkState) === 'closed') {
        session.close();
        throw new RingbusError(ErrorCode.CLOSED, 'the link was closed while it connected');
      }
      this.current = session;
      await session.ping(); // both sides' subscriptions are registered once this returns
    } catch (err) {
      throw connectError(this.url, this.lastError ?? err);
    }
    if (this.status !== 'connecting' || this.current !== session) throw linkDown(this.status);
    this.markUp(session);
  }

  private markUp(session: LinkSession): void {
    if (this.everUp) this.reconnects++;
    this.everUp = true;
    this.current = session;
    this.status = 'up';
    this.failures = 0;
    this.host.linkEvent('link-up', this);
  }

  private scheduleReconnect(error: RingbusError | undefined): void {
    // A refused token will not become right by retrying.
    if (this.backoff === undefined || error?.code === ErrorCode.AUTH) return;
    const delay = reconnectDelay(this.backoff, this.failures);
    this.failures++;
    this.retryTimer = setTimeout(() => {
      if (this.status === 'closed') return;
      this.attempt().then(
        () => undefined,
        (err: unknown) => {
          if (this.status === 'closed') return;
          if (this.current !== undefined && this.current.isUp) this.current.close();
          this.status = 'down';
          this.scheduleReconnect(err instanceof RingbusError ? err : undefined);
        }
      );
    }, delay);
  }

  private fold(session: LinkSession): void {
    const p = this.past;
    const c = session.counters;
    p.framesIn += c.framesIn;
    p.framesOut += session.framesOut;
    p.bytesIn += c.bytesIn;
    p.bytesOut += session.bytesOut;
    p.messagesIn += c.messagesIn;
    p.messagesOut += c.messagesOut;
    p.refused += c.refused;
    p.dropped += session.dropped;
  }
}

/** A refused token stays ERR_AUTH (and a bridge's ERR_BRIDGE, a close ERR_CLOSED); anything else is ERR_CONNECT. */
function connectError(url: string, cause: unknown): RingbusError {
  if (
    cause instanceof RingbusError &&
    (cause.code === ErrorCode.AUTH ||
      cause.code === ErrorCode.CONNECT ||
      cause.code === ErrorCode.INVALID_OPTIONS ||
      cause.code === ErrorCode.BRIDGE ||
      cause.code === ErrorCode.CLOSED)
  )
    return cause;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new RingbusError(ErrorCode.CONNECT, `could not connect to ${url}: ${why}`, { cause });
}

function linkDown(state: LinkState): RingbusError {
  return new RingbusError(
    ErrorCode.LINK_DOWN,
    `the link is ${state}; wait for 'link-up' or retry after it reconnects`
  );
}
