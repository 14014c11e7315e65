import * as z from 'zod/mini';
import { DEFAULT_RING_BYTES, MAX_RING_BYTES, MIN_RING_BYTES } from '../../src/limits.js';
import { parseWith } from '../../src/options.js';
import { nextPowerOfTwo } from '../../src/ring.js';

/** Options of {@link createSharedRing}. */
export interface SharedRingOptions {
  /**
   * Bytes of record data the ring holds: a power of two in [16, 2^30]. The largest record is this
   * size; the shared buffer is this plus a 192-byte header.
   * @defaultValue 1 MiB (1 048 576)
   */
  capacityBytes?: number;
}

/** {@link SharedRingOptions} after validation. */
export interface ResolvedSharedRingOptions {
  readonly capacityBytes: number;
}

const capacityMessage = `must be a power of two in [${MIN_RING_BYTES}, ${MAX_RING_BYTES}]`;

const sharedRingOptionsSchema = z.strictObject({
  capacityBytes: z.optional(
    z.int(capacityMessage).check(
      z.minimum(MIN_RING_BYTES, capacityMessage),
      z.maximum(MAX_RING_BYTES, capacityMessage),
      z.refine((n) => nextPowerOfTwo(n) === n, capacityMessage)
    )
  )
});

/**
 * Validates and fills the defaults of {@link SharedRingOptions}.
 *
 * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` naming the field, its range and the value
 * @internal
 */
export function parseSharedRingOptions(input: unknown): Readonly<ResolvedSharedRingOptions> {
  const o = parseWith(sharedRingOptionsSchema, input, 'shared ring options');
  return Object.freeze({ capacityBytes: o.capacityBytes ?? DEFAULT_RING_BYTES });
}
