import type * as Nats from 'nats';
import { ErrorCode, RingbusError } from '../../src/errors.js';

/** The `nats` client module, loaded when the first bridge connects (not with ringbus). @internal */
export type NatsModule = typeof Nats;

/** An `ERR_BRIDGE` naming what failed, with NATS's error as the cause. @internal */
export function bridgeError(what: string, cause: unknown): RingbusError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new RingbusError(ErrorCode.BRIDGE, `${what}: ${why}`, { cause });
}
