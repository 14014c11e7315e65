import type { CoarseClock } from './clock.js';
import { MAX_CHAINED_DRAINS } from './limits.js';

/** Something the dispatcher drains: a queue or a topic's shared log. @internal */
export interface Drainable {
  scheduled: boolean;
  drain(): void;
}

/**
 * Decides when queued messages are delivered: on a microtask after the first publish of a tick
 * (`'microtask'`), or only on `flush()` (`'manual'`). Each drain delivers the queues that were
 * dirty when it started; what handlers publish meanwhile waits for the next drain, so a handler
 * is never re-entered and a tick is deterministic.
 *
 * @internal
 */
export class Dispatcher {
  private dirty: Drainable[] = [];
  private spare: Drainable[] = [];
  private pending = false;
  private draining = false;
  /** Microtask drains in a row; past MAX_CHAINED_DRAINS the next one yields to the event loop. */
  private chained = 0;
  private readonly auto: boolean;
  private readonly clock: CoarseClock;
  private readonly runBound: () => void;

  constructor(auto: boolean, clock: CoarseClock) {
    this.auto = auto;
    this.clock = clock;
    this.runBound = () => this.run();
  }

  /** Marks `target` for the next drain. */
  schedule(target: Drainable): void {
    target.scheduled = true;
    this.dirty.push(target);
    if (this.auto && !this.pending && !this.draining) {
      this.pending = true;
      queueMicrotask(this.runBound);
    }
  }

  /** Drains now, synchronously; a no-op when called from inside a drain (a handler). */
  flush(): void {
    if (this.draining) return;
    this.draining = true;
    this.clock.invalidate();
    const list = this.dirty;
    this.dirty = this.spare;
    try {
      for (let i = 0; i < list.length; i++) list[i].drain();
    } finally {
      list.length = 0;
      this.spare = list;
      this.draining = false;
      this.clock.invalidate();
    }
  }

  private run(): void {
    this.pending = false;
    this.flush();
    if (this.dirty.length === 0 || this.pending) {
      this.chained = 0;
      return;
    }
    this.pending = true;
    if (++this.chained < MAX_CHAINED_DRAINS) queueMicrotask(this.runBound);
    else {
      // Handlers keep publishing to each other: let I/O and timers run between drains.
      this.chained = 0;
      setTimeout(this.runBound, 0);
    }
  }
}
