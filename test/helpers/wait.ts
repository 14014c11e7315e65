/**
 * Test helpers for waiting on asynchronous bus behaviour without sleeps: every wait polls on
 * setImmediate (so timers and I/O run in between) and fails after a deadline instead of hanging.
 */

/** Resolves once `predicate()` is true; rejects with `message` after `timeoutMs`. */
export function waitFor(
  predicate: () => boolean,
  timeoutMs = 2000,
  message = 'condition'
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise<void>((resolve, reject) => {
    const poll = (): void => {
      let ok: boolean;
      try {
        ok = predicate();
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (ok) resolve();
      else if (Date.now() > deadline)
        reject(new Error(`waitFor: ${message} not reached within ${timeoutMs} ms`));
      else setImmediate(poll);
    };
    poll();
  });
}

/** Settles like `promise`, or rejects after `timeoutMs` (the test fails instead of hanging). */
export function within<T>(promise: Promise<T>, timeoutMs = 2000, what = 'promise'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`within: ${what} did not settle within ${timeoutMs} ms`)),
      timeoutMs
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Lets every queued microtask (and the microtask dispatcher) run once. */
export async function ticks(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** Resolves on the next turn of the event loop (after pending microtasks and I/O). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
