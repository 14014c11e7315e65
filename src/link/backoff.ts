import type { Backoff } from './options.js';

/**
 * The wait before reconnect attempt `failures + 1`: exponential backoff with full jitter (AWS's
 * "Exponential Backoff And Jitter"). The ceiling doubles from `initialDelayMs` with each failure
 * up to `maxDelayMs`, and the delay is uniform below it, so clients that lost one server spread
 * their attempts instead of returning in step.
 *
 * @param random - a uniform number in [0, 1); `Math.random` but in tests
 */
export function reconnectDelay(
  backoff: Backoff,
  failures: number,
  random: () => number = Math.random
): number {
  const ceiling = Math.min(
    backoff.maxDelayMs,
    backoff.initialDelayMs * 2 ** Math.min(failures, 30)
  );
  return random() * ceiling;
}
