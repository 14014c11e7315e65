import { ErrorCode, RingbusError } from '../errors.js';
import { ByteSlab } from './byte-slab.js';
import { SubjectCache, decodeUtf8 } from './subject-cache.js';

/** Longest field integer: 8 bytes carry 56 bits, of which 53 are allowed. */
const MAX_UINT_BYTES = 8;

/**
 * Reads the fields of one frame body (docs/protocol.md §2.1). Reused across frames: `reset` points
 * it at the next body. Every read is bounds-checked; a malformed body throws `ERR_PROTOCOL`, which
 * the link turns into an error frame and a closed connection.
 */
export class BodyReader {
  private body: Uint8Array = new Uint8Array(0);
  /** Offset just past the body's last byte (the body may be a range of a larger chunk). */
  private end = 0;
  private readonly subjects = new SubjectCache();
  private readonly slab = new ByteSlab();
  /** Offset of the next unread byte. */
  pos = 0;

  /** Starts reading the body `bytes[start, end)` (the whole array by default). */
  reset(bytes: Uint8Array, start = 0, end = bytes.length): void {
    this.body = bytes;
    this.pos = start;
    this.end = end;
  }

  /** Bytes left unread. */
  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw truncated('a byte');
    return this.body[this.pos++];
  }

  /**
   * The byte `ahead` places after the next unread one, left unread; 0x100 past the body's end, so
   * a range check on it fails. For a frame's fast path over one-byte fields (then {@link skip}).
   */
  peek(ahead: number): number {
    const at = this.pos + ahead;
    return at < this.end ? this.body[at] : 0x100;
  }

  /** Reads past `n` bytes that {@link peek} returned. */
  skip(n: number): void {
    this.pos += n;
  }

  /** An unsigned LEB128 integer of up to 53 bits, shortest encoding only. */
  uint(): number {
    const b = this.body;
    // Most fields (flags-sized ids, hops, attempts, lengths) fit one byte.
    if (this.pos < this.end && b[this.pos] < 0x80) return b[this.pos++];
    let value = 0;
    let weight = 1;
    for (let i = 0; i < MAX_UINT_BYTES; i++) {
      if (this.pos >= this.end) throw truncated('an integer');
      const byte = b[this.pos++];
      value += (byte & 0x7f) * weight;
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw malformed('overlong integer encoding');
        if (value > Number.MAX_SAFE_INTEGER) throw malformed('integer above 2^53 - 1');
        return value;
      }
      weight *= 0x80;
    }
    throw malformed(`integer longer than ${MAX_UINT_BYTES} bytes`);
  }

  /** A string field: a byte length, then that many bytes of valid UTF-8. */
  str(): string {
    const n = this.uint();
    const end = this.take(n, 'a string');
    return decodeUtf8(this.body, end - n, end);
  }

  /** The next `n` bytes as a view of the body. */
  bytes(n: number): Uint8Array {
    const end = this.take(n, 'bytes');
    return this.body.subarray(end - n, end);
  }

  /** Everything left, as a view of the body. */
  rest(): Uint8Array {
    const view = this.body.subarray(this.pos, this.end);
    this.pos = this.end;
    return view;
  }

  /**
   * Everything left, copied out of the chunk (a view would keep the whole chunk alive): small
   * runs into a shared slab, like Node's pooled Buffers.
   */
  restCopy(): Uint8Array {
    const copy = this.slab.copy(this.body, this.pos, this.end);
    this.pos = this.end;
    return copy;
  }

  /** A string field that repeats often (topics), through a {@link SubjectCache}. */
  subject(): string {
    const n = this.uint();
    const end = this.take(n, 'a string');
    return this.subjects.read(this.body, end - n, end);
  }

  /** Everything left, decoded as UTF-8. */
  restString(): string {
    const start = this.pos;
    this.pos = this.end;
    return decodeUtf8(this.body, start, this.end);
  }

  /** Throws unless the body was read to its end (no trailing bytes). */
  done(what: string): void {
    if (this.pos !== this.end)
      throw malformed(`${this.end - this.pos} trailing bytes after ${what}`);
  }

  private take(n: number, what: string): number {
    const end = this.pos + n;
    if (end > this.end) throw truncated(what);
    this.pos = end;
    return end;
  }
}

function truncated(what: string): RingbusError {
  return malformed(`frame body ends inside ${what}`);
}

function malformed(message: string): RingbusError {
  return new RingbusError(ErrorCode.PROTOCOL, message);
}
