import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Msg, type MsgHdrs, type NatsConnection, headers } from 'nats';
import { type StoreOutcome, StreamPublisher } from '../../adapters/nats/stream-publisher.js';

/**
 * StreamPublisher (adapters/nats/stream-publisher.ts) against a stand-in connection: which
 * acknowledgement completes which publish, and what each kind of answer comes to. The real
 * server's answers are exercised by test/integration/nats-bridge.test.ts.
 */

const INBOX = '_INBOX.t';
const TIMEOUT_MS = 1000;

class FakeConnection {
  readonly sent: { subject: string; reply: string }[] = [];
  callback: ((err: Error | null, m: Msg) => void) | undefined;
  unsubscribed = false;
  refuse: Error | undefined;

  subscribe(_subject: string, opts: { callback: (err: Error | null, m: Msg) => void }): object {
    this.callback = opts.callback;
    return { unsubscribe: () => (this.unsubscribed = true) };
  }

  publish(subject: string, _data: Uint8Array, opts: { reply: string }): void {
    if (this.refuse !== undefined) throw this.refuse;
    this.sent.push({ subject, reply: opts.reply });
  }

  /** Answers the `i`th publish with `body` (JSON) or a status header. */
  answer(i: number, body: unknown, status?: { code: number; description: string }): void {
    const h: MsgHdrs | undefined =
      status === undefined ? undefined : headers(status.code, status.description);
    const m = {
      subject: this.sent[i].reply,
      headers: h,
      json: () => (typeof body === 'string' ? JSON.parse(body) : body) as unknown
    };
    this.callback!(null, m as unknown as Msg);
  }
}

function setUp(): {
  nc: FakeConnection;
  publisher: StreamPublisher<string>;
  outcomes: [string, StoreOutcome][];
} {
  const nc = new FakeConnection();
  const outcomes: [string, StoreOutcome][] = [];
  const publisher = new StreamPublisher<string>(
    nc as unknown as NatsConnection,
    INBOX,
    TIMEOUT_MS,
    (item, outcome) => outcomes.push([item, outcome])
  );
  return { nc, publisher, outcomes };
}

const HDRS = headers();
const messageOf = (o: StoreOutcome): string | undefined => o?.message;

describe('StreamPublisher', () => {
  it('completes each publish by the acknowledgement to its own reply subject, once', () => {
    const { nc, publisher, outcomes } = setUp();
    publisher.publish('a.b', new Uint8Array(1), HDRS, 'first', 0);
    publisher.publish('a.c', new Uint8Array(1), HDRS, 'second', 0);
    assert.deepEqual(
      nc.sent.map((s) => s.subject),
      ['a.b', 'a.c']
    );
    assert.notEqual(nc.sent[0].reply, nc.sent[1].reply);
    assert.ok(nc.sent.every((s) => s.reply.startsWith(`${INBOX}.`)));
    nc.answer(1, { stream: 'S', seq: 2 });
    nc.answer(0, { stream: 'S', seq: 1, duplicate: true });
    nc.answer(0, { stream: 'S', seq: 1 }); // a repeat: ignored
    assert.deepEqual(outcomes, [
      ['second', undefined],
      ['first', undefined]
    ]);
  });

  it('tells every kind of refusal apart from a stored message', () => {
    const { nc, publisher, outcomes } = setUp();
    const answers: [unknown, { code: number; description: string }?][] = [
      [undefined, { code: 503, description: 'No Responders' }],
      [{ error: { code: 400, err_code: 10054, description: 'message size exceeds maximum' } }],
      ['{not json'],
      [null],
      [{ seq: 4 }],
      [{ stream: '', seq: 4 }]
    ];
    answers.forEach((_, i) => publisher.publish('x', new Uint8Array(1), HDRS, `m${i}`, 0));
    answers.forEach(([body, status], i) => nc.answer(i, body, status));
    // Over the stream's max_msg_size: marked like nats.js's own max_payload refusal.
    assert.equal((outcomes[1][1] as { code?: string }).code, 'MAX_PAYLOAD_EXCEEDED');
    assert.equal((outcomes[0][1] as { code?: string }).code, undefined);
    assert.deepEqual(
      outcomes.map(([item, o]) => [item, messageOf(o)]),
      [
        ['m0', 'no stream takes this subject'],
        ['m1', 'refused: message size exceeds maximum'],
        ['m2', 'an unreadable acknowledgement'],
        ['m3', 'an unreadable acknowledgement'],
        ['m4', 'an acknowledgement that names no stream'],
        ['m5', 'an acknowledgement that names no stream']
      ]
    );
  });

  it('fails what is not acknowledged in time, oldest first, and ignores a late answer', () => {
    const { nc, publisher, outcomes } = setUp();
    publisher.publish('x', new Uint8Array(1), HDRS, 'early', 100);
    publisher.publish('x', new Uint8Array(1), HDRS, 'late', 600);
    publisher.sweep(100 + TIMEOUT_MS - 1);
    assert.equal(outcomes.length, 0);
    publisher.sweep(100 + TIMEOUT_MS);
    assert.deepEqual(
      outcomes.map(([item, o]) => [item, messageOf(o)]),
      [['early', `JetStream did not acknowledge within ${TIMEOUT_MS} ms`]]
    );
    nc.answer(0, { stream: 'S', seq: 1 }); // after its timeout: it is being offered again
    nc.answer(1, { stream: 'S', seq: 2 });
    assert.deepEqual(
      outcomes.map(([item]) => item),
      ['early', 'late']
    );
    assert.equal(outcomes[1][1], undefined);
  });

  it('throws what the connection throws, keeps nothing pending, and stops on close', () => {
    const { nc, publisher, outcomes } = setUp();
    nc.refuse = Object.assign(new Error('too big'), { code: 'MAX_PAYLOAD_EXCEEDED' });
    assert.throws(() => publisher.publish('x', new Uint8Array(1), HDRS, 'big', 0), /too big/);
    publisher.sweep(Number.MAX_SAFE_INTEGER);
    assert.equal(outcomes.length, 0);
    nc.refuse = undefined;
    publisher.publish('x', new Uint8Array(1), HDRS, 'open', 0);
    publisher.close();
    assert.equal(nc.unsubscribed, true);
    publisher.sweep(Number.MAX_SAFE_INTEGER);
    assert.equal(outcomes.length, 0);
  });
});
