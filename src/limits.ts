/**
 * Defaults and hard ceilings, in one table. options.ts builds its schemas from these and
 * docs/operations.md lists them; a value above a ceiling is rejected, never clamped.
 */

/** Default bound of a subscription or channel queue, in messages. */
export const DEFAULT_QUEUE_SIZE = 1024;
/** Largest `queueSize` accepted (rounded up to a power of two internally). */
export const MAX_QUEUE_SIZE = 1 << 24;
/** Default bound on unacked QoS 1 messages per consumer. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;
/** Largest `maxInFlight` accepted. */
export const MAX_IN_FLIGHT = 1 << 20;
/** Default time a QoS 1 message may stay unacked before redelivery. */
export const DEFAULT_ACK_TIMEOUT_MS = 30_000;
/** Smallest `ackTimeoutMs` accepted. */
export const MIN_ACK_TIMEOUT_MS = 1;
/** Largest `ackTimeoutMs` accepted (one day). */
export const MAX_ACK_TIMEOUT_MS = 24 * 3600 * 1000;
/** Default number of deliveries before a QoS 1 message is dead-lettered. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Largest `maxAttempts` accepted. */
export const MAX_ATTEMPTS = 1000;
/** Largest `ttlMs`, `timeoutMs` and nack delay accepted (one day). */
export const MAX_DURATION_MS = 24 * 3600 * 1000;
/** Default `request()` timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Longest subject accepted, in UTF-16 code units. */
export const MAX_SUBJECT_LENGTH = 1024;
/** Most tokens a subject or pattern may have. */
export const MAX_SUBJECT_TOKENS = 64;
/** Concrete topics remembered for routing and per-topic stats before the cache is trimmed. */
export const DEFAULT_MAX_TOPICS = 10_000;
/** Largest `maxTopics` accepted. */
export const MAX_TOPICS = 1_000_000;
/** Microtask drains that may chain (handlers publishing) before the next drain yields to a macrotask. */
export const MAX_CHAINED_DRAINS = 64;
/** Default `maxFrameBytes`: the largest frame body a link accepts or sends (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;
/** Smallest `maxFrameBytes` a link accepts: room for the largest handshake. */
export const MIN_FRAME_BYTES = 4096;
/** Largest `maxFrameBytes` accepted: the largest length a 5-byte varint can carry (2^32 − 1). */
export const MAX_FRAME_BYTES = 0xffff_ffff;
/** Default bytes of each direction's shared ring of a worker link (1 MiB). */
export const DEFAULT_RING_BYTES = 1 << 20;
/** Smallest shared ring. */
export const MIN_RING_BYTES = 16;
/** Smallest ring a worker link takes. */
export const MIN_LINK_RING_BYTES = 4096;
/**
 * Largest shared ring (1 GiB): the reader may see up to twice the capacity between its index and
 * the writer's, and that difference must stay a positive 32-bit integer.
 */
export const MAX_RING_BYTES = 1 << 30;
/** Default interval of link keepalive pings; a peer silent for two intervals is dropped. */
export const DEFAULT_KEEPALIVE_MS = 10_000;
/** Default time a new connection has to complete its handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** Default time `connect()` waits for the transport and the handshake. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Default time a peer may leave written bytes unread before its connection is dropped. */
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/** Default bound of a link's send queue (messages for the peer's QoS 0 interest). */
export const DEFAULT_SEND_QUEUE_SIZE = 8192;
/** Default number of links a message may cross (loops in meshes end here). */
export const DEFAULT_HOP_LIMIT = 8;
/** Default number of links a listener accepts at once. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Default number of subscriptions one link may hold. */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_LINK = 1000;
/** Default bound of bytes written to a peer and not yet taken by it; past it the peer is dropped. */
export const DEFAULT_MAX_PENDING_BYTES = 16 << 20;
/** Default first reconnect delay; it doubles per failed attempt (full jitter). */
export const DEFAULT_RECONNECT_INITIAL_MS = 100;
/** Default ceiling of the reconnect delay. */
export const DEFAULT_RECONNECT_MAX_MS = 10_000;
/** Default size at which the store starts a new segment file (64 MiB). */
export const DEFAULT_SEGMENT_BYTES = 64 << 20;
/** Smallest `segmentBytes` accepted. */
export const MIN_SEGMENT_BYTES = 4096;
/** Largest `segmentBytes` accepted (1 GiB). */
export const MAX_SEGMENT_BYTES = 1 << 30;
/** Default longest time the store's `'batch'` policy leaves written records unsynced. */
export const DEFAULT_FSYNC_INTERVAL_MS = 10;
