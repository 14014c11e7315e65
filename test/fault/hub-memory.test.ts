import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Bus } from '../../adapters/node.js';
import { waitFor } from '../helpers/wait.js';

/**
 * What a hub keeps of a fan-out once it is sent. The links of one bus share the frames of their
 * interest deliveries (encoded once, written by every link), remembered with their messages while
 * two or more links could reuse them: when the hub is down to one link, they must not stay.
 */

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** True once `ref`'s target is collected; a WeakRef keeps it until the current job ends. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    gc();
    await turn();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

describe('a hub fanning out to linked buses', () => {
  it('lets a sent message go once only one link is left', async (t) => {
    const hub = new Bus({ id: 'hub-memory' });
    const leaves = [new Bus({ id: 'leaf-1' }), new Bus({ id: 'leaf-2' })];
    t.after(async () => {
      await Promise.all(leaves.map((b) => b.close()));
      await hub.close();
    });
    const listener = await hub.listen('tcp://127.0.0.1:0');
    const links = [];
    for (const leaf of leaves) {
      leaf.subscribe('fan', () => undefined);
      links.push(await leaf.connect(listener.url, { reconnect: false }));
    }
    let payload: Uint8Array | undefined = new Uint8Array(256 * 1024);
    const ref = new WeakRef(payload);
    hub.publish('fan', payload);
    payload = undefined;
    await Promise.all(listener.links.map((l) => l.flush()));
    await links[1].close();
    await waitFor(() => listener.links.length === 1, 3000, 'the hub lets leaf-2 go');
    await listener.links[0].flush();
    assert.equal(await collected(ref), true, 'the message and its payload were let go');
  });
});
