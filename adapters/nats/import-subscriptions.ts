import type { Subscription as NatsSub } from 'nats';
import { skipsDollar, tokensOverlap } from '../../src/link/permissions.js';
import type { Queue } from '../../src/queue.js';
import { parsePattern } from '../../src/subject.js';

/**
 * The NATS subscriptions of a bridge's `import` patterns, held only while something on the bus
 * could take what they bring: a local queue (or a linked bus's interest) on an overlapping
 * pattern that is not fed by the bridge itself. Channels fed from JetStream or a queue group get
 * their messages there, so a host whose only takers are such channels is not sent every message
 * a second time over core NATS.
 *
 * @internal
 */
export class ImportSubscriptions {
  private readonly tokens: string[][];
  /** Per import: how many (queue, pattern) takers overlap it. */
  private readonly counts: number[];
  private readonly subs: (NatsSub | undefined)[];
  /** Each taker's pattern and the imports it counts toward. */
  private readonly takers = new Map<Queue, Map<string, number[]>>();

  /**
   * @param patterns - the bridge's `import` patterns
   * @param subscribe - subscribes to one of them in NATS; undefined when it cannot now (the
   *   connection is closing); never throws
   */
  constructor(
    private readonly patterns: readonly string[],
    private readonly subscribe: (pattern: string) => NatsSub | undefined
  ) {
    this.tokens = patterns.map((p) => parsePattern(p));
    this.counts = patterns.map(() => 0);
    this.subs = patterns.map(() => undefined);
  }

  /** `queue` takes core messages on `pattern` from now on (true), or no longer (false). */
  set(queue: Queue, pattern: string, takes: boolean): void {
    let byPattern = this.takers.get(queue);
    const counted = byPattern?.get(pattern);
    if (takes === (counted !== undefined)) return;
    if (takes) {
      const tokens = parsePattern(pattern);
      const hits: number[] = [];
      for (let i = 0; i < this.tokens.length; i++)
        if (mayTake(this.tokens[i], tokens)) hits.push(i);
      if (byPattern === undefined) {
        byPattern = new Map<string, number[]>();
        this.takers.set(queue, byPattern);
      }
      byPattern.set(pattern, hits);
      for (const i of hits)
        if (this.counts[i]++ === 0) this.subs[i] = this.subscribe(this.patterns[i]);
      return;
    }
    for (const i of counted!) {
      if (--this.counts[i] > 0) continue;
      this.subs[i]?.unsubscribe();
      this.subs[i] = undefined;
    }
    byPattern!.delete(pattern);
    if (byPattern!.size === 0) this.takers.delete(queue);
  }

  /** Unsubscribes everything (the session ends). */
  close(): void {
    for (const sub of this.subs) sub?.unsubscribe();
    this.subs.fill(undefined);
    this.counts.fill(0);
    this.takers.clear();
  }
}

/**
 * Can NATS bring on `imported` a subject that a local queue on `local` takes? NATS's wildcards
 * match `$` subjects (an import of `>` brings `$inbox.…` replies); the bus's leading ones do not.
 */
function mayTake(imported: readonly string[], local: readonly string[]): boolean {
  return !skipsDollar(local, imported) && tokensOverlap(imported, local);
}
