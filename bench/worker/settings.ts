/** The parameters every worker-thread contender shares, so the rows differ only in the transport. */

import { DEFAULT_RING_BYTES } from '../../src/limits.js';

/** Payload sizes measured, in bytes (multiples of 8: see payload.ts). */
export const PAYLOAD_SIZES = [64, 1024] as const;

/** Messages per batch: per postMessage (arrays, packed buffers) and per ring commit (cork/uncork, flush). */
export const BATCH = 100;

/** Data bytes of every shared ring: the worker link's default (`ringBytes`). */
export const RING_BYTES = DEFAULT_RING_BYTES;

/** Longest blocking wait of a ring end before it gives up on its peer. */
export const WAIT_MS = 30_000;
