import { ErrorCode, RingbusError } from './errors.js';
import { MAX_DURATION_MS } from './limits.js';
import { NO_HEADERS } from './message.js';
import type { PublishOptions, Qos } from './options.js';

/**
 * Publish options after the hand-written checks; one scratch instance per bus, reused.
 *
 * @internal
 */
export class PublishFields {
  qos: Qos = 0;
  ttlMs = 0;
  headers: Readonly<Record<string, string>> = NO_HEADERS;
  retain = false;
}

/**
 * The fields of a publish without options. Not frozen: a frozen object has another hidden class,
 * which would make every read in publishTo polymorphic.
 *
 * @internal
 */
export const DEFAULT_PUBLISH: Readonly<PublishFields> = new PublishFields();

/** Checks publish options by hand (zod never runs per message) into `into`. @internal */
export function readPublishOptions(options: PublishOptions, into: PublishFields): PublishFields {
  if (typeof options !== 'object' || options === null)
    invalidOption('publish options must be an object', options);
  const { qos, ttlMs, headers, retain } = options;
  if (qos !== undefined && qos !== 0 && qos !== 1) invalidOption('qos must be 0 or 1', qos);
  if (ttlMs !== undefined && (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_DURATION_MS))
    invalidOption(`ttlMs must be an integer in [1, ${MAX_DURATION_MS}]`, ttlMs);
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null)
      invalidOption('headers must be an object of strings', headers);
    for (const key in headers)
      if (typeof headers[key] !== 'string')
        invalidOption(
          `headers must be an object of strings; '${key}' is not a string`,
          headers[key]
        );
  }
  if (retain !== undefined && typeof retain !== 'boolean')
    invalidOption('retain must be a boolean', retain);
  into.qos = qos ?? 0;
  into.ttlMs = ttlMs ?? 0;
  into.headers = headers ?? NO_HEADERS;
  into.retain = retain === true;
  return into;
}

/** Throws `ERR_INVALID_OPTIONS` for a per-call argument checked by hand (no zod on hot paths). */
export function invalidOption(problem: string, got: unknown): never {
  throw new RingbusError(
    ErrorCode.INVALID_OPTIONS,
    `${problem} (got ${typeof got === 'string' ? JSON.stringify(got) : String(got)})`
  );
}
