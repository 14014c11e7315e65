import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Subscription as NatsSub } from 'nats';
import { ImportSubscriptions } from '../../adapters/nats/import-subscriptions.js';
import type { Queue } from '../../src/queue.js';

/** Records which imports are subscribed in (fake) NATS. */
function rig(imports: string[]): { subs: ImportSubscriptions; live: Set<string>; made: string[] } {
  const live = new Set<string>();
  const made: string[] = [];
  const subs = new ImportSubscriptions(imports, (pattern) => {
    assert.ok(!live.has(pattern), `${pattern} subscribed twice`);
    live.add(pattern);
    made.push(pattern);
    return { unsubscribe: () => live.delete(pattern) } as unknown as NatsSub;
  });
  return { subs, live, made };
}

const queue = (): Queue => ({}) as Queue;

describe('ImportSubscriptions', () => {
  it('subscribes an import while some taker overlaps it, once however many do', () => {
    const { subs, live, made } = rig(['a.>', 'b.*', '$sys.x']);
    assert.equal(live.size, 0);
    const q1 = queue();
    const q2 = queue();
    subs.set(q1, 'a.b', true);
    subs.set(q2, '*.c', true); // overlaps a.> (a.c) and b.* (b.c)
    assert.deepEqual([...live].sort(), ['a.>', 'b.*']);
    subs.set(q1, 'a.b', true); // repeated: counted once
    subs.set(q2, '*.c', false);
    assert.deepEqual([...live], ['a.>']);
    subs.set(q1, 'a.b', false);
    subs.set(q1, 'a.b', false); // repeated: nothing to undo
    assert.equal(live.size, 0);
    subs.set(q1, '>', true); // a leading wildcard never takes $ subjects
    assert.deepEqual([...live].sort(), ['a.>', 'b.*']);
    subs.set(q2, 'c.d', true); // overlaps no import
    subs.close();
    assert.equal(live.size, 0);
    assert.deepEqual(made, ['a.>', 'b.*', 'a.>', 'b.*']);
  });

  it("takes NATS's view of an import's wildcards and the bus's of a subscriber's", () => {
    const { subs, live } = rig(['>', '$sys.x']);
    // NATS's '>' brings $ subjects (a linked bus's request replies); the bus's '>' takes none.
    subs.set(queue(), '$inbox.leaf.*', true);
    assert.deepEqual([...live], ['>']);
    subs.set(queue(), '*.x', true);
    assert.deepEqual([...live], ['>']);
  });

  it('keeps counting when NATS cannot subscribe now, and subscribes on the next first taker', () => {
    const made: string[] = [];
    let open = false;
    const subs = new ImportSubscriptions(['a.>'], (pattern) => {
      if (!open) return undefined;
      made.push(pattern);
      return { unsubscribe: () => undefined } as unknown as NatsSub;
    });
    const q = queue();
    subs.set(q, 'a.b', true);
    subs.set(q, 'a.b', false);
    open = true;
    subs.set(q, 'a.c', true);
    assert.deepEqual(made, ['a.>']);
  });

  it('counts one queue under several patterns separately', () => {
    const { subs, live } = rig(['x.>']);
    const q = queue();
    subs.set(q, 'x.1', true);
    subs.set(q, 'x.2', true);
    subs.set(q, 'x.1', false);
    assert.deepEqual([...live], ['x.>']);
    subs.set(q, 'x.2', false);
    assert.equal(live.size, 0);
  });
});
