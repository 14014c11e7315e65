import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Ring } from '../../src/ring.js';

/**
 * Model-based test of Ring<T> against a plain array. The model is independent of the
 * implementation: capacity is "the smallest power of two >= requested (and >= 1)", push fails
 * exactly when the model holds `capacity` elements, grow doubles the capacity, and everything
 * else is array semantics.
 */

type Value = { readonly canary: number } | number | string | boolean | null;

/** Falsy and odd values that must be stored like any other (only `undefined` is "empty"). */
const CANARIES: readonly Value[] = [0, -0, '', false, null, Number.NaN];

type Command =
  | { readonly op: 'push'; readonly value: Value }
  | { readonly op: 'shift' }
  | { readonly op: 'peek' }
  | { readonly op: 'at'; readonly offset: number }
  | { readonly op: 'set'; readonly offset: number; readonly value: Value }
  | { readonly op: 'grow' }
  | { readonly op: 'clear' };

/** Capacities that hit the edges: 1, powers of two, and powers of two ± 1. */
const interestingCapacity = fc.oneof(
  fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65),
  fc.integer({ min: 1, max: 200 })
);

let canarySeq = 0;
const valueArb: fc.Arbitrary<Value> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.integer({ min: 0, max: 1 << 20 }).map((n) => ({ canary: n + canarySeq++ }))
  },
  { weight: 1, arbitrary: fc.constantFrom(...CANARIES) },
  { weight: 1, arbitrary: fc.integer() }
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 10, arbitrary: valueArb.map((value) => ({ op: 'push', value }) as const) },
  { weight: 7, arbitrary: fc.constant({ op: 'shift' } as const) },
  { weight: 2, arbitrary: fc.constant({ op: 'peek' } as const) },
  {
    weight: 3,
    arbitrary: fc.integer({ min: -2, max: 70 }).map((offset) => ({ op: 'at', offset }) as const)
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: -2, max: 70 }), valueArb)
      .map(([offset, value]) => ({ op: 'set', offset, value }) as const)
  },
  { weight: 1, arbitrary: fc.constant({ op: 'grow' } as const) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' } as const) }
);

function expectedCapacity(requested: number): number {
  let cap = 1;
  while (cap < requested) cap <<= 1;
  return cap;
}

/** White-box view used only to check that consumed slots are cleared (no leaked references). */
interface RingInternals {
  slots: unknown[];
  head: number;
  mask: number;
}

function assertSameValue(actual: unknown, expected: unknown, context: string): void {
  // Object.is distinguishes -0 and handles NaN; identity for canary objects.
  assert.ok(
    Object.is(actual, expected),
    `${context}: expected ${String(expected)}, got ${String(actual)}`
  );
}

function assertMatchesModel(
  ring: Ring<Value>,
  model: Value[],
  capacity: number,
  context: string
): void {
  assert.equal(ring.size, model.length, `${context}: size`);
  assert.equal(ring.capacity, capacity, `${context}: capacity`);
  assert.equal(ring.isFull, model.length === capacity, `${context}: isFull`);
  for (let i = 0; i < model.length; i++)
    assertSameValue(ring.at(i), model[i], `${context}: at(${i})`);
  assert.equal(ring.at(model.length), undefined, `${context}: at(size) is past the end`);
  assert.equal(ring.at(-1), undefined, `${context}: at(-1)`);
  assertSameValue(ring.peek(), model.length === 0 ? undefined : model[0], `${context}: peek`);
  // Every slot outside the live window must be empty: consumed payloads must not stay reachable.
  const internals = ring as unknown as RingInternals;
  assert.equal(internals.slots.length, capacity, `${context}: slot array length`);
  for (let k = model.length; k < capacity; k++) {
    const slot = (internals.head + k) & internals.mask;
    assert.equal(
      internals.slots[slot],
      undefined,
      `${context}: free slot ${slot} still holds a value`
    );
  }
}

function run(requested: number, commands: readonly Command[]): void {
  const ring = new Ring<Value>(requested);
  const model: Value[] = [];
  let capacity = expectedCapacity(requested);
  assertMatchesModel(ring, model, capacity, 'fresh ring');
  commands.forEach((cmd, step) => {
    const ctx = `step ${step} ${cmd.op}`;
    switch (cmd.op) {
      case 'push': {
        const accepted = model.length < capacity;
        assert.equal(ring.push(cmd.value), accepted, `${ctx}: push result`);
        if (accepted) model.push(cmd.value);
        break;
      }
      case 'shift':
        assertSameValue(ring.shift(), model.shift(), ctx);
        break;
      case 'peek':
        assertSameValue(ring.peek(), model[0], ctx);
        break;
      case 'at':
        assertSameValue(
          ring.at(cmd.offset),
          cmd.offset >= 0 && cmd.offset < model.length ? model[cmd.offset] : undefined,
          ctx
        );
        break;
      case 'set':
        if (cmd.offset >= 0 && cmd.offset < model.length) {
          ring.set(cmd.offset, cmd.value);
          model[cmd.offset] = cmd.value;
        } else {
          assert.throws(() => ring.set(cmd.offset, cmd.value), RangeError, ctx);
        }
        break;
      case 'grow':
        ring.grow();
        capacity *= 2;
        break;
      case 'clear':
        ring.clear();
        model.length = 0;
        break;
    }
    assertMatchesModel(ring, model, capacity, ctx);
  });
}

