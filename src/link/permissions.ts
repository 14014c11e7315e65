import { ErrorCode, RingbusError } from '../errors.js';
import { matches, parsePattern } from '../subject.js';

/** What one token may do on a listener. Omitted lists allow everything. */
export interface TokenPermissions {
  /** Patterns the peer may publish on (remote publish and forwarded messages). */
  publish?: readonly string[];
  /** Patterns the peer may subscribe to; a subscription must lie within one of them. */
  subscribe?: readonly string[];
}

/** Most topics whose publish verdict a link remembers. */
const VERDICT_CACHE = 4096;

/** A token's permissions, compiled once per link. @internal */
export class Permissions {
  private readonly publish: string[][] | undefined;
  private readonly subscribe: string[][] | undefined;
  private readonly verdicts = new Map<string, boolean>();

  constructor(p: TokenPermissions | undefined) {
    this.publish = p?.publish?.map((x) => parsePattern(x));
    this.subscribe = p?.subscribe?.map((x) => parsePattern(x));
  }

  /** May the peer publish on `topic`? Cached per topic: this runs per inbound message. */
  mayPublish(topic: string): boolean {
    const allowed = this.publish;
    if (allowed === undefined) return true;
    let verdict = this.verdicts.get(topic);
    if (verdict === undefined) {
      const tokens = topic.split('.');
      verdict = allowed.some((p) => matches(p, tokens));
      if (this.verdicts.size >= VERDICT_CACHE) this.verdicts.clear();
      this.verdicts.set(topic, verdict);
    }
    return verdict;
  }

  /** May the peer publish on some topic `pattern` matches? */
  mayPublishAny(pattern: string): boolean {
    const allowed = this.publish;
    if (allowed === undefined) return true;
    const tokens = parsePattern(pattern);
    return allowed.some((p) => overlaps(p, tokens));
  }

  /**
   * May the peer subscribe to `pattern`: does every topic it matches lie within an allowed one?
   * The reply inbox of the peer's own bus (`$inbox.<peer id>.*`) is always allowed, so requests
   * work under any token.
   */
  maySubscribe(pattern: string, peerBus: string): boolean {
    const allowed = this.subscribe;
    if (allowed === undefined) return true;
    const tokens = parsePattern(pattern);
    if (tokens[0] === '$inbox' && tokens[1] === peerBus && tokens.length === 3 && tokens[2] === '*')
      return true;
    return allowed.some((p) => covers(p, tokens));
  }
}

/** True when every subject matching `inner` also matches `outer`. */
export function covers(outer: readonly string[], inner: readonly string[]): boolean {
  // A leading wildcard never matches the bus's own `$` subjects (docs/semantics.md).
  if (skipsDollar(outer, inner)) return false;
  for (let i = 0; i < outer.length; i++) {
    const o = outer[i];
    if (o === '>') return i < inner.length; // '>' needs at least one token
    if (i >= inner.length) return false;
    const t = inner[i];
    if (t === '>') return false;
    if (o !== '*' && o !== t) return false;
    if (o !== '*' && t === '*') return false;
  }
  return outer.length === inner.length;
}

/** True when some subject matches both patterns. */
export function overlaps(a: readonly string[], b: readonly string[]): boolean {
  // A leading wildcard never matches the bus's own `$` subjects.
  if (skipsDollar(a, b) || skipsDollar(b, a)) return false;
  return tokensOverlap(a, b);
}

/** True when `pattern` starts with a wildcard, which on the bus never matches `other`'s `$` subjects. */
export function skipsDollar(pattern: readonly string[], other: readonly string[]): boolean {
  return (pattern[0] === '*' || pattern[0] === '>') && other[0].startsWith('$');
}

/** True when some subject matches both patterns token by token (NATS's rule: no `$` exception). */
export function tokensOverlap(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    if (i === a.length || i === b.length) return a.length === b.length;
    const x = a[i];
    const y = b[i];
    if (x === '>' || y === '>') return true; // both still have at least one token here
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
}

/**
 * Compares two strings in time that depends only on their lengths, so a wrong token reveals
 * nothing about the right one through timing.
 */
export function sameToken(a: string, b: string): boolean {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i % (x.length || 1)] ?? 0) ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}

const utf8 = new TextEncoder();

/** The error of a refused publish or subscription. */
export function forbidden(what: string): RingbusError {
  return new RingbusError(ErrorCode.FORBIDDEN, `${what} is not allowed for this link's token`);
}
