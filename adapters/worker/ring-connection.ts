import type { Connection, ConnectionHandlers } from '../../src/link/transport.js';
import type { RingReader } from './ring-reader.js';
import type { RingWriter } from './ring-writer.js';

/** Most bytes handed to the link at once, as a socket read would (the bus dispatches between). */
const CHUNK_BYTES = 64 * 1024;
/** Bytes handed to the link per event-loop turn before it yields to timers and I/O. */
const TURN_BYTES = 1024 * 1024;

/** Resolves after pending timers and I/O had their turn (setImmediate is Node's; browsers lack it). */
const nextTurn: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A link's byte stream over two shared rings, one per direction: what a socket is to the TCP
 * adapter. Writes copy into the outbound ring (split into records of at most a quarter of it, so
 * one frame larger than the ring still passes; the peer's frame decoder joins the pieces); when
 * the ring is full they wait in a local queue, `write` returns false and `drain` follows, as on a
 * socket. Reads hand the peer's records to the link in place and free them once it returns.
 *
 * The end of the stream is the ring's ENDED flag, raised after the last record; the reader
 * delivers everything before it, then closes. Sleeping never blocks the thread (waitAsync).
 */
export class RingConnection implements Connection {
  private handlers: ConnectionHandlers | undefined = undefined;
  /** Chunks waiting for room in the outbound ring, and their bytes. */
  private readonly queued: Uint8Array[] = [];
  private queuedBytes = 0;
  /** Offset already written of `queued[0]`. */
  private queuedOffset = 0;
  private waitingForSpace = false;
  /** `end()` came while chunks were queued: end the ring once they are written. */
  private ending = false;
  private closed = false;
  private readonly maxRecord: number;

  /**
   * @param remote - the peer's name for stats and logs
   * @param released - called once when the connection is closed either way (detach listeners)
   */
  constructor(
    private readonly out: RingWriter,
    private readonly in_: RingReader,
    readonly remote: string,
    private readonly released: () => void
  ) {
    this.maxRecord = Math.max(1, out.capacity >>> 2);
  }

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    void this.readLoop();
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    // Nothing may overtake queued chunks; with none, as much as fits goes now.
    if (this.queued.length === 0) {
      const written = this.copyIn(bytes, 0);
      if (written === bytes.length) return true;
      this.queuedOffset = written;
      this.queuedBytes -= written;
    }
    this.queued.push(bytes);
    this.queuedBytes += bytes.length;
    if (!this.waitingForSpace) void this.waitForSpace();
    return false;
  }

  end(): void {
    if (this.closed) return;
    if (this.queued.length === 0) this.finish();
    else this.ending = true;
  }

  destroy(): void {
    if (this.closed) return;
    this.queued.length = 0;
    this.queuedBytes = 0;
    this.finish();
  }

  /** Writes `bytes` from `from` in records while there is room; returns the new offset. */
  private copyIn(bytes: Uint8Array, from: number): number {
    const out = this.out;
    let at = from;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, this.maxRecord);
      const offset = out.reserve(n);
      if (offset < 0) break;
      out.data.set(bytes.subarray(at, at + n), offset);
      out.commit(n);
      at += n;
    }
    return at;
  }

  private async waitForSpace(): Promise<void> {
    this.waitingForSpace = true;
    // Called from a write() about to return false: `drain` must follow that, never come within
    // it, even when the reader (another thread) has made room meanwhile.
    await Promise.resolve();
    while (!this.closed && this.queued.length > 0) {
      const head = this.queued[0];
      const before = this.queuedOffset;
      this.queuedOffset = this.copyIn(head, before);
      this.queuedBytes -= this.queuedOffset - before;
      if (this.queuedOffset === head.length) {
        this.queued.shift();
        this.queuedOffset = 0;
        continue;
      }
      const room = Math.min(head.length - this.queuedOffset, this.maxRecord);
      // False once the peer detached its end: the read side sees its ring end and closes.
      if (!(await this.out.waitForSpaceAsync(room, Infinity))) break;
    }
    this.waitingForSpace = false;
    if (this.closed) return;
    if (this.queued.length > 0) this.destroy();
    else if (this.ending) this.finish();
    else this.handlers?.drain();
  }

  private async readLoop(): Promise<void> {
    const reader = this.in_;
    let budget = TURN_BYTES;
    while (!this.closed) {
      const n = Math.min(reader.available(), CHUNK_BYTES);
      if (n > 0) {
        const at = reader.readOffset;
        this.handlers?.data(reader.data.subarray(at, at + n));
        if (this.closed) return;
        reader.release(n);
        budget -= n;
        // As between two socket reads: the bus dispatches what the chunk queued (a microtask),
        // and every few chunks timers and I/O get their turn.
        if (budget > 0) await Promise.resolve();
        else {
          budget = TURN_BYTES;
          await nextTurn();
        }
      } else if (reader.ended) {
        // ENDED is raised after the last record: with none left, the stream is over.
        if (reader.available() === 0) return this.destroy();
      } else {
        budget = TURN_BYTES;
        // Returns without data once a ring is closed: the loop then sees `closed` or `ended`.
        await reader.waitForDataAsync(Infinity);
      }
    }
  }

  private finish(): void {
    this.closed = true;
    // Both rings closed: the peer reads what was written, then its end; every wait returns.
    this.out.end();
    this.in_.detach();
    this.released();
    // Later, as a socket's 'close' event: the caller of destroy() finishes its own teardown first.
    const handlers = this.handlers;
    if (handlers !== undefined) queueMicrotask(() => handlers.close());
  }
}