describe('Ring (model-based)', () => {
  it('behaves like a bounded array under random push/shift/peek/at/set/grow/clear sequences', () => {
    fc.assert(
      fc.property(
        interestingCapacity,
        fc.array(commandArb, { maxLength: 300 }),
        (requested, commands) => {
          run(requested, commands);
        }
      ),
      { seed: 42, numRuns: 400 }
    );
  });

  it('keeps FIFO order while the head wraps around the slot array many times', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 16, 17),
        fc.array(fc.boolean(), { minLength: 500, maxLength: 2000 }),
        (requested, pushes) => {
          const ring = new Ring<{ canary: number }>(requested);
          const model: { canary: number }[] = [];
          const capacity = expectedCapacity(requested);
          let next = 0;
          let shifted = 0;
          for (const isPush of pushes) {
            // Bias towards keeping the ring near full so every push/shift crosses the mask.
            if (isPush || model.length === 0) {
              const value = { canary: next++ };
              const ok = ring.push(value);
              assert.equal(ok, model.length < capacity);
              if (ok) model.push(value);
            } else {
              assert.equal(ring.shift(), model.shift());
              shifted++;
            }
            assert.equal(ring.size, model.length);
          }
          while (model.length > 0) {
            assert.equal(ring.shift(), model.shift());
            shifted++;
          }
          assert.equal(ring.shift(), undefined);
          assert.equal(ring.size, 0);
          // Sanity: the run did wrap (more shifts than slots) whenever it pushed enough.
          if (next > capacity * 3) assert.ok(shifted > capacity * 2, 'the test wrapped the head');
        }
      ),
      { seed: 42, numRuns: 150 }
    );
  });

  it('accepts exactly capacity elements and refuses the capacity+1st without changing the contents', () => {
    for (const requested of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1023, 1024, 1025]) {
      const capacity = expectedCapacity(requested);
      const ring = new Ring<number>(requested);
      assert.equal(ring.capacity, capacity, `capacity of Ring(${requested})`);
      // Offset the head so the full ring straddles the end of the slot array.
      const offset = Math.floor(capacity / 2) + 1;
      for (let i = 0; i < offset; i++) ring.push(-1);
      for (let i = 0; i < offset; i++) ring.shift();
      for (let i = 0; i < capacity; i++) {
        assert.equal(ring.isFull, false);
        assert.equal(ring.push(i), true, `push ${i} of ${capacity}`);
      }
      assert.equal(ring.isFull, true);
      assert.equal(ring.push(capacity), false, 'the capacity+1st push is refused');
      assert.equal(ring.size, capacity);
      assert.equal(ring.at(capacity - 1), capacity - 1);
      assert.equal(ring.at(capacity), undefined);
      for (let i = 0; i < capacity; i++) assert.equal(ring.shift(), i);
      assert.equal(ring.shift(), undefined);
    }
  });

  it('stores falsy canary values (0, -0, "", false, null, NaN) and returns them unchanged', () => {
    const ring = new Ring<Value>(CANARIES.length);
    for (const v of CANARIES) assert.equal(ring.push(v), true);
    assert.equal(ring.size, CANARIES.length);
    for (const v of CANARIES) assertSameValue(ring.shift(), v, `canary #${CANARIES.indexOf(v)}`);
    assert.equal(ring.size, 0);
  });

  it('grows a full, wrapped ring to twice the capacity keeping order and accepts new pushes', () => {
    const ring = new Ring<number>(4);
    for (const v of [0, 1, 2]) ring.push(v);
    ring.shift();
    ring.shift(); // head is now at slot 2
    for (const v of [3, 4, 5]) assert.equal(ring.push(v), true); // wraps: slots 2,3,0,1
    assert.equal(ring.isFull, true);
    ring.grow();
    assert.equal(ring.capacity, 8);
    assert.equal(ring.isFull, false);
    for (const v of [6, 7, 8, 9]) assert.equal(ring.push(v), true);
    assert.equal(ring.push(10), false);
    assert.deepEqual(
      Array.from({ length: ring.size }, (_, i) => ring.at(i)),
      [2, 3, 4, 5, 6, 7, 8, 9]
    );
  });
});
