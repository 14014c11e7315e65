import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AckSubject } from '../../adapters/nats/ack-subject.js';
import { jsMsg } from '../helpers/nats-msg.js';

/**
 * The bridge's reading of JetStream acknowledgement subjects (adapters/nats/ack-subject.ts)
 * against nats.js's own `info`, on messages built with nats.js's classes. Fixed seed.
 */
const SEED = 29;
const NO_DATA = new Uint8Array(0);

// Stream, consumer and domain names: no dots, no spaces; JetStream numbers up to 2^53 - 1.
const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const count = fc.integer({ min: 1, max: 1000 });
const seq = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }),
  fc.maxSafeNat().filter((n) => n > 0)
);
const small = fc.nat({ max: 1_000_000 });

// The two shapes JetStream writes (ADR-15): 9 tokens, or a domain and account hash after ACK
// (11 tokens, 12 with a trailing random token).
const ackSubject = fc.oneof(
  fc
    .tuple(name, name, count, seq, seq, small, small)
    .map(([s, c, d, sseq, dseq, ts, p]) => `$JS.ACK.${s}.${c}.${d}.${sseq}.${dseq}.${ts}.${p}`),
  fc
    .tuple(fc.oneof(name, fc.constant('_')), name, name, name, count, seq, seq, small, small)
    .chain((t) => fc.tuple(fc.constant(t), fc.option(name, { nil: undefined })))
    .map(([[dom, hash, s, c, d, sseq, dseq, ts, p], random]) => {
      const tokens = [dom, hash, s, c, d, sseq, dseq, ts, p];
      if (random !== undefined) tokens.push(random);
      return `$JS.ACK.${tokens.join('.')}`;
    })
);

function infoOf(reply: string): { delivered: number; streamSeq: number } | Error {
  try {
    const info = jsMsg('x', reply, NO_DATA).info;
    return { delivered: info.deliveryCount, streamSeq: info.streamSequence };
  } catch (err) {
    return err as Error;
  }
}

function read(a: AckSubject, reply: string): { delivered: number; streamSeq: number } | Error {
  try {
    a.read(jsMsg('x', reply, NO_DATA));
    return { delivered: a.delivered, streamSeq: a.streamSeq };
  } catch (err) {
    return err as Error;
  }
}

describe('AckSubject', () => {
  it('reads the delivery count and stream sequence as nats.js does', () => {
    const a = new AckSubject();
    fc.assert(
      fc.property(ackSubject, (reply) => {
        const want = infoOf(reply);
        assert.ok(!(want instanceof Error), `nats.js reads ${reply}`);
        assert.deepEqual(read(a, reply), want);
      }),
      { seed: SEED, numRuns: 500 }
    );
  });

  it('leaves any other subject to nats.js, which reads it or throws as before', () => {
    const a = new AckSubject();
    const other = fc.oneof(
      fc.string({ size: 'max', maxLength: 80 }),
      ackSubject.map((s) => s.replace('ACK', 'ACQ')),
      ackSubject.map((s) => s.split('.').slice(0, -1).join('.')),
      ackSubject.map((s) => `${s}.x.y.z.w.v`),
      ackSubject.map((s) => s.replace(/\.(\d+)\./, '.0x$1.'))
    );
    fc.assert(
      fc.property(other, (reply) => {
        const want = infoOf(reply);
        const got = read(a, reply);
        if (want instanceof Error) assert.ok(got instanceof Error, `${reply}: nats.js throws`);
        else assert.deepEqual(got, want);
      }),
      { seed: SEED, numRuns: 500 }
    );
  });
});
