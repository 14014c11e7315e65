import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bus } from '../../src/bus.js';
import { matches, parsePattern, parseSubject } from '../../src/subject.js';
import { SubjectIndex } from '../../src/subject-index.js';
import type { Topic } from '../../src/topic.js';

/**
 * The routing trie and the reference matcher against an independent naive implementation of
 * the DESIGN rules:
 *  - `*` matches exactly one token;
 *  - `>` (last token only) matches one or more remaining tokens;
 *  - a pattern whose first token is a wildcard does not match a subject whose first token
 *    starts with `$`.
 * The naive matcher compiles the pattern to a regular expression, so it shares no code or
 * structure with the token walk in src/.
 */
function naiveMatches(pattern: string, subject: string): boolean {
  const tokens = pattern.split('.');
  if ((tokens[0] === '*' || tokens[0] === '>') && subject.startsWith('$')) return false;
  const escape = (t: string): string => t.replace(/[\\^$.|?*+()[\]{}]/gu, '\\$&');
  const body = tokens
    .map((t, i) => {
      if (t === '*') return '[^.]+';
      if (t === '>' && i === tokens.length - 1) return '[^.]+(?:\\.[^.]+)*';
      return escape(t);
    })
    .join('\\.');
  return new RegExp(`^${body}$`, 'u').test(subject);
}

const SUBJECT_TOKENS = ['a', 'b', 'c', '$x', '$'] as const;
const PATTERN_TOKENS = ['a', 'b', '$x', '$', '*', '*'] as const;

const subjectArb = fc
  .array(fc.constantFrom(...SUBJECT_TOKENS), { minLength: 1, maxLength: 4 })
  .map((ts) => ts.join('.'));

