import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type MsgHdrs, headers } from 'nats';
import {
  Header,
  MSG_ID_HEADER,
  NatsOut,
  isPlainQos1,
  isRetry,
  readNatsMessage,
  writeNatsMessage
} from '../../adapters/nats/nats-message.js';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { InboundFrame, type PayloadCodec } from '../../src/frames/envelope.js';
import { NO_HEADERS } from '../../src/message.js';
import { natsMsg } from '../helpers/nats-msg.js';

/** How a message crosses NATS and back (adapters/nats/nats-message.ts). Fixed seed. */
const SEED = 11;

// NATS header names are MIME tokens; values are one line. Names of our own are excluded.
const headerName = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/)
  .filter((n) => !/^(ringbus-|nats-msg-id$)/i.test(n));
// NATS header values lose surrounding whitespace (like HTTP): generated without it.
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((v) => v.trim());
const userHeaders = fc.dictionary(headerName, headerValue, { maxKeys: 6 });
const payloadArb = fc.oneof(
  fc.uint8Array({ size: 'max', maxLength: 2000 }),
  fc.string({ unit: 'grapheme', size: 'max', maxLength: 300 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(undefined)
);

/** A codec that is not JSON, so 'codec' payloads are told apart. */
const reversing: PayloadCodec = {
  encode: (v) => new TextEncoder().encode(JSON.stringify(v)).reverse(),
  decode: (b) => JSON.parse(new TextDecoder().decode(b.slice().reverse())) as unknown
};

/** The header block nats.js puts on the wire for `h`. */
function encoded(h: MsgHdrs): Uint8Array {
  return (h as unknown as { encode(): Uint8Array }).encode();
}

function send(
  payload: unknown,
  user: Record<string, string>,
  hops: number,
  ttlMs: number,
  qos: 0 | 1,
  codec: PayloadCodec | undefined
): { data: Uint8Array; hdrs: MsgHdrs | undefined } {
  const out = new NatsOut();
  const u = Object.keys(user).length === 0 ? NO_HEADERS : user;
  writeNatsMessage(out, payload, u, hops, ttlMs, qos, codec, headers);
  return { data: out.data, hdrs: out.headers };
}

describe('NATS message mapping', () => {
  it('round-trips payload kinds, user headers, hops, TTL and QoS', () => {
    fc.assert(
      fc.property(
        payloadArb,
        userHeaders,
        fc.nat({ max: 255 }),
        fc.nat({ max: 86_400_000 }),
        fc.constantFrom<0 | 1>(0, 1),
        fc.boolean(),
        (payload, user, hops, ttlMs, qos, withCodec) => {
          const codec = withCodec ? reversing : undefined;
          const { data, hdrs } = send(payload, user, hops, ttlMs, qos, codec);
          const f = new InboundFrame();
          readNatsMessage(f, 'a.b', data, hdrs, '_INBOX.x', codec);
          const expected =
            payload === undefined || typeof payload === 'string' || payload instanceof Uint8Array
              ? payload
              : (JSON.parse(JSON.stringify(payload)) as unknown);
          assert.deepEqual(f.payload, expected);
          if (payload instanceof Uint8Array)
            assert.equal(Object.getPrototypeOf(f.payload), Uint8Array.prototype);
          assert.deepEqual({ ...f.headers }, { ...user });
          assert.equal(f.hops, hops);
          assert.equal(f.ttlMs, ttlMs);
          assert.equal(f.qos, qos);
          // A QoS 1 export's reply subject is JetStream's acknowledgement inbox, not a request's.
          assert.equal(f.replyTo, qos === 1 ? undefined : '_INBOX.x');
          assert.equal(isRetry(hdrs), false);
        }
      ),
      { seed: SEED, numRuns: 500 }
    );
  });

  it('sends plain bytes at QoS 0 with no headers at all', () => {
    const { hdrs } = send(new Uint8Array([1]), {}, 0, 0, 0, undefined);
    assert.equal(hdrs, undefined);
  });

  it("recognises a bus's plain QoS 1 export without parsing headers, and nothing else", () => {
    // What a bus sends for QoS 1 bytes with nothing else to say: the fast path must take it.
    const plain = send(new Uint8Array([7]), {}, 0, 0, 1, undefined).hdrs!;
    plain.set(MSG_ID_HEADER, 'bus.nonce.42');
    assert.ok(isPlainQos1(natsMsg('a.b', undefined, encoded(plain), new Uint8Array([7]))));
    // Any header block nats.js can encode: taken only when it says exactly that.
    const ours = fc.constantFrom(Header.PAYLOAD, Header.HOPS, Header.TTL, Header.QOS, Header.RETRY);
    const name = fc.oneof(ours, fc.constant(MSG_ID_HEADER), headerName);
    let taken = 0;
    fc.assert(
      fc.property(
        // Often the two headers of the fast path, in some order, with others or not.
        fc.oneof(
          fc.array(fc.tuple(name, fc.oneof(fc.constant('1'), headerValue)), { maxLength: 4 }),
          fc
            .tuple(headerValue, fc.array(fc.tuple(name, headerValue), { maxLength: 1 }))
            .chain(([id, extra]) =>
              fc.shuffledSubarray(
                [[Header.QOS, '1'] as const, [MSG_ID_HEADER, id] as const, ...extra],
                { minLength: 2 }
              )
            )
        ),
        fc.uint8Array({ maxLength: 20 }),
        (pairs, data) => {
          const hdrs = headers();
          for (const [k, v] of pairs) hdrs.append(k, v);
          const m = natsMsg('a.b', undefined, encoded(hdrs), data);
          if (!isPlainQos1(m)) return;
          taken++;
          assert.deepEqual([...m.headers!.keys()], [Header.QOS, MSG_ID_HEADER]);
          assert.deepEqual(m.headers!.values(Header.QOS), ['1']);
          assert.equal(m.headers!.values(MSG_ID_HEADER).length, 1);
          assert.deepEqual(m.data, data);
        }
      ),
      { seed: SEED, numRuns: 500 }
    );
    assert.ok(taken >= 50, `the fast path was taken ${taken} times`);
    for (const block of [undefined, encoded(headers())]) {
      assert.equal(isPlainQos1(natsMsg('a.b', undefined, block, new Uint8Array(3))), false);
    }
  });

  it('reads anything a plain NATS client may send: a value, or ERR_PROTOCOL, nothing else', () => {
    const ours = fc.constantFrom(Header.PAYLOAD, Header.HOPS, Header.TTL, Header.QOS, Header.RETRY);
    fc.assert(
      fc.property(
        fc.uint8Array({ size: 'max', maxLength: 500 }),
        fc.array(fc.tuple(fc.oneof(ours, headerName), headerValue), { maxLength: 8 }),
        fc.boolean(),
        (data, pairs, withCodec) => {
          const hdrs = headers();
          for (const [k, v] of pairs) hdrs.append(k, v);
          const f = new InboundFrame();
          try {
            readNatsMessage(f, 'x.y', data, hdrs, undefined, withCodec ? reversing : undefined);
          } catch (err) {
            assert.ok(err instanceof RingbusError, `threw ${String(err)}`);
            assert.equal(err.code, ErrorCode.PROTOCOL);
            return;
          }
          assert.ok(Number.isSafeInteger(f.hops) && f.hops >= 0);
          assert.ok(Number.isSafeInteger(f.ttlMs) && f.ttlMs >= 0);
          for (const name of Object.keys(f.headers)) assert.doesNotMatch(name, /^ringbus-/i);
        }
      ),
      { seed: SEED, numRuns: 500 }
    );
  });
});
