/**
 * A fixed-capacity FIFO over a power-of-two slot array: the one queue primitive.
 *
 * ```
 *   slots: [ . . . a b c d . . ]      head = index of `a`, size = 4
 *                  ^head      ^(head + size) & mask is where the next push goes
 * ```
 *
 * Indices are masked, consumed slots are cleared to `undefined` so payloads do not stay
 * reachable, and nothing is allocated per push or shift. `push` reports a full ring instead of
 * throwing: the caller applies its overflow policy.
 *
 * @typeParam T - the element type; `undefined` is the empty value and cannot be stored
 */
export class Ring<T> {
  private slots: (T | undefined)[];
  private mask: number;
  private head: number;
  /** Number of elements held. */
  size: number;

  /** @param capacity - rounded up to a power of two; see {@link Ring.capacity} */
  constructor(capacity: number) {
    const cap = nextPowerOfTwo(capacity);
    this.slots = new Array<T | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.head = 0;
    this.size = 0;
  }

  /** The real capacity (a power of two). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** True when a push would fail. */
  get isFull(): boolean {
    return this.size > this.mask;
  }

  /** Appends `value`; returns false (and stores nothing) when full. O(1). */
  push(value: T): boolean {
    if (this.size > this.mask) return false;
    this.slots[(this.head + this.size) & this.mask] = value;
    this.size++;
    return true;
  }

  /** Removes and returns the oldest element, or `undefined` when empty. O(1). */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const head = this.head;
    const value = this.slots[head];
    this.slots[head] = undefined;
    this.head = (head + 1) & this.mask;
    this.size--;
    return value;
  }

  /** The oldest element without removing it. */
  peek(): T | undefined {
    return this.size === 0 ? undefined : this.slots[this.head];
  }

  /** The element `offset` places after the oldest (0 = oldest), or `undefined` past the end. */
  at(offset: number): T | undefined {
    return offset < 0 || offset >= this.size
      ? undefined
      : this.slots[(this.head + offset) & this.mask];
  }

  /** Replaces the element `offset` places after the oldest; used by conflation. */
  set(offset: number, value: T): void {
    if (offset < 0 || offset >= this.size)
      throw new RangeError(`ring offset ${offset} out of range`);
    this.slots[(this.head + offset) & this.mask] = value;
  }

  /** Doubles the capacity, keeping order. For internal queues that must never refuse (requeues). */
  grow(): void {
    const cap = this.mask + 1;
    const next = new Array<T | undefined>(cap * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) next[i] = this.slots[(this.head + i) & this.mask];
    this.slots = next;
    this.mask = cap * 2 - 1;
    this.head = 0;
  }

  /** Removes every element, clearing the slots. */
  clear(): void {
    while (this.size > 0) this.shift();
  }
}

/** Smallest power of two ≥ `n` (and ≥ 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
