import type * as Nats from 'nats';
import { ErrorCode, RingbusError } from '../../src/errors.js';

/** The `nats` client module, loaded when the first bridge connects (not with ringbus). @internal */
export type NatsModule = typeof Nats;

/** An `ERR_BRIDGE` naming what failed, with NATS's error as the cause. @internal */
export function bridgeError(what: string, cause: unknown): RingbusError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new RingbusError(ErrorCode.BRIDGE, `${what}: ${why}`, { cause });
}

/**
 * The code nats.js gives a message over the server's `max_payload`; the bridge gives it as well
 * to a JetStream refusal of one over the stream's `max_msg_size`. @internal
 */
export const TOO_LARGE_CODE = 'MAX_PAYLOAD_EXCEEDED';

/**
 * `ERR_FRAME_TOO_LARGE` when NATS refused a message for its size (it never will take it: not
 * worth a retry); undefined for any other failure.
 * @internal
 */
export function tooLarge(topic: string, cause: unknown): RingbusError | undefined {
  if ((cause as { code?: unknown } | null)?.code !== TOO_LARGE_CODE) return undefined;
  return new RingbusError(
    ErrorCode.FRAME_TOO_LARGE,
    `a message on '${topic}' is larger than NATS takes (the server's max_payload or the stream's max_msg_size, payload and headers)`,
    { cause }
  );
}
