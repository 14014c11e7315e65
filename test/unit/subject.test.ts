import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bus } from '../../src/bus.js';
import { RingbusError } from '../../src/errors.js';
import { MAX_SUBJECT_LENGTH, MAX_SUBJECT_TOKENS } from '../../src/limits.js';
import { parsePattern, parseSubject } from '../../src/subject.js';

/** Asserts ERR_INVALID_TOPIC with a message matching every fragment. */
function assertInvalidTopic(err: unknown, fragments: readonly RegExp[]): true {
  assert.ok(err instanceof RingbusError, `expected a RingbusError, got ${String(err)}`);
  assert.equal(err.code, 'ERR_INVALID_TOPIC');
  for (const f of fragments) assert.match(err.message, f, `helpful message: ${err.message}`);
  return true;
}

const tooLong = 'a'.repeat(MAX_SUBJECT_LENGTH + 1);
const longest = `${'a'.repeat(MAX_SUBJECT_LENGTH - 2)}.b`;
const tooManyTokens = Array.from({ length: MAX_SUBJECT_TOKENS + 1 }, (_, i) => `t${i}`).join('.');
const mostTokens = Array.from({ length: MAX_SUBJECT_TOKENS }, (_, i) => `t${i}`).join('.');

/** [label, input, fragments the message must contain] — invalid both as topic and as pattern. */
const INVALID_BOTH: [string, unknown, RegExp[]][] = [
  ['empty', '', [/must not be empty/u]],
  ["an empty token 'a..b'", 'a..b', [/'a\.\.b'/u, /empty token at position 2/u]],
  ["a leading dot '.a'", '.a', [/empty token at position 1/u]],
  ["a trailing dot 'a.'", 'a.', [/empty token at position 2/u]],
  ["a lone dot '.'", '.', [/empty token/u]],
  ["a space 'a b'", 'a b', [/'a b'/u, /whitespace/u]],
  ["a tab 'a.\\tb'", 'a.\tb', [/whitespace/u]],
  ["a newline 'a.b\\n'", 'a.b\n', [/whitespace/u]],
  ["a no-break space 'a\\u00a0b'", 'a\u00a0b', [/whitespace/u]],
  ["'*' inside a token 'a.b*'", 'a.b*', [/'b\*'/u, /wildcard/u]],
  ["'>' inside a token 'a>b'", 'a>b', [/'a>b'/u, /wildcard/u]],
  ["'**' as a token", 'a.**', [/'\*\*'/u, /wildcard/u]],
  [
    `${MAX_SUBJECT_LENGTH + 1} characters`,
    tooLong,
    [
      new RegExp(`${MAX_SUBJECT_LENGTH + 1} characters`, 'u'),
      new RegExp(`limit is ${MAX_SUBJECT_LENGTH}`, 'u')
    ]
  ],
  [
    `${MAX_SUBJECT_TOKENS + 1} tokens`,
    tooManyTokens,
    [
      new RegExp(`${MAX_SUBJECT_TOKENS + 1} tokens`, 'u'),
      new RegExp(`limit is ${MAX_SUBJECT_TOKENS}`, 'u')
    ]
  ],
  ['a number', 42, [/must be a string/u, /number/u]],
  ['undefined', undefined, [/must be a string/u, /undefined/u]],
  ['null', null, [/must be a string/u]],
  ['an array', ['a', 'b'], [/must be a string/u]]
];

/** Valid as patterns, invalid as topics: wildcards. */
const PATTERNS_ONLY = ['*', '>', 'a.*', 'a.>', '*.b', '*.>', 'a.*.c', '$sys.>', '$dlq.*.x'];

/** Invalid as patterns (and as topics). */
const INVALID_PATTERNS: [string, string, RegExp[]][] = [
  ["'>' not last 'a.>.b'", 'a.>.b', [/'>' is only allowed as the last token/u]],
  ["'>' first '>.a'", '>.a', [/'>' is only allowed as the last token/u]],
  ["'>>' as a token", 'a.>>', [/'>>'/u, /wildcards are whole tokens/u]],
  ["'*' glued to text 'a*'", 'a*', [/'a\*'/u, /wildcards are whole tokens/u]],
  ["'*>'", 'a.*>', [/wildcards are whole tokens/u]]
];

