import type { FrameEncoder } from '../frames/frame-encoder.js';
import type { PayloadCodec } from '../frames/envelope.js';

/** Entries (a power of two): more than the messages one tick fans out before every link drained. */
const SLOTS = 4096;

/**
 * The MSG frames of recent interest deliveries, shared by the links of one bus: a message fanned
 * out to many links is encoded by the first, and every other link writes the same bytes. Only interest
 * deliveries (no subscription id, no tag, no TTL) are the same bytes on every link; the codec is
 * part of the key. An entry points into the encoder buffer that wrote the frame, which
 * {@link FrameEncoder} never writes again, so a hit is always the frame as it was encoded.
 * @internal
 */
export class FrameCache {
  private readonly messages: (object | undefined)[] = new Array<object | undefined>(SLOTS).fill(
    undefined
  );
  private readonly codecs: (PayloadCodec | undefined)[] = new Array<PayloadCodec | undefined>(
    SLOTS
  ).fill(undefined);
  private readonly buffers: Uint8Array[] = new Array<Uint8Array>(SLOTS).fill(new Uint8Array(0));
  private readonly starts = new Int32Array(SLOTS);
  private readonly ends = new Int32Array(SLOTS);

  /**
   * Appends the cached frame of `msg` to `enc` (by reference); false when there is none, or when
   * it may exceed what `enc`'s peer accepts (then `enc` encodes it, and refuses it if too large).
   */
  writeTo(enc: FrameEncoder, msg: object, id: number, codec: PayloadCodec | undefined): boolean {
    const slot = id & (SLOTS - 1);
    if (this.messages[slot] !== msg || this.codecs[slot] !== codec) return false;
    // The range holds the length prefix too: a frame within 5 bytes of the limit is re-encoded.
    if (this.ends[slot] - this.starts[slot] > enc.maxFrameBytes) return false;
    enc.share(this.buffers[slot], this.starts[slot], this.ends[slot]);
    return true;
  }

  /** Remembers the frame `enc` just ended as the encoding of `msg`. */
  remember(enc: FrameEncoder, msg: object, id: number, codec: PayloadCodec | undefined): void {
    const slot = id & (SLOTS - 1);
    this.messages[slot] = msg;
    this.codecs[slot] = codec;
    this.buffers[slot] = enc.target;
    this.starts[slot] = enc.frameStart;
    this.ends[slot] = enc.position;
  }
}
