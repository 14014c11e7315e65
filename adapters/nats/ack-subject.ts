import type { JsMsg } from 'nats';
import { coreOf, rawReply } from './nats-message.js';

/**
 * What the bridge needs from a JetStream message's acknowledgement subject (its reply subject),
 * which JetStream writes as `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.…` (9 tokens)
 * or, with a domain and account hash after `ACK`, 11 or more tokens (ADR-15). nats.js's `info`
 * decodes and splits the whole subject into an object per message; this reads the two numbers
 * from the raw bytes, and asks `info` only when they are not there to read.
 */
export class AckSubject {
  /** How many times JetStream has delivered the message, this one included (`attempt`). */
  delivered = 0;
  /** The message's sequence number in its stream. */
  streamSeq = 0;
  /** Offsets of the first dots of the subject being read. */
  private readonly dots = new Int32Array(MAX_DOTS);

  /** Reads `m`'s subject; the fields hold its numbers until the next call. */
  read(m: JsMsg): void {
    const core = coreOf(m);
    const raw = core === undefined ? undefined : rawReply(core);
    if (raw !== undefined && this.readBytes(raw)) return;
    this.delivered = m.info.deliveryCount;
    this.streamSeq = m.info.streamSequence;
  }

  /** False when `b` is not an acknowledgement subject of a known shape. */
  private readBytes(b: Uint8Array): boolean {
    const dots = this.dots;
    let n = 0;
    for (let i = 0; i < b.length; i++) {
      if (b[i] !== DOT) continue;
      if (n === MAX_DOTS) return false;
      dots[n++] = i;
    }
    // $ J S . A C K .
    if (n < 8 || dots[0] !== 3 || dots[1] !== 7) return false;
    if (b[0] !== 0x24 || b[1] !== 0x4a || b[2] !== 0x53) return false;
    if (b[4] !== 0x41 || b[5] !== 0x43 || b[6] !== 0x4b) return false;
    // Token k lies between dot k - 1 and dot k: <delivered> is token 4 (9 tokens) or 6 (11+).
    const k = n === 8 ? 4 : n >= 10 ? 6 : -1;
    if (k < 0) return false;
    const delivered = digits(b, dots[k - 1] + 1, dots[k]);
    const streamSeq = digits(b, dots[k] + 1, dots[k + 1]);
    if (delivered < 1 || streamSeq < 1) return false;
    this.delivered = delivered;
    this.streamSeq = streamSeq;
    return true;
  }
}

const DOT = 0x2e;
/** The longest known shape has 12 tokens; a few more are tolerated after them. */
const MAX_DOTS = 16;

/** The decimal number `b[start, end)`, or -1 when it is not one (or not a safe integer). */
function digits(b: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}
