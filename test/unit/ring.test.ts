import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ring, nextPowerOfTwo } from '../../src/ring.js';

describe('Ring', () => {
  it('rounds the capacity up to a power of two', () => {
    assert.equal(new Ring(1000).capacity, 1024);
    assert.equal(new Ring(1).capacity, 1);
    assert.equal(nextPowerOfTwo(1025), 2048);
  });

  it('keeps FIFO order across wrap-around and refuses a push when full', () => {
    const ring = new Ring<number>(4);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 4; i++) assert.equal(ring.push(round * 4 + i), true);
      assert.equal(ring.push(-1), false);
      assert.equal(ring.isFull, true);
      for (let i = 0; i < 4; i++) assert.equal(ring.shift(), round * 4 + i);
      assert.equal(ring.shift(), undefined);
    }
  });

  it('grow() doubles the capacity and keeps order', () => {
    const ring = new Ring<number>(2);
    ring.push(1);
    ring.shift();
    ring.push(2);
    ring.push(3);
    ring.grow();
    assert.equal(ring.capacity, 4);
    ring.push(4);
    assert.deepEqual([ring.shift(), ring.shift(), ring.shift()], [2, 3, 4]);
  });
});
