/**
 * The bus clock counts ms from this epoch (module load), so its values stay small integers (V8
 * Smis, stored unboxed) for 24 days; `Date.now()` itself needs a boxed double per stored value.
 */
export const CLOCK_EPOCH = Date.now();

/** The bus clock read precisely, for timers (off the hot path). */
export function clockNow(): number {
  return toSmi(Date.now() - CLOCK_EPOCH);
}

/**
 * `Date.now() - CLOCK_EPOCH` is a double to V8 even when integral; a field that ever receives one
 * becomes a boxed double, costing every envelope a 16-byte box. `| 0` makes it an int32 (a Smi)
 * for the first 24.8 days; outside int32 (later, or under a mocked clock) it stays a correct,
 * boxed double.
 */
function toSmi(ms: number): number {
  return ms <= 0x7fffffff && ms >= -0x80000000 ? ms | 0 : ms;
}

/**
 * A coarse wall clock for the hot path, in ms since {@link CLOCK_EPOCH}. `Date.now()` costs 20–90 ns (82 ns measured on the CI
 * machine), more than a whole publish, so the bus reads it once per synchronous burst: a fresh
 * read arms a microtask that expires the value when the current run of code ends, and every
 * {@link READS_PER_REFRESH}th read within a burst refreshes it so a long loop cannot drift.
 * Resolution 1 ms; never older than the current synchronous run.
 *
 * @internal
 */
export class CoarseClock {
  private value = 0;
  private budget = 0;
  private armed = false;
  private readonly expireBound = (): void => {
    this.armed = false;
    this.budget = 0;
  };

  /** The current bus clock time, possibly read earlier in this synchronous run. */
  now(): number {
    if (--this.budget < 0) {
      this.value = toSmi(Date.now() - CLOCK_EPOCH);
      this.budget = READS_PER_REFRESH - 1;
      if (!this.armed) {
        this.armed = true;
        queueMicrotask(this.expireBound);
      }
    }
    return this.value;
  }

  /** The next read refreshes: called at the start and end of every drain. */
  invalidate(): void {
    this.budget = 0;
  }
}

/** Reads between refreshes within one burst. */
export const READS_PER_REFRESH = 256;
