import { ErrorCode, RingbusError } from '../errors.js';
import { FrameEncoder } from '../frames/frame-encoder.js';
import type { Connection } from './transport.js';

/** Longest wait for a peer to take the last bytes before the connection is destroyed. */
const END_GRACE_MS = 2000;

/** What a {@link FrameWriter} tells its session. @internal */
export interface WriterHooks {
  /** Last chance to add frames to this flush (coalesced acks). */
  beforeFlush(): void;
  /** The peer reads slower than we write: stop taking messages. */
  pause(): void;
  /** It caught up. */
  resume(): void;
  /** It read nothing for `writeTimeoutMs`: drop the connection. */
  stalled(error: RingbusError): void;
}

/**
 * The send side of a connection: frames are encoded into one buffer and written as one chunk per
 * tick (or per `flushIntervalMs`), so a burst costs one syscall (a few when it shares frames); a full socket pauses the
 * session's queues until it drains. @internal
 */
export class FrameWriter {
  encoder: FrameEncoder;
  framesOut = 0;
  bytesOut = 0;
  private scheduled = false;
  private backpressured = false;
  private closed = false;
  private stallTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly flushBound = (): void => this.flush();

  constructor(
    private readonly conn: Connection,
    maxFrameBytes: number,
    private readonly flushIntervalMs: number,
    private readonly writeTimeoutMs: number,
    private readonly maxPendingBytes: number,
    private readonly hooks: WriterHooks
  ) {
    this.encoder = new FrameEncoder(maxFrameBytes);
  }

  /** True while the peer is behind and the session's queues are paused. */
  get isPaused(): boolean {
    return this.backpressured;
  }

  /** Lowers the largest frame sent (the peer's limit), keeping what is encoded already. */
  limit(maxFrameBytes: number): void {
    if (maxFrameBytes === this.encoder.maxFrameBytes) return;
    const pending = this.encoder.takeChunks();
    this.encoder = new FrameEncoder(maxFrameBytes);
    for (const chunk of pending) this.encoder.bytes(chunk);
  }

  /** Counts a frame just encoded and makes sure a flush follows. */
  wrote(): void {
    this.framesOut++;
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    if (this.flushIntervalMs === 0) queueMicrotask(this.flushBound);
    else setTimeout(this.flushBound, this.flushIntervalMs);
  }

  /** Writes everything encoded since the last flush as one chunk. */
  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    this.hooks.beforeFlush();
    if (this.encoder.size === 0) return;
    let ok = true;
    // Usually one chunk; more when frames shared with other links (a fan-out) cut it.
    for (const chunk of this.encoder.takeChunks()) {
      this.bytesOut += chunk.length;
      ok = this.conn.write(chunk);
    }
    // Answers to a peer that sends but never reads (pongs, errors) must not pile up either.
    if (this.conn.bufferedBytes > this.maxPendingBytes) {
      // Nothing more goes to this peer, not even a goodbye: it is not reading.
      this.stop();
      this.conn.destroy();
      this.hooks.stalled(
        new RingbusError(
          ErrorCode.LIMIT,
          `the peer left ${this.conn.bufferedBytes} bytes unread (maxPendingBytes ${this.maxPendingBytes})`
        )
      );
      return;
    }
    if (!ok && !this.backpressured) {
      this.backpressured = true;
      this.hooks.pause();
      this.stallTimer = setTimeout(
        () =>
          this.hooks.stalled(
            new RingbusError(
              ErrorCode.TIMEOUT,
              `the peer read nothing for ${this.writeTimeoutMs} ms (writeTimeoutMs)`
            )
          ),
        this.writeTimeoutMs
      );
    }
  }

  /** The connection drained: resume the session's queues. */
  drained(): void {
    if (!this.backpressured || this.closed) return;
    this.backpressured = false;
    clearTimeout(this.stallTimer);
    this.hooks.resume();
  }

  /** Flushes what is left, ends the connection, and destroys it if the peer does not read that in time. */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.stop();
    this.conn.end();
    // A peer that reads takes the goodbye at once; one that does not must not hold close() up.
    const timer = setTimeout(
      () => this.conn.destroy(),
      Math.min(this.writeTimeoutMs, END_GRACE_MS)
    );
    (timer as { unref?: () => void }).unref?.();
  }

  /** Stops timers; nothing more is written. */
  stop(): void {
    this.closed = true;
    clearTimeout(this.stallTimer);
  }
}
