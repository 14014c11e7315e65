import { ErrorCode, RingbusError } from '../errors.js';
import { FrameDecoder } from '../frames/frame-decoder.js';
import type { Overflow } from '../options.js';
import type { Subscription } from '../subscription.js';
import { FrameWriter } from './frame-writer.js';
import type { RawOptions } from './options.js';
import {
  type LinkSession,
  type SessionCounters,
  type SessionEvents,
  type SessionSettings,
  zeroCounters
} from './session.js';
import type { Connection } from './transport.js';

/** What a raw session needs from its bus: plain publish and subscribe. @internal */
export interface RawHost {
  publish(topic: string, payload: Uint8Array): number;
  subscribe(
    pattern: string,
    handler: (msg: { payload: unknown }) => void,
    options: { queueSize: number; overflow: Overflow }
  ): Subscription;
  reportError(error: RingbusError): void;
}

const utf8 = new TextEncoder();

/**
 * A connection in raw mode (nanoQ framing, docs/protocol.md §1.4): every received frame is
 * published on `raw.topic`; the payload of every message matching `raw.pattern` is sent as one
 * frame. No handshake, no acks: QoS 0 only. @internal
 */
export class RawSession implements LinkSession {
  readonly peer = undefined;
  readonly counters: SessionCounters = zeroCounters();
  readonly inFlight = 0;
  private up = true;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly sub: Subscription | undefined;

  constructor(
    private readonly host: RawHost,
    conn: Connection,
    settings: SessionSettings,
    raw: RawOptions,
    private readonly events: SessionEvents
  ) {
    const topic = raw.topic;
    this.decoder = new FrameDecoder(settings.maxFrameBytes, (body) => {
      this.counters.framesIn++;
      this.counters.messagesIn++;
      // A copy: the body is a view of the socket's chunk.
      if (topic !== undefined) this.host.publish(topic, new Uint8Array(body));
    });
    this.writer = new FrameWriter(
      conn,
      settings.maxFrameBytes,
      settings.flushIntervalMs,
      settings.writeTimeoutMs,
      settings.maxPendingBytes,
      {
        beforeFlush: () => undefined,
        pause: () => this.sub?.pause(),
        resume: () => this.sub?.resume(),
        stalled: (error) => this.end(error)
      }
    );
    conn.setHandlers({
      data: (chunk) => {
        this.counters.bytesIn += chunk.length;
        const err = this.decoder.push(chunk);
        if (err !== undefined) this.end(err);
      },
      drain: () => this.writer.drained(),
      close: () => this.end(undefined)
    });
    this.sub =
      raw.pattern === undefined
        ? undefined
        : host.subscribe(raw.pattern, (msg) => this.send(msg.payload), {
            queueSize: settings.sendQueueSize,
            overflow: settings.overflow
          });
    queueMicrotask(() => this.events.up(this));
  }

  get isUp(): boolean {
    return this.up;
  }

  get framesOut(): number {
    return this.writer.framesOut;
  }

  get bytesOut(): number {
    return this.writer.bytesOut;
  }

  get queued(): number {
    return this.sub?.pending ?? 0;
  }

  get dropped(): number {
    return this.sub?.dropped ?? 0;
  }

  /**
   * Raw peers have no pong: resolves once what was published before the call has been handed to
   * the transport (after the drain already scheduled).
   */
  ping(): Promise<void> {
    if (!this.up)
      return Promise.reject(new RingbusError(ErrorCode.LINK_DOWN, 'the raw link is down'));
    return new Promise((resolve) =>
      queueMicrotask(() => {
        this.writer.flush();
        resolve();
      })
    );
  }

  /** Sends `payload` as one raw frame (the topic does not travel in raw mode). */
  publish(fields: { payload: unknown }): Promise<number> {
    if (!this.up)
      return Promise.reject(new RingbusError(ErrorCode.LINK_DOWN, 'the raw link is down'));
    this.send(fields.payload);
    return Promise.resolve(-1);
  }

  close(): void {
    this.end(undefined);
  }

  private send(payload: unknown): void {
    const bytes =
      payload instanceof Uint8Array
        ? payload
        : utf8.encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
    try {
      this.writer.encoder.frame(bytes);
    } catch {
      this.counters.refused++;
      this.host.reportError(
        new RingbusError(
          ErrorCode.FRAME_TOO_LARGE,
          `a ${bytes.length}-byte payload exceeds the raw link's maxFrameBytes`
        )
      );
      return;
    }
    this.counters.messagesOut++;
    this.writer.wrote();
  }

  private end(error: RingbusError | undefined): void {
    if (!this.up) return;
    this.up = false;
    this.sub?.unsubscribe();
    this.writer.end();
    this.events.closed(this, error);
  }
}
