export {
  Bus,
  type BusEvents,
  type DeadLetterEvent,
  type DropEvent,
  type LinkDownEvent
} from './bus.js';
export { ChannelControl } from './channel.js';
export { ErrorCode, RingbusError } from './errors.js';
/** Defaults and hard ceilings of every option (also listed in docs/operations.md). */
export * as limits from './limits.js';
export { type LogFn, type Logger, silentLogger } from './logger.js';
export type { PayloadCodec } from './frames/envelope.js';
export type { NatsBridgeOptions, NatsReconnectOptions, NatsStreamOptions } from './link/bridge.js';
export { Link, type LinkState } from './link/link.js';
export { Listener } from './link/listener.js';
export type {
  AuthOptions,
  ConnectOptions,
  LinkOptions,
  LinkStats,
  ListenOptions,
  RawOptions,
  ReconnectOptions,
  TlsServerOptions,
  WorkerLinkOptions
} from './link/options.js';
export type { TokenPermissions } from './link/permissions.js';
export type {
  Connection,
  ConnectionHandlers,
  ConnectTransportOptions,
  ListenTransportOptions,
  ThreadTransport,
  ThreadTransportOptions,
  TransportAdapter,
  TransportOptions,
  TransportServer
} from './link/transport.js';
export { Message } from './message.js';
export type {
  BusStats,
  DropCounts,
  QueueStats,
  SubscriptionStats,
  TopicStats,
  TotalStats
} from './metrics.js';
export type {
  BusOptions,
  DispatchMode,
  Overflow,
  PublishOptions,
  PullOptions,
  Qos,
  RequestOptions,
  SubscribeOptions
} from './options.js';
export type { DeadLetterReason, DropReason } from './queue.js';
export type { FsyncPolicy, RecoveryStats, StoreDamage, StoreOptions, StoreStats } from './store.js';
export { Ring } from './ring.js';
export { type Handler, Subscription } from './subscription.js';
export { Topic } from './topic.js';
export type { PatternFor, PatternMatches, PayloadOf, TopicMap, TopicName } from './topic-types.js';
