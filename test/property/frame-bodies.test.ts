import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RingbusError } from '../../src/errors.js';
import { BodyReader } from '../../src/frames/body-reader.js';
import {
  type EnvelopeFields,
  InboundFrame,
  type PayloadCodec,
  readMsg,
  readPub,
  writeMsg,
  writePub
} from '../../src/frames/envelope.js';
import { RangeFrameDecoder } from '../../src/frames/frame-decoder.js';
import { FrameEncoder } from '../../src/frames/frame-encoder.js';
import { FrameType, MsgFlag } from '../../src/frames/frame-type.js';
import { NO_HEADERS } from '../../src/message.js';

/**
 * MSG and PUB bodies (docs/protocol.md §4): writeMsg/readMsg and writePub/readPub round-trip any
 * envelope (unicode strings, headers, every payload kind, ids up to 2^53 − 1) through a stream
 * split anywhere, and the readers fail only with ERR_PROTOCOL on corrupt bodies. Fixed seed.
 */
const SEED = 4242;
const MAX = 1 << 20;

/** Any well-formed string (no lone surrogates, which UTF-8 cannot carry), sometimes long. */
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300, size: 'max' }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) }
);

const subjectChar = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 1 })
  .filter((c) => !/[\s.*>]/u.test(c));
const token = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcxyz09_-$'), minLength: 1, maxLength: 8 }),
  fc.string({ unit: subjectChar, minLength: 1, maxLength: 6 })
);
const topic = fc.array(token, { minLength: 1, maxLength: 6 }).map((t) => t.join('.'));

const headers = fc.option(fc.dictionary(text, text, { maxKeys: 5, noNullPrototype: true }), {
  nil: undefined
});

/** A value the JSON or codec path carries (not bytes, a string or undefined). */
const structured = fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'string');

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 2000, size: 'max' }),
  text,
  structured,
  fc.constant(undefined)
);

const ttlMs = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

const envelope = fc.record({
  topic,
  payload,
  headers,
  replyTo: fc.option(text, { nil: undefined }),
  ttlMs
});

interface MsgCase {
  readonly kind: 'MSG';
  readonly env: { topic: string; payload: unknown; headers?: Record<string, string> };
  readonly replyTo: string | undefined;
  readonly ttlMs: number;
  readonly sid: number;
  readonly tag: number;
  readonly id: number;
  readonly attempt: number;
  readonly hops: number;
}

