import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, type Message, RingbusError } from '../../src/index.js';
import { makeBus, manualBus } from '../helpers/bus.js';
import { waitFor, within } from '../helpers/wait.js';

const isCode = (code: string) => (err: unknown) => err instanceof RingbusError && err.code === code;

describe('Bus.request / Message.respond', () => {
  it('resolves with the reply Message carrying the responder’s payload', async (t) => {
    const bus = makeBus(t);
    const seen: Message[] = [];
    bus.subscribe('math.double', (m) => {
      seen.push(m);
      assert.equal(m.respond((m.payload as number) * 2), true);
    });
    const reply = await within(
      bus.request('math.double', 21, { timeoutMs: 2000 }),
      3000,
      'request'
    );
    assert.equal(reply.payload, 42);
    assert.equal(typeof reply.topic, 'string');
    assert.ok(reply.topic.startsWith('$inbox.'), `reply topic ${reply.topic}`);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].payload, 21);
    assert.equal(seen[0].replyTo, reply.topic);
  });

  it('matches concurrent requests to their own replies', async (t) => {
    const bus = makeBus(t);
    bus.subscribe('echo', (m) => void m.respond(`re:${String(m.payload)}`));
    const replies = await within(
      Promise.all([1, 2, 3].map((n) => bus.request('echo', n, { timeoutMs: 2000 }))),
      3000
    );
    assert.deepEqual(
      replies.map((r) => r.payload),
      ['re:1', 're:2', 're:3']
    );
  });

  it('resolves with the first reply when several responders answer', async (t) => {
    const bus = makeBus(t);
    bus.subscribe('q', (m) => void m.respond('first'));
    bus.subscribe('q', (m) => void m.respond('second'));
    const reply = await within(bus.request('q', null, { timeoutMs: 2000 }), 3000);
    assert.equal(reply.payload, 'first');
  });

  it('works with a responder in a channel and on a manual bus once flushed', async (t) => {
    const bus = manualBus(t);
    bus.subscribe('svc', (m) => void m.respond('ok'), { channel: 'workers' });
    const p = bus.request('svc', 1, { timeoutMs: 2000 });
    bus.flush(); // delivers the request
    bus.flush(); // delivers the reply
    assert.equal((await within(p, 3000)).payload, 'ok');
  });

  it('passes request headers to the responder', async (t) => {
    const bus = makeBus(t);
    bus.subscribe('h', (m) => void m.respond(m.headers.who));
    const reply = await within(
      bus.request('h', null, { timeoutMs: 2000, headers: { who: 'me' } }),
      3000
    );
    assert.equal(reply.payload, 'me');
  });

  it('rejects at once with ERR_NO_RESPONDERS when nothing matches', async (t) => {
    const bus = manualBus(t);
    bus.subscribe('other', () => {});
    // a manual bus never dispatches by itself: the rejection cannot depend on delivery or a timer
    await assert.rejects(
      within(bus.request('nobody.home', 1, { timeoutMs: 60_000 }), 1000),
      isCode(ErrorCode.NO_RESPONDERS)
    );
  });

  it('rejects with ERR_TIMEOUT when the responder never answers', async (t) => {
    const bus = makeBus(t);
    let asked = 0;
    bus.subscribe('silent', () => void asked++);
    await assert.rejects(
      within(bus.request('silent', 1, { timeoutMs: 30 }), 3000),
      isCode(ErrorCode.TIMEOUT)
    );
    assert.equal(asked, 1);
  });

  it('rejects with ERR_TIMEOUT under mock timers exactly when timeoutMs passes', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const bus = manualBus(t);
    bus.subscribe('silent', () => {});
    let outcome: unknown = 'pending';
    bus.request('silent', 1, { timeoutMs: 100 }).then(
      () => (outcome = 'resolved'),
      (err: unknown) => (outcome = err)
    );
    bus.flush();
    t.mock.timers.tick(99);
    await Promise.resolve();
    assert.equal(outcome, 'pending');
    t.mock.timers.tick(1);
    await waitFor(() => outcome !== 'pending', 1000);
    assert.ok(isCode(ErrorCode.TIMEOUT)(outcome));
  });

  it('ignores a reply that comes after the timeout: respond() returns false', async (t) => {
    const bus = manualBus(t);
    const held: Message[] = [];
    bus.subscribe('slow', (m) => void held.push(m));
    const p = bus.request('slow', 1, { timeoutMs: 10 });
    bus.flush();
    await assert.rejects(within(p, 3000), isCode(ErrorCode.TIMEOUT));
    // documented on Message.respond: "false when ... nobody waits for the reply any more"
    assert.equal(held[0].respond('too late'), false);
    assert.doesNotThrow(() => bus.flush());
  });

  it('respond() returns false on a message that is not a request', (t) => {
    const bus = manualBus(t);
    const got: Message[] = [];
    bus.subscribe('plain', (m) => void got.push(m));
    bus.publish('plain', 1);
    bus.flush();
    assert.equal(got[0].replyTo, undefined);
    assert.equal(got[0].respond('x'), false);
  });

  it('rejects bad timeoutMs with ERR_INVALID_OPTIONS', async (t) => {
    const bus = manualBus(t);
    bus.subscribe('a', () => {});
    await assert.rejects(
      async () => bus.request('a', 1, { timeoutMs: 0 }),
      isCode(ErrorCode.INVALID_OPTIONS)
    );
    await assert.rejects(
      async () => bus.request('a', 1, { timeoutMs: -5 }),
      isCode(ErrorCode.INVALID_OPTIONS)
    );
  });

  it('close() rejects pending requests with ERR_CLOSED', async (t) => {
    const bus = makeBus(t);
    bus.subscribe('never', () => {});
    const p1 = bus.request('never', 1, { timeoutMs: 60_000 });
    const p2 = bus.request('never', 2, { timeoutMs: 60_000 });
    await bus.close();
    await assert.rejects(within(p1, 1000), isCode(ErrorCode.CLOSED));
    await assert.rejects(within(p2, 1000), isCode(ErrorCode.CLOSED));
  });

  it('request() on a closed bus rejects with ERR_CLOSED', async (t) => {
    const bus = makeBus(t);
    bus.subscribe('a', () => {});
    await bus.close();
    await assert.rejects(
      within(bus.request('a', 1, { timeoutMs: 1000 }), 1000),
      isCode(ErrorCode.CLOSED)
    );
  });
});
