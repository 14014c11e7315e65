import { MessageState, type ReliableMessage } from './message.js';

/**
 * Unacked QoS 1 messages of one queue, as an intrusive doubly linked list in delivery order.
 * Every message of a queue shares one ack timeout, so delivery order is deadline order: the head
 * is always the next to expire, one timer suffices, and add/remove are O(1) with no allocation.
 */
export class InFlight {
  private head: ReliableMessage | undefined = undefined;
  private tail: ReliableMessage | undefined = undefined;
  /** Messages in flight. */
  count = 0;

  /** Appends `msg` (now in flight until `deadline`). */
  add(msg: ReliableMessage, deadline: number): void {
    msg.state = MessageState.IN_FLIGHT;
    msg.deadline = deadline;
    msg.prev = this.tail;
    msg.next = undefined;
    if (this.tail === undefined) this.head = msg;
    else this.tail.next = msg;
    this.tail = msg;
    this.count++;
  }

  /** Unlinks `msg` and marks it settled; its `ack()`/`nack()` become no-ops. */
  remove(msg: ReliableMessage): void {
    if (msg.prev === undefined) this.head = msg.next;
    else msg.prev.next = msg.next;
    if (msg.next === undefined) this.tail = msg.prev;
    else msg.next.prev = msg.prev;
    msg.prev = undefined;
    msg.next = undefined;
    msg.state = MessageState.SETTLED;
    this.count--;
  }

  /** The message that expires first, if any. */
  first(): ReliableMessage | undefined {
    return this.head;
  }

  /** Messages in flight with `consumer`, oldest first (a copy: callers settle them). */
  heldBy(consumer: unknown): ReliableMessage[] {
    const out: ReliableMessage[] = [];
    for (let m = this.head; m !== undefined; m = m.next) if (m.consumer === consumer) out.push(m);
    return out;
  }
}