interface PubCase {
  readonly kind: 'PUB';
  readonly env: { topic: string; payload: unknown; headers?: Record<string, string> };
  readonly ttlMs: number;
  readonly pubId: number;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

const msgCase: fc.Arbitrary<MsgCase> = fc
  .record({
    e: envelope,
    qos1: fc.boolean(),
    sid: fc.maxSafeNat(),
    tag: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    id: fc.maxSafeNat(),
    attempt: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    hops: fc.maxSafeNat()
  })
  .map(({ e, qos1, sid, tag, id, attempt, hops }) => ({
    kind: 'MSG' as const,
    env: e,
    replyTo: e.replyTo,
    ttlMs: e.ttlMs,
    // A QoS 1 delivery goes to a subscription (sid ≥ 1) with a tag ≥ 1 (§4.1).
    sid: qos1 ? Math.max(1, sid) : sid,
    tag: qos1 ? tag : 0,
    id,
    attempt,
    hops
  }));

const pubCase: fc.Arbitrary<PubCase> = fc
  .record({ e: envelope, pubId: fc.maxSafeNat(), qos: fc.constantFrom(0, 1), retain: fc.boolean() })
  .map(({ e, pubId, qos, retain }) => ({
    kind: 'PUB' as const,
    env: e,
    ttlMs: e.ttlMs,
    pubId,
    qos,
    retain
  }));

const frameCase = fc.oneof(msgCase, pubCase);

/** A field integer, mostly of one byte (the one-pass reader's limit), else just over or anything. */
const field = (min: number): fc.Arbitrary<number> =>
  fc.oneof(
    { arbitrary: fc.integer({ min, max: 127 }), weight: 4 },
    fc.constantFrom(128, 129, 255, 256, 16383, 16384),
    fc.integer({ min, max: Number.MAX_SAFE_INTEGER })
  );

/** A plain QoS 0 delivery (no TTL, headers or reply): what readMsg reads in one pass. */
const plainMsgCase: fc.Arbitrary<MsgCase> = fc
  .record({ topic, payload, sid: field(0), id: field(0), attempt: field(1), hops: field(0) })
  .map(({ topic, payload, sid, id, attempt, hops }) => ({
    kind: 'MSG' as const,
    env: { topic, payload },
    replyTo: undefined,
    ttlMs: 0,
    sid,
    tag: 0,
    id,
    attempt,
    hops
  }));

/** Carries structured payloads as bytes of its own (kind 3): tagged JSON. */
const taggedJson: PayloadCodec = {
  encode: (v) => new TextEncoder().encode(`codec:${JSON.stringify(v)}`),
  decode: (b) => {
    const s = new TextDecoder().decode(b);
    assert.ok(s.startsWith('codec:'), 'codec bytes came back');
    return JSON.parse(s.slice(6)) as unknown;
  }
};

function fields(c: MsgCase | PubCase): EnvelopeFields {
  return {
    topic: c.env.topic,
    payload: c.env.payload,
    headers: c.env.headers ?? NO_HEADERS,
    replyTo: c.kind === 'MSG' ? c.replyTo : undefined
  };
}

function write(enc: FrameEncoder, c: MsgCase | PubCase, codec: PayloadCodec | undefined): void {
  if (c.kind === 'MSG') {
    writeMsg(enc, fields(c), c.sid, c.tag, c.id, c.attempt, c.hops, c.ttlMs, codec);
  } else writePub(enc, fields(c), c.pubId, c.qos, c.retain, c.ttlMs, codec);
}

/** What the reader must give back: JSON (and tagged JSON) payloads as JSON would carry them. */
function expected(c: MsgCase | PubCase): Record<string, unknown> {
  const p = c.env.payload;
  const isStructured = !(p instanceof Uint8Array) && typeof p !== 'string' && p !== undefined;
  let flags = 0;
  if (c.env.headers !== undefined) flags |= MsgFlag.HEADERS;
  if (c.kind === 'MSG' && c.replyTo !== undefined) flags |= MsgFlag.REPLY;
  if (c.ttlMs > 0) flags |= MsgFlag.TTL;
  if (c.kind === 'MSG' ? c.tag !== 0 : c.qos === 1) flags |= MsgFlag.QOS1;
  if (c.kind === 'PUB' && c.retain) flags |= MsgFlag.RETAIN;
  return {
    type: c.kind === 'MSG' ? FrameType.MSG : FrameType.PUB,
    flags,
    sid: c.kind === 'MSG' ? c.sid : c.pubId,
    tag: c.kind === 'MSG' ? c.tag : 0,
    id: c.kind === 'MSG' ? c.id : 0,
    attempt: c.kind === 'MSG' ? c.attempt : 1,
    hops: c.kind === 'MSG' ? c.hops : 0,
    ttlMs: c.ttlMs,
    topic: c.env.topic,
    headers: c.env.headers ?? NO_HEADERS,
    replyTo: c.kind === 'MSG' ? c.replyTo : undefined,
    payload: isStructured ? (JSON.parse(JSON.stringify(p)) as unknown) : p
  };
}

/** Decodes a typed stream as a link does: range decoder, one reused reader and frame. */
function decode(
  chunks: readonly Uint8Array[],
  codec: PayloadCodec | undefined
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const r = new BodyReader();
  const f = new InboundFrame();
  const decoder = new RangeFrameDecoder(MAX, (bytes, start, end) => {
    r.reset(bytes, start, end);
    const type = r.u8();
    if (type === FrameType.MSG) readMsg(r, f, codec);
    else readPub(r, f, codec);
    assert.equal(r.remaining, 0, 'the payload runs to the end of the body');
    const { flags, sid, tag, id, attempt, hops, ttlMs, topic, headers, replyTo, payload } = f;
    out.push({ type, flags, sid, tag, id, attempt, hops, ttlMs, topic, headers, replyTo, payload });
  });
  for (const chunk of chunks) assert.equal(decoder.push(chunk), undefined);
  assert.equal(decoder.end(), undefined);
  return out;
}

/** Cuts `bytes` at the given points into separately allocated chunks, as a transport would. */
function split(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = points.map((p) => p % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.slice(start, cut));
    start = cut;
  }
  return chunks;
}

