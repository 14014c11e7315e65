import { ErrorCode, RingbusError } from '../../src/errors.js';

/**
 * Sleeping on a ring's doorbell word until the other side rings it. The caller reads its bell,
 * raises its waiting flag, looks at the ring once more, and only then sleeps here with the bell
 * value it read: the other side changes the ring before it reads the flag, so either it sees the
 * flag and rings, or the second look sees its change (Atomics operations are sequentially
 * consistent). A ring that lands between the look and the sleep has changed the bell, so the
 * sleep returns at once ('not-equal').
 */

/** `Atomics.waitAsync` (ES2024; Node ≥ 16, Chromium, Safari); ES2022's lib does not declare it. */
type WaitAsync = (
  typedArray: Int32Array,
  index: number,
  value: number,
  timeoutMs?: number
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<string> };

const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

/** Poll interval of {@link sleepAsync} where `Atomics.waitAsync` is missing. */
const FALLBACK_POLL_MS = 1;
/** Longest delay setTimeout honours (2^31 − 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 0x7fff_ffff;

/**
 * Checks a wait's timeout.
 *
 * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` if `timeoutMs` is not a number ≥ 0
 * @internal
 */
export function assertTimeout(timeoutMs: number): void {
  if (!(timeoutMs >= 0)) {
    throw new RingbusError(
      ErrorCode.INVALID_OPTIONS,
      `timeoutMs must be a number >= 0, or Infinity (got ${String(timeoutMs)})`
    );
  }
}

/**
 * Blocks the thread while `header[index] === value`, at most `timeoutMs`; may return early.
 * Not allowed on a browser's main thread (Atomics.wait throws there); Node allows it.
 *
 * @internal
 */
export function sleep(header: Int32Array, index: number, value: number, timeoutMs: number): void {
  Atomics.wait(header, index, value, timeoutMs);
}

/**
 * Resolves once `header[index]` is no longer `value` or `timeoutMs` has passed; may resolve early.
 *
 * @remarks In Node a pending `Atomics.waitAsync` does not keep the event loop alive, so a timer
 * runs alongside it: the process stays up and the timeout is honoured. Without
 * `Atomics.waitAsync` (older Firefox) this polls every millisecond.
 * @internal
 */
export function sleepAsync(
  header: Int32Array,
  index: number,
  value: number,
  timeoutMs: number
): Promise<void> {
  return new Promise<void>((resolve) => {
    if (waitAsync === undefined) {
      setTimeout(resolve, Math.min(timeoutMs, FALLBACK_POLL_MS));
      return;
    }
    const result = waitAsync(header, index, value, timeoutMs);
    if (!result.async) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, Math.min(timeoutMs, MAX_TIMER_MS));
    void result.value.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
