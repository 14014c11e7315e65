/**
 * Stable error codes. A code is never renamed or reused; every code has a row in docs/errors.md.
 */
export const ErrorCode = {
  /** A topic or pattern breaks the subject rules. */
  INVALID_TOPIC: 'ERR_INVALID_TOPIC',
  /** An option or argument is missing, of the wrong type or out of range. */
  INVALID_OPTIONS: 'ERR_INVALID_OPTIONS',
  /** A matching 'block' queue is full; `publish` enqueued nothing. */
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  /** A request got no reply in time. */
  TIMEOUT: 'ERR_TIMEOUT',
  /** A request matched no subscription. */
  NO_RESPONDERS: 'ERR_NO_RESPONDERS',
  /** The bus is closed. */
  CLOSED: 'ERR_CLOSED',
  /** A subscription handler threw or rejected (reported through 'error'). */
  HANDLER_FAILED: 'ERR_HANDLER_FAILED',
  /** A frame is larger than `maxFrameBytes` (links). */
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  /** Malformed bytes from a peer (links). */
  PROTOCOL: 'ERR_PROTOCOL',
  /** A link's token was missing or wrong (links). */
  AUTH: 'ERR_AUTH',
  /** A link's token does not allow that publish or subscription (links). */
  FORBIDDEN: 'ERR_FORBIDDEN',
  /** A payload cannot cross a link or be stored: not bytes, a string or JSON, and no codec handles it. */
  PAYLOAD: 'ERR_PAYLOAD',
  /** The link went down before the peer confirmed (a remote publish may or may not have landed). */
  LINK_DOWN: 'ERR_LINK_DOWN',
  /** A link limit was reached: connections, subscriptions per link. */
  LIMIT: 'ERR_LIMIT',
  /** A link could not be established: the peer is unreachable or did not complete the handshake. */
  CONNECT: 'ERR_CONNECT',
  /** No adapter handles the URL's scheme. */
  UNSUPPORTED_SCHEME: 'ERR_UNSUPPORTED_SCHEME',
  /** The durable store could not open, lock, write or sync its files (the cause has the OS code). */
  STORE: 'ERR_STORE',
  /** A sync `publish` of a QoS 1 message that would enter a durable channel: use `publishAsync`. */
  DURABLE_ASYNC: 'ERR_DURABLE_ASYNC',
  /** The NATS system refused or failed what a bridge needed (no stream for a QoS 1 subject, JetStream unavailable); the cause has NATS's error. */
  BRIDGE: 'ERR_BRIDGE'
} as const;

/** One of the string codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const BRAND = Symbol.for('ringbus.error');

/**
 * The one error class ringbus throws or reports. Branch on {@link RingbusError.code}, not on the
 * message: codes are stable, messages may improve.
 *
 * @remarks `instanceof RingbusError` holds across duplicate copies of the library (a Node entry and
 * a browser bundle on one page) because it checks a global brand, not the prototype chain.
 */
export class RingbusError extends Error {
  /** The stable code, for example `ERR_INVALID_TOPIC`. */
  readonly code: ErrorCode;

  /**
   * @param code - the stable code
   * @param message - what was wrong and what to do; the code is prefixed automatically
   * @param options - `cause`, when another error explains this one
   */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.name = 'RingbusError';
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Checks the global brand, so copies of the class from other bundles are recognised. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true
    );
  }
}
