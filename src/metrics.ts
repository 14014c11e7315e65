import type { LinkStats } from './link/options.js';
import type { Qos } from './options.js';
import type { StoreStats } from './store.js';

/** Dropped messages by reason. */
export interface DropCounts {
  /** A full queue dropped it (drop-oldest, drop-newest). */
  overflow: number;
  /** Its TTL ran out before delivery. */
  expired: number;
  /** A channel's `empty()` or `delete()` discarded it. */
  emptied: number;
}

/** Counters of one queue: a named channel, or the private queue of a subscription. */
export interface QueueStats {
  /** The subscription pattern. */
  pattern: string;
  /** The channel name; undefined for a private queue. */
  channel: string | undefined;
  /** The owning subscription's id, for a private queue. */
  subscription: number | undefined;
  /** QoS of the queue. */
  qos: Qos;
  /** Current consumers. */
  consumers: number;
  /** Messages waiting (not in flight). */
  depth: number;
  /** Capacity of the queue. */
  capacity: number;
  /** Unacked QoS 1 messages. */
  inFlight: number;
  /** True while delivery is paused. */
  paused: boolean;
  /** Messages handed to consumers. */
  delivered: number;
  /** QoS 1 deliveries acknowledged. */
  acked: number;
  /** QoS 1 messages queued again (nack, ack timeout, consumer gone). */
  redelivered: number;
  /** QoS 1 messages sent to `$dlq.<topic>`. */
  deadLettered: number;
  /** Queued messages replaced by a newer one on the same topic (conflate). */
  conflated: number;
  /** Messages dropped, by reason. */
  dropped: DropCounts;
}

/** One subscription. */
export interface SubscriptionStats {
  /** Subscription id. */
  id: number;
  /** The pattern it subscribed to. */
  pattern: string;
  /** Its channel, if any. */
  channel: string | undefined;
  /** Push (handler) or pull. */
  mode: 'push' | 'pull';
  /** QoS of its queue. */
  qos: Qos;
  /** True while paused. */
  paused: boolean;
  /** Messages delivered to it. */
  delivered: number;
  /** Unacked QoS 1 messages this consumer holds. */
  inFlight: number;
  /** Messages queued for it (the shared channel's depth for a channel consumer). */
  pending: number;
}

/** One concrete topic the bus routed recently. */
export interface TopicStats {
  /** The concrete topic. */
  topic: string;
  /** Messages published on it since it was (re)created in the cache. */
  published: number;
  /** Queues its messages enter now. */
  queues: number;
}

/** Totals since the bus was created. */
export interface TotalStats {
  /** Messages published. */
  published: number;
  /** Deliveries (a fan-out to n subscribers counts n). */
  delivered: number;
  /** QoS 1 deliveries acknowledged. */
  acked: number;
  /** QoS 1 messages queued again. */
  redelivered: number;
  /** QoS 1 messages dead-lettered. */
  deadLettered: number;
  /** Queued messages replaced by a newer one on the same topic. */
  conflated: number;
  /** Handlers that threw or rejected. */
  handlerErrors: number;
  /** Dropped messages, by reason. */
  dropped: DropCounts;
}

/** The JSON snapshot `bus.stats()` returns. */
export interface BusStats {
  /** The bus id. */
  id: string;
  /** Time since the bus was created. */
  uptimeMs: number;
  /** Totals since the bus was created. */
  totals: TotalStats;
  /** Concrete topics the bus routed recently. */
  topics: TopicStats[];
  /** Named channels. */
  channels: QueueStats[];
  /** Private queues of subscriptions without a channel. */
  queues: QueueStats[];
  /** Live subscriptions. */
  subscriptions: SubscriptionStats[];
  /** Retained messages held. */
  retained: number;
  /** Links made by `connect()` and accepted by listeners. */
  links: LinkStats[];
  /** The write-ahead log, when the bus has a `store`. */
  store?: StoreStats;
}

interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  samples: [labels: string, value: number][];
}

/**
 * Renders a snapshot in the Prometheus text exposition format (version 0.0.4): names prefixed
 * `ringbus_`, counters ending in `_total`.
 *
 * @internal
 */
