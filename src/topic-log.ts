import type { Message } from './message.js';
import { nextPowerOfTwo } from './ring.js';

/** What the log needs from a reader (a direct queue). @internal */
export interface LogReader {
  /** Absolute sequence number of the next message this reader takes. */
  cursor: number;
  /** The reader's bound: it keeps at most this many unread messages. */
  readonly capacity: number;
  /** Drops unread messages up to (not including) `seq`, counting each as an overflow. */
  skipTo(seq: number): void;
  /** Delivers what it can now. */
  drain(): void;
}

/** What the log needs from its bus. @internal */
export interface LogHost {
  scheduleLog(log: TopicLog): void;
}

/** Sequence numbers are rebased below this so they stay small integers (Smis) forever. */
const REBASE_AT = 2 ** 30;

/**
 * The broadcast ring of one topic: every message published on the topic is written once, and
 * each direct reader (a private QoS 0 push subscription on exactly this topic) follows it with
 * its own cursor, like a Disruptor. Fan-out then costs one write per publish instead of one
 * queue push per subscriber.
 *
 * ```
 *   seq:  tail ......... min(cursor) ..... cursor(r2) ...... head
 *         [cleared]      [unread by someone]                 ^ next write
 * ```
 *
 * A reader that falls more than its `capacity` behind drops its oldest messages (drop-oldest),
 * exactly as its own bounded queue would. The ring holds at least twice every reader's capacity,
 * so a slot is never overwritten while a reader may still need it, and slots are cleared once
 * every reader passed them, so payloads do not stay reachable.
 *
 * @internal
 */
export class TopicLog {
  readonly topic: string;
  private readonly host: LogHost;
  private slots: (Message | undefined)[];
  private mask: number;
  /** Next sequence number to write. */
  head: number;
  /** Readers deliver up to here: `head` when the current drain started (set by the dispatcher). */
  end: number;
  /** Oldest slot not yet cleared. */
  private tail: number;
  /** `head` at which a write must first make room. */
  private limit: number;
  readers: LogReader[];
  scheduled: boolean;

  constructor(host: LogHost, topic: string, capacity: number) {
    const cap = nextPowerOfTwo(capacity);
    this.topic = topic;
    this.host = host;
    this.slots = new Array<Message | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.head = 0;
    this.end = 0;
    this.tail = 0;
    this.limit = cap;
    this.readers = [];
    this.scheduled = false;
  }

  /** Appends `msg` for every reader. O(1), no allocation. */
  append(msg: Message): void {
    if (this.head === this.limit) this.makeRoom();
    this.slots[this.head & this.mask] = msg;
    this.head++;
    if (!this.scheduled) this.host.scheduleLog(this);
  }

  /** The message at sequence `seq` (must be unread by some reader). */
  at(seq: number): Message {
    return this.slots[seq & this.mask] as Message;
  }

  /** Adds a reader starting at the current head; grows the ring to twice its capacity if needed. */
  addReader(reader: LogReader): void {
    reader.cursor = this.head;
    if (reader.capacity * 2 > this.mask + 1) this.grow(nextPowerOfTwo(reader.capacity * 2));
    this.readers = [...this.readers, reader];
  }

  removeReader(reader: LogReader): void {
    this.readers = this.readers.filter((r) => r !== reader);
    this.release();
  }

  /** Delivers to every reader, then clears what all of them passed. Called by the dispatcher. */
  drain(): void {
    this.scheduled = false;
    const readers = this.readers;
    for (let i = 0; i < readers.length; i++) readers[i].drain();
    this.release();
    // Published by handlers earlier in this drain, past the snapshot: next drain.
    if (this.head > this.end && !this.scheduled) this.host.scheduleLog(this);
  }

  /** The ring is full up to the slowest reader: readers past their bound drop their oldest. */
  private makeRoom(): void {
    // this.head, not a copy: a drop listener may unsubscribe a reader, and a rebase shift it.
    for (const r of this.readers)
      if (this.head - r.cursor >= r.capacity) r.skipTo(this.head - r.capacity + 1);
    this.release();
  }

  /** Oldest sequence number some reader may still need. */
  get oldest(): number {
    return this.tail;
  }

  /** Clears slots every reader has passed and moves the write limit. */
  release(): void {
    let min = this.head;
    for (const r of this.readers) if (r.cursor < min) min = r.cursor;
    const slots = this.slots;
    for (let seq = this.tail; seq < min; seq++) slots[seq & this.mask] = undefined;
    this.tail = min;
    this.limit = min + this.mask + 1;
    if (min >= REBASE_AT) this.rebase();
  }

  private grow(capacity: number): void {
    const next = new Array<Message | undefined>(capacity).fill(undefined);
    for (let seq = this.tail; seq < this.head; seq++)
      next[seq & (capacity - 1)] = this.slots[seq & this.mask];
    this.slots = next;
    this.mask = capacity - 1;
    this.limit = this.tail + capacity;
  }

  /** Shifts every sequence number down by a multiple of the capacity (slot indices are unchanged). */
  private rebase(): void {
    const shift = this.tail - (this.tail & this.mask);
    this.head -= shift;
    this.end -= shift;
    this.tail -= shift;
    this.limit -= shift;
    for (const r of this.readers) r.cursor -= shift;
  }
}
