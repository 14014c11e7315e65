import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TagTable } from '../../src/link/tag-table.js';

/**
 * The table of a link's unacked deliveries (src/link/tag-table.ts) against a Map: tags handed out
 * in sequence from anywhere up to 2^53, settled in any order, some held across many later tags
 * (growth, then stragglers), the rest dropped by predicate or cleared. Fixed seed.
 */
const SEED = 41;

interface Entry {
  readonly n: number;
}

type Op =
  | { kind: 'deliver'; count: number }
  | { kind: 'settle'; pick: number }
  | { kind: 'settle-unknown'; ahead: number }
  | { kind: 'forget'; mod: number }
  | { kind: 'clear' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('deliver'), count: fc.integer({ min: 1, max: 600 }) })
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('settle'), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('settle-unknown'),
      ahead: fc.integer({ min: 0, max: 70_000 })
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('forget'), mod: fc.integer({ min: 2, max: 5 }) })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear') }) }
);

const firstTag = fc.constantFrom(1, 2 ** 31 - 300, 2 ** 32 - 300, 2 ** 53 - 2_000_000);

void describe('TagTable', () => {
  void it('holds, returns and drops exactly what a Map does', () => {
    fc.assert(
      fc.property(firstTag, fc.array(op, { maxLength: 60 }), (start, ops) => {
        const table = new TagTable<Entry>();
        const model = new Map<number, Entry>();
        let next = start;
        for (const o of ops) {
          switch (o.kind) {
            case 'deliver':
              for (let i = 0; i < o.count; i++) {
                const entry = { n: next };
                table.set(next, entry);
                model.set(next, entry);
                next++;
              }
              break;
            case 'settle': {
              if (model.size === 0) break;
              // Mostly the oldest (acks come in order), sometimes any.
              const tags = [...model.keys()];
              const tag = o.pick % 3 === 0 ? tags[o.pick % tags.length] : tags[0];
              assert.equal(table.take(tag), model.get(tag));
              model.delete(tag);
              break;
            }
            case 'settle-unknown': {
              const tag = next + o.ahead; // never handed out yet
              assert.equal(table.take(tag), undefined);
              break;
            }
            case 'forget': {
              const drop = (e: Entry): boolean => e.n % o.mod === 0;
              table.deleteWhere(drop);
              for (const [tag, e] of model) if (drop(e)) model.delete(tag);
              break;
            }
            case 'clear':
              table.clear();
              model.clear();
              break;
          }
          assert.equal(table.size, model.size);
        }
        for (const [tag, e] of model) assert.equal(table.take(tag), e);
        assert.equal(table.size, 0);
      }),
      { seed: SEED, numRuns: 300 }
    );
  });

  void it('keeps an entry held across more tags than the table grows to (a straggler)', () => {
    const table = new TagTable<Entry>();
    const held = { n: 1 };
    table.set(1, held);
    // Settled one by one as they come: the table never needs to grow for them, and each later
    // slot of tag 1 (every 256, then every larger size) moves it aside at most once.
    for (let tag = 2; tag < 300_000; tag++) {
      table.set(tag, { n: tag });
      assert.equal(table.take(tag)?.n, tag);
    }
    assert.equal(table.size, 1);
    assert.equal(table.take(1), held);
    assert.equal(table.take(1), undefined);
    assert.equal(table.size, 0);
  });

  void it('grows while entries far apart are all held', () => {
    const table = new TagTable<Entry>();
    const tags = [5, 5 + 256, 5 + 512, 5 + 4096, 5 + 65_536, 5 + 70_000];
    for (const tag of tags) table.set(tag, { n: tag });
    assert.equal(table.size, tags.length);
    for (const tag of tags) assert.equal(table.take(tag)?.n, tag);
    assert.equal(table.size, 0);
  });
});
