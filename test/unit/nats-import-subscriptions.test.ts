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