export function renderMetrics(stats: BusStats): string {
  const t = stats.totals;
  const queues = [...stats.channels, ...stats.queues];
  const families: Family[] = [
    counter('ringbus_messages_published_total', 'Messages published on this bus.', [
      ['', t.published]
    ]),
    counter(
      'ringbus_messages_delivered_total',
      'Deliveries to subscribers (a fan-out of n counts n).',
      [['', t.delivered]]
    ),
    counter(
      'ringbus_messages_dropped_total',
      'Messages dropped without delivery, by reason.',
      (Object.keys(t.dropped) as (keyof DropCounts)[]).map((reason) => [
        labels({ reason }),
        t.dropped[reason]
      ])
    ),
    counter('ringbus_messages_acked_total', 'QoS 1 deliveries acknowledged.', [['', t.acked]]),
    counter(
      'ringbus_messages_redelivered_total',
      'QoS 1 messages queued again after nack, ack timeout or consumer loss.',
      [['', t.redelivered]]
    ),
    counter('ringbus_messages_dead_lettered_total', 'QoS 1 messages sent to $dlq.<topic>.', [
      ['', t.deadLettered]
    ]),
    counter(
      'ringbus_messages_conflated_total',
      'Queued messages replaced by a newer one on the same topic.',
      [['', t.conflated]]
    ),
    counter('ringbus_handler_errors_total', 'Subscription handlers that threw or rejected.', [
      ['', t.handlerErrors]
    ]),
    counter(
      'ringbus_topic_messages_published_total',
      'Messages published per topic (topics the bus routed recently).',
      stats.topics.map((s) => [labels({ topic: s.topic }), s.published])
    ),
    gauge(
      'ringbus_queue_depth',
      'Messages waiting in a queue.',
      queues.map((q) => [queueLabels(q), q.depth])
    ),
    gauge(
      'ringbus_queue_capacity',
      'Capacity of a queue.',
      queues.map((q) => [queueLabels(q), q.capacity])
    ),
    gauge(
      'ringbus_messages_in_flight',
      'Unacked QoS 1 messages per queue.',
      queues.map((q) => [queueLabels(q), q.inFlight])
    ),
    gauge(
      'ringbus_queue_consumers',
      'Consumers of a queue.',
      queues.map((q) => [queueLabels(q), q.consumers])
    ),
    gauge('ringbus_subscriptions', 'Live subscriptions.', [['', stats.subscriptions.length]]),
    gauge('ringbus_retained_messages', 'Retained messages held.', [['', stats.retained]]),
    ...linkFamilies(stats.links),
    ...(stats.store === undefined ? [] : storeFamilies(stats.store))
  ];
  let out = '';
  for (const f of families) {
    if (f.samples.length === 0) continue;
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const [l, v] of f.samples) out += `${f.name}${l} ${v}\n`;
  }
  return out;
}

function linkFamilies(links: readonly LinkStats[]): Family[] {
  const per = (f: (l: LinkStats) => number): [string, number][] =>
    links.map((l) => [labels({ id: String(l.id), link: l.url, direction: l.direction }), f(l)]);
  return [
    gauge(
      'ringbus_link_up',
      '1 while a link is up, 0 otherwise.',
      per((l) => (l.state === 'up' ? 1 : 0))
    ),
    counter(
      'ringbus_link_messages_in_total',
      'Messages received over a link.',
      per((l) => l.messagesIn)
    ),
    counter(
      'ringbus_link_messages_out_total',
      'Messages sent over a link.',
      per((l) => l.messagesOut)
    ),
    counter(
      'ringbus_link_bytes_in_total',
      'Bytes received over a link.',
      per((l) => l.bytesIn)
    ),
    counter(
      'ringbus_link_bytes_out_total',
      'Bytes sent over a link.',
      per((l) => l.bytesOut)
    ),
    counter(
      'ringbus_link_dropped_total',
      'Messages a link send queue dropped because the peer was slow.',
      per((l) => l.dropped)
    ),
    counter(
      'ringbus_link_refused_total',
      'Messages refused or not forwardable (hop limit, permissions, encoding).',
      per((l) => l.refused)
    ),
    counter(
      'ringbus_link_reconnects_total',
      'Reconnects of a link.',
      per((l) => l.reconnects)
    ),
    gauge(
      'ringbus_link_queued',
      'Messages waiting in a link send queue.',
      per((l) => l.queued)
    ),
    gauge(
      'ringbus_link_in_flight',
      'QoS 1 deliveries over a link awaiting the ack.',
      per((l) => l.inFlight)
    )
  ];
}

function storeFamilies(s: StoreStats): Family[] {
  return [
    gauge('ringbus_store_segments', 'Segment files of the write-ahead log.', [['', s.segments]]),
    gauge('ringbus_store_bytes', 'Bytes of the write-ahead log on disk.', [['', s.bytes]]),
    gauge('ringbus_store_messages', 'Unacked durable messages (per channel).', [['', s.messages]]),
    gauge('ringbus_store_pending_bytes', 'Bytes appended, not yet written.', [
      ['', s.pendingBytes]
    ]),
    counter('ringbus_store_appends_total', 'Records appended to the log.', [['', s.appends]]),
    counter('ringbus_store_writes_total', 'Batches written (one write each).', [['', s.writes]]),
    counter('ringbus_store_syncs_total', 'fdatasync calls.', [['', s.syncs]]),
    counter(
      'ringbus_store_failures_total',
      'Write or sync failures (disk full, I/O, permissions).',
      [['', s.failures]]
    ),
    gauge('ringbus_store_failing', '1 while durable publishes fail.', [
      ['', s.failure === null ? 0 : 1]
    ]),
    gauge('ringbus_store_recovery_seconds', 'Time the last start spent replaying the log.', [
      ['', s.recovery.ms / 1000]
    ]),
    gauge('ringbus_store_damaged_records', 'Damaged records the last start stopped at.', [
      ['', s.recovery.damaged.length]
    ])
  ];
}

function counter(name: string, help: string, samples: [string, number][]): Family {
  return { name, type: 'counter', help, samples };
}

function gauge(name: string, help: string, samples: [string, number][]): Family {
  return { name, type: 'gauge', help, samples };
}

function queueLabels(q: QueueStats): string {
  return q.channel === undefined
    ? labels({ pattern: q.pattern, subscription: String(q.subscription) })
    : labels({ pattern: q.pattern, channel: q.channel });
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `{${parts.join(',')}}`;
}

/** Exposition format: backslash, double quote and newline are escaped in label values. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
