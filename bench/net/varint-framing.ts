/**
 * Hand-written length-prefix framing for the raw-net contender: each frame is an unsigned LEB128
 * length (1–5 bytes) followed by that many payload bytes. Deliberately independent of src/frames
 * so the "practical limit" row does not move when ringbus's own codec does.
 */

/** Largest frame the decoder accepts; a bench guard against a corrupt stream, not a protocol limit. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const MAX_VARINT_BYTES = 5;
const DEFAULT_CHUNK_BYTES = 64 * 1024;

/**
 * Coalesces frames into one chunk per tick (nats `sendCommand` style): the first frame of a tick
 * schedules a microtask flush, later frames append, and a full chunk flushes inline. `sink`
 * receives each chunk once and owns it afterwards (a fresh chunk is allocated per flush, so the
 * same chunk may be written to many sockets).
 */
export class FrameBatcher {
  private chunk: Buffer;
  private used: number;
  private isScheduled: boolean;
  private readonly flushBound: () => void;

  constructor(
    private readonly sink: (chunk: Buffer) => void,
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES
  ) {
    this.chunk = Buffer.allocUnsafe(chunkBytes);
    this.used = 0;
    this.isScheduled = false;
    this.flushBound = () => this.flush();
  }

  push(payload: Uint8Array): void {
    const need = payload.length + MAX_VARINT_BYTES;
    if (this.used + need > this.chunk.length) {
      this.flush();
      if (need > this.chunk.length) this.chunk = Buffer.allocUnsafe(need);
    }
    const chunk = this.chunk;
    let pos = this.used;
    let n = payload.length;
    while (n >= 0x80) {
      chunk[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    chunk[pos++] = n;
    chunk.set(payload, pos);
    this.used = pos + payload.length;
    if (!this.isScheduled) {
      this.isScheduled = true;
      queueMicrotask(this.flushBound);
    }
  }

  /** Hands the pending frames to the sink now. */
  flush(): void {
    this.isScheduled = false;
    if (this.used === 0) return;
    const out = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
    this.sink(out);
  }
}

/**
 * Incremental decoder: frames wholly inside a chunk are delivered as zero-copy views (valid only
 * during the callback); a frame straddling chunks is copied into its own buffer.
 */
export class FrameDecoder {
  /** Length being read: accumulated value and the multiplier of the next 7 bits. */
  private length: number;
  private multiplier: number;
  private headerBytes: number;
  /** Body of a frame that straddles chunks, and how much of it has arrived. */
  private body: Buffer | undefined;
  private filled: number;

  constructor(private readonly onFrame: (payload: Uint8Array) => void) {
    this.length = 0;
    this.multiplier = 1;
    this.headerBytes = 0;
    this.body = undefined;
    this.filled = 0;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      const body = this.body;
      if (body !== undefined) {
        const take = Math.min(body.length - this.filled, n - off);
        chunk.copy(body, this.filled, off, off + take);
        this.filled += take;
        off += take;
        if (this.filled === body.length) {
          this.body = undefined;
          this.onFrame(body);
        }
        continue;
      }
      // Multiplication, not `<<`: the fifth byte would overflow 32-bit signed shifts.
      const b = chunk[off++];
      this.length += (b & 0x7f) * this.multiplier;
      if ((b & 0x80) !== 0) {
        this.multiplier *= 128;
        if (++this.headerBytes === MAX_VARINT_BYTES) throw new Error('varint longer than 5 bytes');
        continue;
      }
      const len = this.length;
      this.length = 0;
      this.multiplier = 1;
      this.headerBytes = 0;
      if (len > MAX_FRAME_BYTES) throw new Error(`frame of ${len} bytes exceeds the bench limit`);
      if (n - off >= len) {
        this.onFrame(chunk.subarray(off, off + len));
        off += len;
      } else {
        this.body = Buffer.allocUnsafe(len);
        this.filled = 0;
      }
    }
  }
}
