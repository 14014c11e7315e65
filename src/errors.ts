/**
 * Stable error codes. A code is never renamed or reused; every code has a row in docs/errors.md.
 */
export const ErrorCode = {
  INVALID_TOPIC: 'ERR_INVALID_TOPIC',
  INVALID_OPTIONS: 'ERR_INVALID_OPTIONS',
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  TIMEOUT: 'ERR_TIMEOUT',
  NO_RESPONDERS: 'ERR_NO_RESPONDERS',
  CLOSED: 'ERR_CLOSED',
  HANDLER_FAILED: 'ERR_HANDLER_FAILED',
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  PROTOCOL: 'ERR_PROTOCOL',
  AUTH: 'ERR_AUTH',
  FORBIDDEN: 'ERR_FORBIDDEN',
  UNSUPPORTED_SCHEME: 'ERR_UNSUPPORTED_SCHEME'
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

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
