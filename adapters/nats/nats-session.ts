import type {
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  Msg,
  MsgHdrs,
  NatsConnection,
  Subscription as NatsSub
} from 'nats';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { InboundFrame } from '../../src/frames/envelope.js';
import { SubjectCache } from '../../src/frames/subject-cache.js';
import { MsgFlag } from '../../src/frames/frame-type.js';
import { MAX_ACK_TIMEOUT_MS } from '../../src/limits.js';
import type { BridgeHost } from '../../src/link/bridge.js';
import { covers } from '../../src/link/permissions.js';
import {
  type InterestWatcher,
  type LinkSession,
  type SessionCounters,
  zeroCounters
} from '../../src/link/session.js';
import type { Message, PublishMeta } from '../../src/message.js';
import type { SubscribeOptions } from '../../src/options.js';
import type { Feeder, Queue } from '../../src/queue.js';
import { matches, parsePattern } from '../../src/subject.js';
import type { Subscription } from '../../src/subscription.js';
import { AckSubject } from './ack-subject.js';
import { type NatsModule, bridgeError, tooLarge } from './bridge-error.js';
import { ImportSubscriptions } from './import-subscriptions.js';
import { ChannelFeed, type FeedHost, PULL_EXPIRES_MS } from './channel-feed.js';
import { type StoreOutcome, StreamPublisher } from './stream-publisher.js';
import {
  Header,
  MSG_ID_HEADER,
  NatsOut,
  coreOf,
  isPlainQos1,
  isRetry,
  readNatsMessage,
  replyOf,
  subjectOf,
  writeNatsMessage
} from './nats-message.js';
import type { BridgeSettings } from './options.js';

/** What a bridge session reports to its link: unlike a framed session it heals by itself. @internal */
export interface BridgeSessionEvents {
  up(session: LinkSession): void;
  down(session: LinkSession, error: RingbusError): void;
  closed(session: LinkSession, error: RingbusError | undefined): void;
}

/** First and largest wait before an exported QoS 1 message is offered to JetStream again. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;
/** Export failures come in bursts (a failover fails every message in flight): one report per this. */
const REPORT_EVERY_MS = 5000;
/** A released JetStream message is offered again after this host's pending pulls expired. */
const RELEASE_DELAY_MS = PULL_EXPIRES_MS + 500;
/** Replies this bus owes to NATS requesters are forgotten after this long, the oldest first beyond a count. */
const REPLY_TTL_MS = 60_000;
const MAX_OWED_REPLIES = 4096;

/**
 * One NATS connection seen as a link (docs/scale-out.md): exports (local messages on `export`
 * patterns → NATS; QoS 1 through JetStream, acked locally once JetStream stored them), imports
 * (NATS subjects on `import` patterns → local subscribers), and channel feeds (a named channel
 * inside an import is fed by a NATS queue group, or by a durable JetStream consumer at QoS 1).
 * The NATS client reconnects by itself; the link goes down and up with it.
 *
 * @internal
 */
export class NatsSession implements LinkSession, Feeder, InterestWatcher, FeedHost {
  readonly counters: SessionCounters = zeroCounters();
  /** {@link Upstream.plainMetas} */
  readonly plainMetas: (PublishMeta | undefined)[] = [];
  /** {@link Upstream.skipsRetained}: exporting them at every connect would repeat old news. */
  readonly skipsRetained = true;
  private readonly frame = new InboundFrame();
  /** Subjects of imported messages: a stream mostly repeats its subjects. */
  private readonly subjects = new SubjectCache();
  private readonly ackSubject = new AckSubject();
  /** The message being sent, and the options of its core publish: refilled, never allocated. */
  private readonly out = new NatsOut();
  private readonly publishOptions: { headers?: MsgHdrs; reply?: string } = {};
  private open = true;
  private readonly exportTokens: string[][];
  private readonly importTokens: string[][];
  private readonly exportSubs: Subscription[] = [];
  private readonly imports: ImportSubscriptions;
  /** Replies to this bus's requests that went out through NATS (a bus that exports). */
  private readonly inboxSub: NatsSub | undefined;
  private readonly feeds = new Map<Queue, ChannelFeed>();
  /** JetStream messages delivered into a local channel and not yet settled there, by tag. */
  private readonly held = new Map<number, { m: JsMsg; queue: Queue }>();
  /** Makes this session's Nats-Msg-Ids its own: a restarted bus counts message ids from 1 again. */
  private readonly idPrefix: string;
  /** close() waits for the export queue to go out (bounded); meanwhile it is closing. */
  private closing = false;
  private tagSeq = 0;
  /** Exported QoS 1 messages waiting for JetStream's acknowledgement. */
  private storing = 0;
  /** Stores QoS 1 exports in JetStream (only when there are exports). */
  private readonly publisher: StreamPublisher<Storing> | undefined;
  /** When an export failure was last reported (bus clock). */
  private reportedAt = -Infinity;
  /** Reply subjects of imported requests, with when they stop being owed. */
  private readonly replies = new Map<string, number>();
  private replySub: Subscription | undefined = undefined;
  private sweep: ReturnType<typeof setInterval> | undefined = undefined;

