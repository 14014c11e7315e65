import { ErrorCode, RingbusError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Longest field integer: 8 bytes carry 56 bits, of which 53 are allowed. */
const MAX_UINT_BYTES = 8;

/**
 * Reads the fields of one frame body (docs/protocol.md §2.1). Reused across frames: `reset` points
 * it at the next body. Every read is bounds-checked; a malformed body throws `ERR_PROTOCOL`, which
 * the link turns into an error frame and a closed connection.
 */
export class BodyReader {
  private body: Uint8Array = new Uint8Array(0);
  /** Offset of the next unread byte. */
  pos = 0;

  /** Starts reading `body` from its first byte. */
  reset(body: Uint8Array): void {
    this.body = body;
    this.pos = 0;
  }

  /** Bytes left unread. */
  get remaining(): number {
    return this.body.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.body.length) throw truncated('a byte');
    return this.body[this.pos++];
  }

  /** An unsigned LEB128 integer of up to 53 bits, shortest encoding only. */
  uint(): number {
    const b = this.body;
    let value = 0;
    let weight = 1;
    for (let i = 0; i < MAX_UINT_BYTES; i++) {
      if (this.pos >= b.length) throw truncated('an integer');
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
    return decode(this.body, end - n, end);
  }

  /** The next `n` bytes as a view of the body. */
  bytes(n: number): Uint8Array {
    const end = this.take(n, 'bytes');
    return this.body.subarray(end - n, end);
  }

  /** Everything left, as a view of the body. */
  rest(): Uint8Array {
    const view = this.body.subarray(this.pos);
    this.pos = this.body.length;
    return view;
  }

  /** Everything left, decoded as UTF-8. */
  restString(): string {
    const start = this.pos;
    this.pos = this.body.length;
    return decode(this.body, start, this.body.length);
  }

  /** Throws unless the body was read to its end (no trailing bytes). */
  done(what: string): void {
    if (this.pos !== this.body.length)
      throw malformed(`${this.body.length - this.pos} trailing bytes after ${what}`);
  }

  private take(n: number, what: string): number {
    const end = this.pos + n;
    if (end > this.body.length) throw truncated(what);
    this.pos = end;
    return end;
  }
}

/** Short ASCII strings (topics, header names) are built directly: TextDecoder's call costs more. */
function decode(b: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i];
      if (c >= 0x80) return strictUtf8(b, start, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return strictUtf8(b, start, end);
}

function strictUtf8(b: Uint8Array, start: number, end: number): string {
  try {
    return utf8.decode(b.subarray(start, end));
  } catch {
    throw malformed('a string is not valid UTF-8');
  }
}

function truncated(what: string): RingbusError {
  return malformed(`frame body ends inside ${what}`);
}

function malformed(message: string): RingbusError {
  return new RingbusError(ErrorCode.PROTOCOL, message);
}
