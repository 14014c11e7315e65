import type { Queue } from './queue.js';

/**
 * Controls of one named channel (`bus.channel(pattern, name)`). The handle looks the channel up
 * on every call, so it may be taken before the channel exists; on a missing channel reads are 0
 * and operations do nothing.
 */
export class ChannelControl {
  /** The channel's pattern. */
  readonly pattern: string;
  /** The channel's name. */
  readonly name: string;
  private readonly lookup: () => Queue | undefined;
  private readonly remove: (queue: Queue) => void;

  /** @internal made by `bus.channel()` */
  constructor(
    pattern: string,
    name: string,
    lookup: () => Queue | undefined,
    remove: (queue: Queue) => void
  ) {
    this.pattern = pattern;
    this.name = name;
    this.lookup = lookup;
    this.remove = remove;
  }

  /** True while the channel exists (created by its first subscriber, until deleted). */
  get exists(): boolean {
    return this.lookup() !== undefined;
  }

  /** Messages waiting in the channel (not in flight). */
  get depth(): number {
    return this.lookup()?.depth ?? 0;
  }

  /** Unacked QoS 1 messages of the channel. */
  get inFlight(): number {
    return this.lookup()?.inFlight ?? 0;
  }

  /** True while paused. */
  get paused(): boolean {
    return this.lookup()?.paused ?? false;
  }

  /** Stops delivery to every consumer; the channel keeps queueing (bounded). */
  pause(): void {
    this.lookup()?.pause();
  }

  /** Resumes delivery. */
  resume(): void {
    this.lookup()?.resume();
  }

  /**
   * Drops every queued message (in-flight ones stay), counted as dropped with reason 'emptied'.
   *
   * @returns how many were dropped
   */
  empty(): number {
    return this.lookup()?.empty() ?? 0;
  }

  /**
   * Deletes the channel: queued messages are dropped ('emptied'), its consumers are unsubscribed,
   * and new messages no longer enter it.
   *
   * @returns false when it did not exist
   */
  delete(): boolean {
    const queue = this.lookup();
    if (queue === undefined) return false;
    this.remove(queue);
    return true;
  }
}