  constructor(
    readonly host: BridgeHost,
    readonly api: NatsModule,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly settings: BridgeSettings,
    private readonly events: BridgeSessionEvents
  ) {
    this.idPrefix = `${host.id}.${Math.random().toString(36).slice(2, 10)}.`;
    this.exportTokens = settings.exports.map((p) => parsePattern(p));
    this.importTokens = settings.imports.map((p) => parsePattern(p));
    this.imports = new ImportSubscriptions(settings.imports, (p) => this.subscribeImport(p));
    this.inboxSub = undefined;
    if (settings.exports.length > 0) {
      this.inboxSub = this.subscribeNats(`$inbox.${host.id}.>`);
      this.publisher = new StreamPublisher(nc, api.createInbox(), settings.timeoutMs, (s, o) =>
        this.stored(s, o)
      );
    }
    for (const pattern of settings.exports) {
      this.exportSubs.push(
        host.subscribeProxy(pattern, (msg) => this.export(msg), exportOptions(settings), this)
      );
    }
    const interest = host.interest();
    for (const [pattern, queue] of interest.patterns) this.patternAdded(pattern, queue);
    for (const queue of interest.queues) this.queueChanged(queue);
    host.watch(this);
    void this.watchStatus();
    nc.closed().then(
      (err) =>
        this.end(err === undefined ? undefined : bridgeError('the NATS connection closed', err)),
      () => undefined
    );
    this.sweep = setInterval(() => this.tick(), 1000);
    this.sweep.unref();
  }

  /** The NATS server this session is connected to. */
  get peer(): string | undefined {
    const info = this.nc.info;
    return info === undefined ? undefined : `nats:${info.server_name}`;
  }

  get isUp(): boolean {
    return this.open && !this.nc.isClosed();
  }

  get framesOut(): number {
    return this.counters.messagesOut;
  }

  get bytesOut(): number {
    return this.nc.stats().outBytes;
  }

  /** Exported QoS 1 messages awaiting JetStream, plus JetStream messages held by local channels. */
  get inFlight(): number {
    return this.storing + this.held.size;
  }

  get queued(): number {
    let n = 0;
    for (const sub of this.exportSubs) n += sub.pending;
    return n;
  }

  get dropped(): number {
    let n = 0;
    for (const sub of this.exportSubs) n += sub.dropped;
    return n;
  }

  /** Resolves once channel feeds being set up are consuming and the server answered a PING. */
  async ping(): Promise<void> {
    if (!this.isUp) throw linkDown();
    await Promise.all([...this.feeds.values()].map((f) => f.ready));
    try {
      await this.nc.flush();
    } catch (err) {
      throw bridgeError('the NATS server did not answer a flush', err);
    }
  }

  /** `link.publish()`: straight to NATS; QoS 1 resolves once JetStream stored it. */
  async publish(
    fields: { topic: string; payload: unknown; headers: Readonly<Record<string, string>> },
    qos: 0 | 1,
    retain: boolean,
    ttlMs: number
  ): Promise<number> {
    if (!this.isUp) throw linkDown();
    if (retain) {
      throw new RingbusError(
        ErrorCode.INVALID_OPTIONS,
        'retain does not cross a NATS bridge; keep retained messages on a bus'
      );
    }
    this.encode(fields.payload, fields.headers, 0, ttlMs, qos);
    const { data, headers } = this.out;
    this.counters.messagesOut++;
    try {
      if (qos === 0) {
        this.nc.publish(fields.topic, data, { headers });
        return -1;
      }
      await this.js.publish(fields.topic, data, { headers, timeout: this.settings.timeoutMs });
    } catch (err) {
      const what = qos === 0 ? 'NATS did not take' : 'JetStream did not store';
      throw (
        tooLarge(fields.topic, err) ?? bridgeError(`${what} a message on '${fields.topic}'`, err)
      );
    }
    return 1;
  }

