import { ErrorCode, RingbusError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Slots of the cache (a power of two) and the longest subject it holds. */
const CACHE_SLOTS = 256;
const CACHED_MAX = 128;

/**
 * Turns the bytes of subjects that repeat (topics) into strings: the last one is compared byte by
 * byte, then a small cache of recent ones; a hit returns the same string object, skipping the
 * decode and letting maps reuse its hash. One per reader (a link, a NATS connection).
 *
 * @internal
 */
export class SubjectCache {
  private readonly cache: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS).fill(
    undefined
  );
  /** The last subject read and its bytes: a stream of messages mostly repeats its topic. */
  private lastSubject = '';
  private readonly lastBytes = new Uint8Array(CACHED_MAX);

  /**
   * The string of `b[start, end)`.
   *
   * @throws {@link RingbusError} `ERR_PROTOCOL` when the bytes are not valid UTF-8
   */
  read(b: Uint8Array, start: number, end: number): string {
    const n = end - start;
    if (n > CACHED_MAX) return decodeUtf8(b, start, end);
    const last = this.lastBytes;
    if (n === this.lastSubject.length) {
      let i = 0;
      while (i < n && last[i] === b[start + i]) i++;
      if (i === n) return this.lastSubject;
    }
    const s = this.cached(b, start, end);
    if (s.length === n) {
      // ASCII only, as in the cache: the string's length is its byte length.
      this.lastSubject = s;
      last.set(b.subarray(start, end));
    }
    return s;
  }

  private cached(b: Uint8Array, start: number, end: number): string {
    const n = end - start;
    let h = n;
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + b[i]) | 0;
    const slot = h & (CACHE_SLOTS - 1);
    const cached = this.cache[slot];
    if (cached !== undefined && cached.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (cached.charCodeAt(i) !== b[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    const s = decodeUtf8(b, start, end);
    // Only ASCII strings are cached: their char codes are their bytes, as the check above assumes.
    if (s.length === n) this.cache[slot] = s;
    return s;
  }
}

/**
 * `b[start, end)` as UTF-8, strictly. Short ASCII strings (topics, header names) are built
 * directly: TextDecoder's call costs more.
 *
 * @throws {@link RingbusError} `ERR_PROTOCOL` when the bytes are not valid UTF-8
 * @internal
 */
export function decodeUtf8(b: Uint8Array, start: number, end: number): string {
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
    throw new RingbusError(ErrorCode.PROTOCOL, 'a string is not valid UTF-8');
  }
}
