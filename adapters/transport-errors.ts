import { ErrorCode, RingbusError } from '../src/errors.js';

/** A transport that could not listen or connect: `ERR_CONNECT`, naming the URL and the cause. */
export function transportError(what: string, url: URL, err: Error): RingbusError {
  return new RingbusError(ErrorCode.CONNECT, `could not ${what} ${url.href}: ${err.message}`, {
    cause: err
  });
}

/** A URL (or option) the adapter cannot use: `ERR_INVALID_OPTIONS`. */
export function invalid(url: URL, why: string): RingbusError {
  return new RingbusError(ErrorCode.INVALID_OPTIONS, `${why} (got ${url.href})`);
}

/** The connect timeout expired: `ERR_CONNECT`. */
export function connectTimeout(url: URL, timeoutMs: number): RingbusError {
  return new RingbusError(ErrorCode.CONNECT, `no connection to ${url.href} within ${timeoutMs} ms`);
}