  /**
   * Waits (at most `connectTimeoutMs`) until the export queue has gone out and JetStream stored
   * what it was storing — what is left then is reported — and drains the connection.
   */
  close(): void {
    if (!this.open || this.closing) return;
    this.closing = true;
    const deadline = Date.now() + this.settings.timeoutMs;
    const poll = (): void => {
      if (!this.open) return;
      const left = this.storing + this.queued;
      if (left > 0 && Date.now() < deadline && !this.nc.isClosed()) {
        setTimeout(poll, 10); // nothing signals an empty export queue: look again shortly
        return;
      }
      if (left > 0)
        this.host.reportError(
          new RingbusError(
            ErrorCode.BRIDGE,
            `the NATS bridge closed with ${left} exported messages not stored (NATS did not take them within ${this.settings.timeoutMs} ms)`
          )
        );
      this.end(undefined);
      this.drain();
    };
    poll();
  }

  /** Drains the connection (what was published goes out); closes it anyway after the timeout. */
  private drain(): void {
    const nc = this.nc;
    // A drain waits for pending JetStream requests, which a recovering cluster may never answer.
    const force = setTimeout(() => void nc.close(), this.settings.timeoutMs);
    // A drain that failed (disconnected) may still resolve: close, so the reconnect loop ends too.
    void nc
      .drain()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(force);
        void nc.close();
      });
  }

  // --- Feeder: what comes back through NATS ----------------------------------------------------

  /**
   * {@link Feeder.diverts}: a channel fed by JetStream gets the topics this bus exports back from
   * the stream, once, like its members on other hosts. A queue-group channel takes them directly:
   * NATS never hands a connection its own messages (noEcho).
   */
  diverts(topic: readonly string[], queue: Queue): boolean {
    if (this.feeds.get(queue)?.isStream !== true) return false;
    for (const p of this.exportTokens) if (matches(p, topic)) return true;
    return false;
  }

  /** {@link Upstream.settled}: a JetStream message was acked (or dead-lettered) here. */
  settled(tag: number): void {
    const h = this.held.get(tag);
    if (h === undefined) return;
    this.held.delete(tag);
    h.m.ack();
  }

  // --- FeedHost ---------------------------------------------------------------------------------

  /** {@link FeedHost.fromStream} */
  fromStream(queue: Queue, m: JsMsg): void {
    const core = coreOf(m);
    const subject = core === undefined ? m.subject : this.subjectIn(core);
    const headers = core !== undefined && isPlainQos1(core) ? undefined : m.headers;
    // A subject or payload that does not decode is never deliverable here.
    if (subject === undefined || !this.read(subject, m.data, headers, undefined)) return m.term();
    const tag = ++this.tagSeq;
    const ack = this.ackSubject;
    ack.read(m);
    const f = this.frame;
    f.flags = MsgFlag.QOS1;
    f.tag = tag;
    f.id = ack.streamSeq;
    f.attempt = ack.delivered;
    const outcome = this.deliver(queue);
    if (outcome === 'in') this.held.set(tag, { m, queue });
    else if (outcome === 'full')
      m.nak(RETRY_FIRST_MS); // JetStream offers it again
    else m.term(); // a subject that is no topic: never deliverable here
  }

  /** {@link FeedHost.fromGroup} */
  fromGroup(queue: Queue, m: Msg): void {
    const subject = this.subjectIn(m);
    if (subject === undefined) return;
    const headers = m.headers;
    if (isRetry(headers) || !this.read(subject, m.data, headers, replyOf(m))) return;
    const f = this.frame;
    f.tag = 0;
    f.id = 0;
    f.attempt = 1;
    this.deliver(queue);
  }

  /** {@link FeedHost.report} */
  report(error: RingbusError): void {
    this.host.reportError(error);
  }

  /** {@link FeedHost.fellBack} */
  fellBack(queue: Queue): void {
    if (!queue.closed) this.host.feed(queue, this); // re-routes: nothing is diverted now
  }

  // --- InterestWatcher: channels appear, change and go ------------------------------------------

  /** {@link InterestWatcher.patternAdded}: private QoS 0 interest, here or on a linked bus */
  patternAdded(pattern: string, queue: Queue): void {
    if (this.open && queue.owner !== this) this.imports.set(queue, pattern, true);
  }

  /** {@link InterestWatcher.patternRemoved} */
  patternRemoved(pattern: string, queue: Queue): void {
    if (this.open) this.imports.set(queue, pattern, false);
  }

  /** {@link InterestWatcher.queueChanged}: channels and private QoS 1 queues */
  queueChanged(queue: Queue): void {
    if (!this.open) return;
    if (queue.channel !== undefined) this.feedChanged(queue);
    // A channel fed here takes its messages from its feed, not from the import subscriptions.
    const takes = !queue.closed && queue.owner !== this && queue.feeder !== this;
    this.imports.set(queue, queue.pattern, takes);
  }

  /** Starts or stops feeding a channel as it enters or leaves the imports. */
  private feedChanged(queue: Queue): void {
    const feed = this.feeds.get(queue);
    const wanted = !queue.closed && this.importTokens.some((p) => covers(p, queue.tokens));
    if (wanted && feed === undefined) {
      this.feeds.set(queue, new ChannelFeed(this, queue));
      this.host.feed(queue, this);
    } else if (!wanted && feed !== undefined) {
      this.feeds.delete(queue);
      feed.stop();
      this.release(queue);
      if (!queue.closed) this.host.feed(queue, undefined);
    }
  }

  /** Hands back what a channel no longer fed held: JetStream offers it to other hosts. */
  private release(queue: Queue | undefined): void {
    for (const [tag, h] of this.held)
      if (queue === undefined || h.queue === queue) this.released(tag);
  }

  /**
   * {@link Upstream.released}: emptied or deleted here, so JetStream may give it to a host that
   * consumes — after this host's pulls still out have expired, or they would take it back.
   */
  released(tag: number): void {
    const h = this.held.get(tag);
    if (h === undefined) return;
    this.held.delete(tag);
    h.m.nak(RELEASE_DELAY_MS);
  }

  // --- export -----------------------------------------------------------------------------------

  /** Handler of the export subscriptions: one local message out to NATS. */
  private export(msg: Message): void {
    if (!this.open) return;
    const meta = msg.meta;
    if (meta.hops >= this.settings.hopLimit) return this.unsendable(msg, undefined);
    let ttlMs = 0;
    if (meta.expiresAt !== 0) ttlMs = Math.max(1, meta.expiresAt - this.host.now());
    try {
      this.encode(msg.payload, meta.headers, meta.hops, ttlMs, msg.qos);
    } catch (err) {
      return this.unsendable(msg, err);
    }
    const out = this.out;
    if (msg.qos === 0) {
      const options = this.publishOptions; // nats.js reads it during the call only
      options.headers = out.headers;
      options.reply = meta.reply?.topic;
      try {
        this.nc.publish(msg.topic, out.data, options);
      } catch (err) {
        return this.unsendable(msg, tooLarge(msg.topic, err) ?? err);
      }
      this.counters.messagesOut++;
      return;
    }
    // A QoS 1 message always has headers (Ringbus-Qos). The id makes a repeat after a lost
    // acknowledgement recognisable to JetStream, which stores it once.
    const headers = out.headers!;
    headers.set(MSG_ID_HEADER, `${this.idPrefix}${msg.id}`);
    this.storing++;
    this.store({ msg, data: out.data, headers, retryMs: RETRY_FIRST_MS, marked: true });
  }

  /** Offers an exported QoS 1 message to JetStream until it is stored (never dropped for a failure). */
  private store(s: Storing): void {
    try {
      this.publisher!.publish(s.msg.topic, s.data, s.headers, s, this.host.now());
    } catch (err) {
      this.stored(s, err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** JetStream stored an export (acked here now), or did not: offered again after a while. */
  private stored(s: Storing, outcome: StoreOutcome): void {
    const msg = s.msg;
    if (outcome === undefined) {
      this.storing--;
      this.counters.messagesOut++;
      msg.ack();
      return;
    }
    if (!this.open) return;
    const never = tooLarge(msg.topic, outcome);
    if (never !== undefined) {
      if (!s.headers.has(Header.RETRY)) {
        this.storing--;
        return this.unsendable(msg, never);
      }
      // An earlier offer fit: only the retry marker made it too large. Offered unmarked from now
      // on (JetStream still stores it once; core subscribers may see it twice).
      s.marked = false;
      s.headers.delete(Header.RETRY);
    }
    const now = this.host.now();
    if (now - this.reportedAt >= REPORT_EVERY_MS) {
      this.reportedAt = now;
      this.host.reportError(
        bridgeError(
          `JetStream did not store a message on '${msg.topic}' (is there a stream for it? see streams in docs/scale-out.md); retrying until it does (reported at most every ${REPORT_EVERY_MS / 1000} s)`,
          outcome
        )
      );
    }
    if (s.marked) s.headers.set(Header.RETRY, '1');
    const delay = s.retryMs;
    s.retryMs = Math.min(RETRY_MAX_MS, delay * 2);
    setTimeout(() => {
      if (this.open) this.store(s);
    }, delay).unref();
  }

  /** Fills {@link out}. @throws as {@link writeNatsMessage} */
  private encode(
    payload: unknown,
    user: Readonly<Record<string, string>>,
    hops: number,
    ttlMs: number,
    qos: 0 | 1
  ): void {
    writeNatsMessage(
      this.out,
      payload,
      user,
      hops,
      ttlMs,
      qos,
      this.settings.codec,
      this.api.headers
    );
  }

  private unsendable(msg: Message, err: unknown): void {
    this.counters.refused++;
    if (msg.qos === 1) msg.ack(); // it can never cross; retrying would loop
    if (err !== undefined)
      this.host.reportError(
        err instanceof RingbusError ? err : bridgeError('a message could not be exported', err)
      );
  }

  // --- import -----------------------------------------------------------------------------------

  /**
   * An import subscription, asked for from interest callbacks (a local subscribe, a linked bus's
   * frame), which must not throw: none while the connection closes (the session ends with it).
   */
  private subscribeImport(pattern: string): NatsSub | undefined {
    if (this.nc.isClosed() || this.nc.isDraining()) return undefined;
    try {
      return this.subscribeNats(pattern);
    } catch (err) {
      this.host.reportError(bridgeError(`could not subscribe to '${pattern}' in NATS`, err));
      return undefined;
    }
  }

  private subscribeNats(pattern: string): NatsSub {
    return this.nc.subscribe(pattern, {
      callback: (err, m) => {
        if (err === null) this.imported(m);
      }
    });
  }

  /** A core NATS message on an import pattern: to every local queue except fed channels. */
  private imported(m: Msg): void {
    if (!this.open) return;
    // Nobody here takes it (the import is held for other subjects under it, or only a fed channel
    // takes this one): not worth decoding.
    const subject = this.wanted(m);
    if (subject === undefined) return;
    const headers = m.headers;
    if (isRetry(headers) || !this.read(subject, m.data, headers, replyOf(m))) return;
    const f = this.frame;
    f.tag = 0;
    f.id = 0;
    f.attempt = 1;
    try {
      this.host.publishRemote(f, this, true, false);
    } catch (err) {
      // A full 'block' queue here: core NATS has no way to push back, so the message is refused.
      this.counters.refused++;
      if (!(err instanceof RingbusError) || err.code !== ErrorCode.QUEUE_FULL)
        this.host.reportError(
          err instanceof RingbusError ? err : bridgeError('import failed', err)
        );
    }
  }

  /** `m`'s subject if a local queue takes it; undefined if none does, or it is no topic (counted). */
  private wanted(m: Msg): string | undefined {
    const subject = this.subjectIn(m);
    if (subject === undefined) return undefined;
    try {
      return this.host.wants(subject, this) ? subject : undefined;
    } catch {
      this.refuseUnread(); // a subject that is not a ringbus topic
      return undefined;
    }
  }

  /** `m`'s subject; undefined (counted) when it is not UTF-8. */
  private subjectIn(m: Msg): string | undefined {
    try {
      return subjectOf(m, this.subjects);
    } catch {
      this.refuseUnread();
      return undefined;
    }
  }

  /** Counts a message refused before it was read. */
  private refuseUnread(): void {
    this.counters.messagesIn++;
    this.counters.refused++;
  }

  /** Decodes a NATS message into {@link frame}; false (counted, reported) when it cannot be. */
  private read(
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
    reply: string | undefined
  ): boolean {
    this.counters.messagesIn++;
    this.counters.framesIn++;
    this.counters.bytesIn += data.length;
    try {
      readNatsMessage(this.frame, subject, data, headers, reply, this.settings.codec);
    } catch (err) {
      this.counters.refused++;
      this.host.reportError(
        err instanceof RingbusError
          ? err
          : bridgeError(`a message on '${subject}' could not be read`, err)
      );
      return false;
    }
    if (this.frame.hops >= this.settings.hopLimit) {
      this.counters.refused++;
      return false;
    }
    if (this.frame.replyTo !== undefined) this.oweReply(this.frame.replyTo);
    return true;
  }

  /** {@link frame} into `queue`: in; full (no room now, or gone); or refused for good (reported). */
  private deliver(queue: Queue): 'in' | 'full' | 'refused' {
    try {
      if (this.host.deliverRemote(queue, this.frame, this)) return 'in';
      this.counters.refused++;
      return 'full';
    } catch (err) {
      this.counters.refused++;
      this.host.reportError(
        err instanceof RingbusError ? err : bridgeError('a message could not be delivered', err)
      );
      return 'refused';
    }
  }

  /** A local responder's reply to `subject` goes back out through NATS. */
  private oweReply(subject: string): void {
    try {
      parsePattern(subject);
    } catch {
      return; // not a topic here: no local responder can answer it
    }
    this.replySub ??= this.host.openInterestQueue(this, 1024, 'drop-oldest', (msg) => {
      this.forgetReply(msg.topic);
      this.export(msg);
    });
    if (this.replies.has(subject)) return;
    if (this.replies.size >= MAX_OWED_REPLIES) this.forgetReply(this.replies.keys().next().value!);
    this.host.addInterest(this.replySub.queue, subject);
    this.replies.set(subject, this.host.now() + REPLY_TTL_MS);
  }

  private forgetReply(subject: string): void {
    if (this.replies.delete(subject)) this.host.removeInterest(this.replySub!.queue, subject);
  }

  /**
   * Once a second: keeps held JetStream messages from being redelivered elsewhere, gives up on
   * exports JetStream did not acknowledge in time (offered again), ages replies.
   */
  private tick(): void {
    for (const h of this.held.values()) h.m.working();
    const now = this.host.now();
    this.publisher?.sweep(now);
    for (const [subject, until] of this.replies) if (until <= now) this.forgetReply(subject);
  }

  // --- connection state -------------------------------------------------------------------------

  private async watchStatus(): Promise<void> {
    const { Events } = this.api;
    for await (const s of this.nc.status()) {
      if (!this.open) return;
      if (s.type === Events.Disconnect) {
        const server = typeof s.data === 'string' ? `${s.data} ` : '';
        this.events.down(
          this,
          new RingbusError(ErrorCode.LINK_DOWN, `NATS server ${server}went away; reconnecting`)
        );
      } else if (s.type === Events.Reconnect) this.events.up(this);
    }
  }

  /** Releases everything; false when already ended. */
  private end(error: RingbusError | undefined): boolean {
    if (!this.open) return false;
    this.open = false;
    clearInterval(this.sweep);
    this.host.unwatch(this);
    for (const sub of this.exportSubs) sub.unsubscribe();
    this.imports.close();
    this.inboxSub?.unsubscribe();
    this.publisher?.close();
    for (const [queue, feed] of this.feeds) {
      feed.stop();
      if (!queue.closed) this.host.feed(queue, undefined);
    }
    this.feeds.clear();
    this.replySub?.unsubscribe();
    this.release(undefined); // unacked: JetStream offers them to other hosts at once
    this.events.closed(this, error);
    return true;
  }
}

/** An exported QoS 1 message on its way into JetStream. */
interface Storing {
  readonly msg: Message;
  readonly data: Uint8Array;
  /** With its msg id, and the retry marker once offered again (while `marked`). */
  readonly headers: MsgHdrs;
  /** The wait before the next offer, should this one fail. */
  retryMs: number;
  /** Repeats carry the retry marker (unless that alone made it too large for the server). */
  marked: boolean;
}

function exportOptions(s: BridgeSettings): SubscribeOptions {
  return {
    qos: 1,
    queueSize: s.sendQueueSize,
    overflow: s.overflow,
    maxInFlight: s.maxInFlight,
    // The session retries until JetStream stores a message: no redelivery from the queue.
    ackTimeoutMs: MAX_ACK_TIMEOUT_MS,
    autoAck: false
  };
}

function linkDown(): RingbusError {
  return new RingbusError(
    ErrorCode.LINK_DOWN,
    'the NATS bridge is closed; connect again to reach NATS'
  );
}