void describe('MSG and PUB bodies (property)', () => {
  void it('round-trip any envelope through a stream split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(frameCase, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (cases, points) => {
          const enc = new FrameEncoder(MAX);
          for (const c of cases) write(enc, c, undefined);
          assert.deepEqual(decode(split(enc.take(), points), undefined), cases.map(expected));
        }
      ),
      { seed: SEED, numRuns: 300 }
    );
  });

  void it('round-trip plain deliveries between any others, one-byte fields or not', () => {
    fc.assert(
      fc.property(
        // The reader is reused: a plain frame after a full one must not keep its fields.
        fc.array(fc.oneof(plainMsgCase, frameCase), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (cases, points) => {
          const enc = new FrameEncoder(MAX);
          for (const c of cases) write(enc, c, undefined);
          assert.deepEqual(decode(split(enc.take(), points), undefined), cases.map(expected));
        }
      ),
      { seed: SEED, numRuns: 300 }
    );
  });

  void it('round-trip structured payloads through a link codec (kind 3)', () => {
    fc.assert(
      fc.property(fc.array(frameCase, { minLength: 1, maxLength: 6 }), (cases) => {
        const enc = new FrameEncoder(MAX);
        for (const c of cases) write(enc, c, taggedJson);
        assert.deepEqual(decode([enc.take()], taggedJson), cases.map(expected));
      }),
      { seed: SEED, numRuns: 150 }
    );
  });

  void it('roll back a frame over maxFrameBytes, keeping the ones around it', () => {
    fc.assert(
      fc.property(
        fc.array(frameCase, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 64, max: 1500 }),
        (cases, maxFrameBytes) => {
          const enc = new FrameEncoder(maxFrameBytes);
          const kept: (MsgCase | PubCase)[] = [];
          for (const c of cases) {
            const before = enc.size;
            try {
              write(enc, c, undefined);
              kept.push(c);
            } catch (err) {
              assert.ok(err instanceof RangeError, String(err));
              assert.equal(enc.size, before, 'nothing of the refused frame stays');
            }
          }
          assert.deepEqual(decode([enc.take()], undefined), kept.map(expected));
        }
      ),
      { seed: SEED, numRuns: 200 }
    );
  });

  void it('fail only with ERR_PROTOCOL on corrupt or random bodies', () => {
    const corrupt = fc.oneof(
      // A valid body with some bytes overwritten or cut short.
      fc
        .record({
          c: fc.oneof(plainMsgCase, frameCase),
          edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
          cut: fc.nat()
        })
        .map(({ c, edits, cut }) => {
          const enc = new FrameEncoder(MAX);
          write(enc, c, undefined);
          const frame = enc.take();
          // Skip the length prefix: the framing has its own property test.
          const body = frame.slice(frame.length - bodyLength(frame));
          for (const [at, byte] of edits) if (at % body.length !== 0) body[at % body.length] = byte;
          return body.subarray(0, Math.max(1, body.length - (cut % 4)));
        }),
      // Random bytes after a MSG or PUB type byte.
      fc
        .tuple(fc.constantFrom(FrameType.MSG, FrameType.PUB), fc.uint8Array({ maxLength: 40 }))
        .map(([type, rest]) => Uint8Array.of(type, ...rest))
    );
    fc.assert(
      fc.property(corrupt, (body) => {
        const r = new BodyReader();
        r.reset(body);
        const type = r.u8();
        try {
          if (type === FrameType.MSG) readMsg(r, new InboundFrame(), undefined);
          else readPub(r, new InboundFrame(), undefined);
        } catch (err) {
          assert.ok(err instanceof RingbusError, `not a RingbusError: ${String(err)}`);
          assert.equal(err.code, 'ERR_PROTOCOL');
        }
      }),
      { seed: SEED, numRuns: 2000 }
    );
  });
});

/** The body length of one encoded frame (its varint prefix is at most 3 bytes here). */
function bodyLength(frame: Uint8Array): number {
  let length = 0;
  for (let i = 0, weight = 1; ; i++, weight *= 128) {
    length += (frame[i] & 0x7f) * weight;
    if ((frame[i] & 0x80) === 0) return length;
  }
}
