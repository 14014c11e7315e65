import { ErrorCode, RingbusError } from './errors.js';
import { MAX_SUBJECT_LENGTH, MAX_SUBJECT_TOKENS } from './limits.js';

/** Matches exactly one token in a pattern. */
export const SINGLE_WILDCARD = '*';
/** Matches one or more remaining tokens; only as the last token of a pattern. */
export const TAIL_WILDCARD = '>';

/**
 * Splits and validates a concrete subject (`game.physics.tick`).
 *
 * @returns the tokens
 * @throws {@link RingbusError} `ERR_INVALID_TOPIC` naming the offending token
 */
export function parseSubject(subject: unknown): string[] {
  return parse(subject, false);
}

/**
 * Splits and validates a subscription pattern: a subject whose tokens may also be `*` (exactly
 * one token) or, last only, `>` (one or more tokens).
 *
 * @throws {@link RingbusError} `ERR_INVALID_TOPIC`
 */
export function parsePattern(pattern: unknown): string[] {
  return parse(pattern, true);
}

/** True when `topic` belongs to the bus (`$dlq.…`, `$sys.…`, `$inbox.…`). */
export function isSystemSubject(tokens: readonly string[]): boolean {
  return tokens[0].charCodeAt(0) === 0x24; // '$'
}

/**
 * Reference matcher: does `pattern` match `subject`? O(tokens). The routing index
 * (subject-index.ts) gives the same answers without scanning every pattern.
 */
export function matches(
  patternTokens: readonly string[],
  subjectTokens: readonly string[]
): boolean {
  const first = patternTokens[0];
  if ((first === SINGLE_WILDCARD || first === TAIL_WILDCARD) && isSystemSubject(subjectTokens))
    return false;
  for (let i = 0; i < patternTokens.length; i++) {
    const p = patternTokens[i];
    if (p === TAIL_WILDCARD) return subjectTokens.length > i;
    if (i >= subjectTokens.length) return false;
    if (p !== SINGLE_WILDCARD && p !== subjectTokens[i]) return false;
  }
  return patternTokens.length === subjectTokens.length;
}

function parse(input: unknown, isPattern: boolean): string[] {
  const what = isPattern ? 'pattern' : 'topic';
  if (typeof input !== 'string') {
    throw new RingbusError(
      ErrorCode.INVALID_TOPIC,
      `${what} must be a string (got ${typeof input})`
    );
  }
  if (input.length === 0)
    throw new RingbusError(ErrorCode.INVALID_TOPIC, `${what} must not be empty`);
  if (input.length > MAX_SUBJECT_LENGTH) {
    throw new RingbusError(
      ErrorCode.INVALID_TOPIC,
      `${what} is ${input.length} characters long; the limit is ${MAX_SUBJECT_LENGTH}`
    );
  }
  const tokens = input.split('.');
  if (tokens.length > MAX_SUBJECT_TOKENS) {
    throw new RingbusError(
      ErrorCode.INVALID_TOPIC,
      `${what} '${input}' has ${tokens.length} tokens; the limit is ${MAX_SUBJECT_TOKENS}`
    );
  }
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.length === 0) {
      throw new RingbusError(
        ErrorCode.INVALID_TOPIC,
        `${what} '${input}' has an empty token at position ${i + 1}`
      );
    }
    if (isPattern && token === SINGLE_WILDCARD) continue;
    if (isPattern && token === TAIL_WILDCARD) {
      if (i === tokens.length - 1) continue;
      throw new RingbusError(
        ErrorCode.INVALID_TOPIC,
        `pattern '${input}': '>' is only allowed as the last token`
      );
    }
    if (/[\s*>]/u.test(token)) {
      throw new RingbusError(
        ErrorCode.INVALID_TOPIC,
        isPattern
          ? `pattern '${input}': token '${token}' mixes a wildcard with other characters or holds whitespace; wildcards are whole tokens`
          : `topic '${input}': token '${token}' holds whitespace or a wildcard; publish to concrete topics only`
      );
    }
  }
  return tokens;
}