const VALID_BOTH = [
  'a',
  'game.physics.tick',
  '$sys.stats',
  '$',
  'a-b_c:d/e',
  'ü.日本.🙂',
  '"quoted".back\\slash',
  'A.b.C',
  longest,
  mostTokens
];

describe('topic validation', () => {
  const bus = new Bus({ dispatch: 'manual' });

  for (const [label, input, fragments] of INVALID_BOTH) {
    it(`rejects a topic with ${label} on publish, topic() and parseSubject`, () => {
      assert.throws(
        () => bus.publish(input as string, 1),
        (err: unknown) => assertInvalidTopic(err, [/topic/u, ...fragments])
      );
      assert.throws(
        () => bus.topic(input as string),
        (err: unknown) => assertInvalidTopic(err, fragments)
      );
      assert.throws(
        () => parseSubject(input),
        (err: unknown) => assertInvalidTopic(err, fragments)
      );
    });
  }

  for (const pattern of PATTERNS_ONLY) {
    it(`rejects publishing to the pattern '${pattern}', saying topics must be concrete`, () => {
      assert.throws(
        () => bus.publish(pattern, 1),
        (err: unknown) => assertInvalidTopic(err, [/concrete topics only/u])
      );
    });
  }

  it('rejects a request to a pattern with a rejected promise', async () => {
    await assert.rejects(bus.request('a.*', 1, { timeoutMs: 50 }), (err: unknown) =>
      assertInvalidTopic(err, [/concrete/u])
    );
  });

  it('accepts valid topics, including the longest and the one with the most tokens', () => {
    const got: string[] = [];
    bus.subscribe('>', (m) => void got.push(m.topic));
    bus.subscribe('$sys.>', (m) => void got.push(m.topic));
    bus.subscribe('$', (m) => void got.push(m.topic));
    for (const topic of VALID_BOTH) {
      assert.deepEqual(parseSubject(topic), topic.split('.'));
      assert.doesNotThrow(() => bus.publish(topic, 1), topic);
    }
    bus.flush();
    assert.deepEqual(
      got.sort(),
      [...VALID_BOTH].sort(),
      'every valid topic was routed and delivered'
    );
  });
});

describe('pattern validation', () => {
  const bus = new Bus({ dispatch: 'manual' });

  for (const [label, input, fragments] of [...INVALID_BOTH, ...INVALID_PATTERNS]) {
    it(`rejects a pattern with ${label} on subscribe, channel() and parsePattern`, () => {
      assert.throws(
        () => bus.subscribe(input as string, () => {}),
        (err: unknown) => assertInvalidTopic(err, fragments)
      );
      assert.throws(
        () => bus.subscribe(input as string),
        (err: unknown) => assertInvalidTopic(err, fragments)
      );
      assert.throws(
        () => bus.channel(input as string, 'c'),
        (err: unknown) => assertInvalidTopic(err, fragments)
      );
      assert.throws(
        () => parsePattern(input),
        (err: unknown) => assertInvalidTopic(err, [/pattern/u, ...fragments])
      );
    });
  }

  it('leaves no subscription behind when the pattern is rejected', () => {
    const fresh = new Bus({ dispatch: 'manual' });
    assert.throws(() => fresh.subscribe('a.>.b', () => {}));
    assert.equal(fresh.stats().subscriptions.length, 0);
  });

  it('accepts valid patterns: concrete subjects and whole-token wildcards', () => {
    for (const pattern of [...VALID_BOTH, ...PATTERNS_ONLY]) {
      assert.deepEqual(parsePattern(pattern), pattern.split('.'));
      const sub = bus.subscribe(pattern, () => {});
      assert.equal(sub.pattern, pattern);
      sub.unsubscribe();
    }
  });
});