const patternArb = fc
  .tuple(fc.array(fc.constantFrom(...PATTERN_TOKENS), { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([ts, tail]) => ts.length > 0 || tail)
  .map(([ts, tail]) => (tail ? [...ts, '>'] : ts).join('.'));

describe('subject matching (property)', () => {
  it('agrees with the naive regex matcher on random patterns and subjects', () => {
    fc.assert(
      fc.property(patternArb, subjectArb, (pattern, subject) => {
        assert.equal(
          matches(parsePattern(pattern), parseSubject(subject)),
          naiveMatches(pattern, subject),
          `${pattern} ~ ${subject}`
        );
      }),
      { seed: 42, numRuns: 5000 }
    );
  });

  it('naive reference sanity: the DESIGN examples hold', () => {
    // Guards the reference itself, so a wrong reference cannot make the properties vacuous.
    assert.equal(naiveMatches('a.>', 'a.b'), true);
    assert.equal(naiveMatches('a.>', 'a.b.c'), true);
    assert.equal(naiveMatches('a.>', 'a'), false);
    assert.equal(naiveMatches('a.*', 'a.b'), true);
    assert.equal(naiveMatches('a.*', 'a.b.c'), false);
    assert.equal(naiveMatches('*.b', '$x.b'), false);
    assert.equal(naiveMatches('>', '$x'), false);
    assert.equal(naiveMatches('$x.>', '$x.b'), true);
    assert.equal(naiveMatches('$x.*', '$x.$'), true);
    assert.equal(
      naiveMatches('a.*', 'a.$'),
      true,
      'only the first token of the subject is special'
    );
  });

  type IndexOp =
    | { readonly kind: 'add'; readonly pattern: string }
    | { readonly kind: 'remove'; readonly pick: number; readonly wrongPattern: string | undefined }
    | { readonly kind: 'removeMissing'; readonly pattern: string }
    | { readonly kind: 'match'; readonly subject: string };

  const indexOpArb: fc.Arbitrary<IndexOp> = fc.oneof(
    { weight: 4, arbitrary: patternArb.map((pattern) => ({ kind: 'add', pattern }) as const) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.nat(), fc.option(patternArb, { nil: undefined, freq: 5 }))
        .map(([pick, wrongPattern]) => ({ kind: 'remove', pick, wrongPattern }) as const)
    },
    {
      weight: 1,
      arbitrary: patternArb.map((pattern) => ({ kind: 'removeMissing', pattern }) as const)
    },
    { weight: 5, arbitrary: subjectArb.map((subject) => ({ kind: 'match', subject }) as const) }
  );

  it('SubjectIndex returns exactly the entries whose patterns match, under random add/remove', () => {
    fc.assert(
      fc.property(
        fc.array(indexOpArb, { maxLength: 120 }),
        fc.array(subjectArb, { minLength: 10, maxLength: 10 }),
        (ops, probes) => {
          const index = new SubjectIndex<number>();
          let live: { pattern: string; id: number }[] = [];
          let nextId = 0;
          const check = (subject: string): void => {
            const got = index.match(parseSubject(subject), []).sort((x, y) => x - y);
            const byRef = live
              .filter((e) => matches(parsePattern(e.pattern), parseSubject(subject)))
              .map((e) => e.id);
            const byNaive = live.filter((e) => naiveMatches(e.pattern, subject)).map((e) => e.id);
            assert.deepEqual(
              got,
              byRef,
              `index vs matches() for '${subject}' with ${JSON.stringify(live)}`
            );
            assert.deepEqual(
              got,
              byNaive,
              `index vs naive for '${subject}' with ${JSON.stringify(live)}`
            );
          };
          for (const op of ops) {
            switch (op.kind) {
              case 'add': {
                const id = nextId++;
                index.add(parsePattern(op.pattern), id);
                live.push({ pattern: op.pattern, id });
                break;
              }
              case 'remove': {
                if (live.length === 0) break;
                const entry = live[op.pick % live.length];
                if (op.wrongPattern !== undefined && op.wrongPattern !== entry.pattern) {
                  assert.equal(
                    index.remove(parsePattern(op.wrongPattern), entry.id),
                    false,
                    'removing under another pattern fails'
                  );
                }
                assert.equal(index.remove(parsePattern(entry.pattern), entry.id), true);
                assert.equal(
                  index.remove(parsePattern(entry.pattern), entry.id),
                  false,
                  'a second remove fails'
                );
                live = live.filter((e) => e !== entry);
                break;
              }
              case 'removeMissing':
                assert.equal(index.remove(parsePattern(op.pattern), -1), false);
                break;
              case 'match':
                check(op.subject);
                break;
            }
            assert.equal(index.size, live.length, 'size');
          }
          for (const subject of probes) check(subject);
          // Removing everything leaves an index that matches nothing.
          for (const e of live) assert.equal(index.remove(parsePattern(e.pattern), e.id), true);
          live = [];
          assert.equal(index.size, 0);
          for (const subject of probes) check(subject);
        }
      ),
      { seed: 42, numRuns: 300 }
    );
  });

  it('SubjectIndex keeps lists returned by match() stable while entries are added and removed (copy-on-write)', () => {
    const index = new SubjectIndex<string>();
    index.add(parsePattern('a.*'), 'x');
    index.add(parsePattern('a.>'), 'y');
    const before = index.match(parseSubject('a.b'), []);
    index.add(parsePattern('a.*'), 'z');
    index.remove(parsePattern('a.>'), 'y');
    assert.deepEqual(before.sort(), ['x', 'y']);
    assert.deepEqual(index.match(parseSubject('a.b'), []).sort(), ['x', 'z']);
  });
});

describe('routing through the Bus (property, manual dispatch)', () => {
  const SUBJECTS = ['a', 'a.b', 'a.b.c', 'b.a', '$x.a', '$x.a.b', '$', 'c.$'] as const;

  type BusOp =
    | { readonly kind: 'subscribe'; readonly pattern: string }
    | { readonly kind: 'unsubscribe'; readonly pick: number }
    | { readonly kind: 'publish'; readonly subject: number; readonly viaHandle: boolean }
    | { readonly kind: 'flush' };

  const busOpArb: fc.Arbitrary<BusOp> = fc.oneof(
    {
      weight: 2,
      arbitrary: patternArb.map((pattern) => ({ kind: 'subscribe', pattern }) as const)
    },
    { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'unsubscribe', pick }) as const) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: SUBJECTS.length - 1 }), fc.boolean())
        .map(([subject, viaHandle]) => ({ kind: 'publish', subject, viaHandle }) as const)
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'flush' } as const) }
  );

  it('delivers each publish to exactly the live subscriptions whose patterns match (route cache invalidation)', () => {
    fc.assert(
      fc.property(fc.array(busOpArb, { maxLength: 80 }), (ops) => {
        const bus = new Bus({ dispatch: 'manual' });
        // Every topic is routed (and its route cached) before any subscription exists.
        const handles = new Map<string, Topic<unknown>>();
        for (const s of SUBJECTS) {
          handles.set(s, bus.topic(s));
          assert.equal(bus.publish(s, -1), 0, `nothing subscribes to '${s}' yet`);
        }
        interface Live {
          readonly pattern: string;
          readonly got: string[];
          readonly expected: string[];
          queued: string[];
          readonly unsubscribe: () => void;
          live: boolean;
        }
        const subs: Live[] = [];
        let seq = 0;
        const flushModel = (): void => {
          for (const s of subs) {
            if (s.live) s.expected.push(...s.queued);
            s.queued = [];
          }
        };
        for (const op of ops) {
          switch (op.kind) {
            case 'subscribe': {
              const got: string[] = [];
              const sub = bus.subscribe(
                op.pattern,
                (m) => void got.push(`${m.topic}#${String(m.payload)}`)
              );
              subs.push({
                pattern: op.pattern,
                got,
                expected: [],
                queued: [],
                unsubscribe: () => sub.unsubscribe(),
                live: true
              });
              break;
            }
            case 'unsubscribe': {
              const live = subs.filter((s) => s.live);
              if (live.length === 0) break;
              const s = live[op.pick % live.length];
              s.unsubscribe();
              s.live = false;
              s.queued = []; // a private queue goes away with its subscriber
              break;
            }
            case 'publish': {
              const subject = SUBJECTS[op.subject];
              const tag = `${subject}#${seq++}`;
              const payload = seq - 1;
              const targets = subs.filter((s) => s.live && naiveMatches(s.pattern, subject));
              for (const s of targets) s.queued.push(tag);
              const entered = op.viaHandle
                ? handles.get(subject)!.publish(payload)
                : bus.publish(subject, payload);
              assert.equal(
                entered,
                targets.length,
                `publish '${subject}' entered ${targets.length} queues`
              );
              break;
            }
            case 'flush':
              bus.flush();
              flushModel();
              break;
          }
        }
        bus.flush();
        flushModel();
        for (const s of subs) assert.deepEqual(s.got, s.expected, `deliveries of '${s.pattern}'`);
      }),
      { seed: 42, numRuns: 300 }
    );
  });
});
