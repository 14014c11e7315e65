import type { ConnectionHandlers } from '../src/link/transport.js';

/**
 * What the Node and browser WebSocket connections share (no Node built-ins here): how the frame
 * stream is cut into messages, when a socket counts as full, and holding what arrives before the
 * session attaches.
 */

/**
 * Largest WebSocket message sent. The frame stream may be cut anywhere between messages (the
 * receiver decodes it incrementally), so a big flush goes out as several messages.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Bytes queued on a WebSocket above which `write` asks the writer to wait. */
export const HIGH_WATER_BYTES = 64 * 1024;

/** Sends `bytes` as messages of at most {@link MAX_MESSAGE_BYTES}; `last` marks the final one. */
export function sendInMessages(
  bytes: Uint8Array,
  send: (message: Uint8Array, last: boolean) => void
): void {
  if (bytes.length <= MAX_MESSAGE_BYTES) return send(bytes, true);
  for (let at = 0; at < bytes.length; at += MAX_MESSAGE_BYTES) {
    const end = Math.min(bytes.length, at + MAX_MESSAGE_BYTES);
    send(bytes.subarray(at, end), end === bytes.length);
  }
}

/**
 * Routes a WebSocket's messages and close to the session's handlers, keeping what comes before
 * they are attached: a listener may answer before the connecting side has its session.
 */
export class Inbox {
  private handlers: ConnectionHandlers | undefined = undefined;
  private early: Uint8Array[] = [];
  private closed = false;

  data(chunk: Uint8Array): void {
    if (this.handlers === undefined) this.early.push(chunk);
    else this.handlers.data(chunk);
  }

  close(): void {
    this.closed = true;
    this.handlers?.close();
  }

  drain(): void {
    this.handlers?.drain();
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    const early = this.early;
    this.early = [];
    for (const chunk of early) handlers.data(chunk);
    if (this.closed) handlers.close();
  }
}
