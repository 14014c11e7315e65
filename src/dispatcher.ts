import type { CoarseClock } from './clock.js';
import { MAX_CHAINED_DRAINS } from './limits.js';
import type { Queue } from './queue.js';
import type { TopicLog } from './topic-log.js';

/**
 * Decides when queued messages are delivered: on a microtask after the first publish of a tick
 * (`'microtask'`), or only on `flush()` (`'manual'`). Each drain delivers what was queued when it
 * started; what handlers publish meanwhile waits for the next drain, so a handler is never
 * re-entered and a tick is deterministic.
 *
 * @internal
 */
export class Dispatcher {
  // Two lists rather than one of a common interface: each drain call site stays monomorphic.
  private queues: Queue[] = [];
  private spareQueues: Queue[] = [];
  private logs: TopicLog[] = [];
  private spareLogs: TopicLog[] = [];
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

  /** Marks `queue` for the next drain. */
  schedule(queue: Queue): void {
    queue.scheduled = true;
    this.queues.push(queue);
    this.kick();
  }

  /** Marks a topic's shared log for the next drain. */
  scheduleLog(log: TopicLog): void {
    log.scheduled = true;
    this.logs.push(log);
    this.kick();
  }

  /** Drains now, synchronously; a no-op when called from inside a drain (a handler). */
  flush(): void {
    if (this.draining) return;
    this.draining = true;
    this.clock.invalidate();
    const queues = this.queues;
    const logs = this.logs;
    this.queues = this.spareQueues;
    this.logs = this.spareLogs;
    try {
      // Snapshot first: what handlers publish during this flush waits for the next one.
      for (let i = 0; i < queues.length; i++) queues[i].snapshot();
      for (let i = 0; i < logs.length; i++) logs[i].end = logs[i].head;
      for (let i = 0; i < queues.length; i++) queues[i].drain();
      for (let i = 0; i < logs.length; i++) logs[i].drain();
    } finally {
      queues.length = 0;
      logs.length = 0;
      this.spareQueues = queues;
      this.spareLogs = logs;
      this.draining = false;
      this.clock.invalidate();
    }
  }

  private kick(): void {
    if (this.auto && !this.pending && !this.draining) {
      this.pending = true;
      queueMicrotask(this.runBound);
    }
  }

  private run(): void {
    this.pending = false;
    this.flush();
    if (this.queues.length + this.logs.length === 0 || this.pending) {
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
