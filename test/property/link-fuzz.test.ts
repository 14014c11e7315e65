import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, RingbusError } from '../../src/errors.js';
import { BodyReader } from '../../src/frames/body-reader.js';
import {
  errorSchema,
  helloSchema,
  interestSchema,
  readControl,
  subSchema,
  unsubSchema,
  writeControl
} from '../../src/frames/control.js';
import {
  type EnvelopeFields,
  InboundFrame,
  readMsg,
  readPub,
  writeMsg,
  writePub
} from '../../src/frames/envelope.js';
import { FrameDecoder } from '../../src/frames/frame-decoder.js';
import { FrameEncoder } from '../../src/frames/frame-encoder.js';
import { FrameType } from '../../src/frames/frame-type.js';
import { NO_HEADERS } from '../../src/message.js';
import {
  ListenerHarness,
  type RawPeer,
  helloFrame,
  openRawPeer,
  parseFrames,
  pingFrame,
  trapUncaught
} from '../helpers/raw-peer.js';
import { waitFor, within } from '../helpers/wait.js';

/**
 * Fuzzing the link's input path: random bytes and randomly corrupted valid frame sequences
 * against a live listener (nothing throws, every bad connection is closed, a healthy link keeps
 * working), and the frame body readers on random bytes (they return or throw ERR_PROTOCOL only).
 * Fixed seed and bounded runs keep the file fast; FUZZ_RUNS=n runs longer.
 */
const SEED = 20260515;
const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));

/** Cuts `bytes` at the given points (reduced modulo the length, sorted). */
function split(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = points.map((p) => p % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  chunks.push(bytes.subarray(start));
  return chunks.filter((c) => c.length > 0);
}

/** Waits for the server to close `peer` (after this side ended, if `end`). */
async function closedBy(peer: RawPeer, end: boolean): Promise<void> {
  if (end) peer.end();
  await within(peer.closed, 3000, 'the server closing the connection');
}

/** Every ERROR frame the server sent parses and has a known code. */
function checkErrors(peer: RawPeer): void {
  const known = Object.values(ErrorCode) as string[];
  for (const e of peer.errors()) {
    assert.ok(known.includes(e.code), `unknown error code ${e.code}`);
    assert.equal(typeof e.message, 'string');
  }
}

// --- valid frame sequences -----------------------------------------------------------------

const tokenArb = fc.constantFrom('a', 'b', 'c', 'x', 'yy', 'zzz');
const topicArb = fc
  .array(tokenArb, { minLength: 1, maxLength: 3 })
  .map((tokens) => `f.${tokens.join('.')}`);
const patternArb = fc.oneof(topicArb, fc.constantFrom('f.*', 'f.>', 'f.*.a', 'f.a.>', 'f.*.*'));
const payloadArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.uint8Array({ maxLength: 300, size: 'max' }),
  fc.string({ maxLength: 100, size: 'max' }),
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 })
);
const headersArb = fc.oneof(
  fc.constant(NO_HEADERS),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), {
    maxKeys: 3
  })
);
const envelopeArb: fc.Arbitrary<EnvelopeFields> = fc.record({
  topic: topicArb,
  payload: payloadArb,
  headers: headersArb,
  replyTo: fc.option(fc.constantFrom('f.reply', '$inbox.raw-peer.1'), { nil: undefined })
});

type Command =
  | {
      kind: 'sub';
      pattern: string;
      channel: string | undefined;
      qos: 0 | 1;
      queueSize: number;
      overflow: 'drop-oldest' | 'drop-newest' | 'block';
      conflate: boolean;
      credit: number;
    }
  | { kind: 'unsub'; sid: number }
  | { kind: 'interest' | 'uninterest'; pattern: string }
  | {
      kind: 'msg';
      sid: number;
      qos: 0 | 1;
      id: number;
      attempt: number;
      hops: number;
      ttlMs: number;
      env: EnvelopeFields;
    }
  | { kind: 'pub'; pubId: number; qos: 0 | 1; retain: boolean; ttlMs: number; env: EnvelopeFields }
  | { kind: 'ack'; tags: number[] }
  | { kind: 'nack'; tag: number; delayMs: number }
  | { kind: 'ping'; id: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('sub' as const),
    pattern: patternArb,
    channel: fc.option(fc.constantFrom('c1', 'c2'), { nil: undefined }),
    qos: fc.constantFrom(0 as const, 1 as const),
    queueSize: fc.integer({ min: 1, max: 64 }),
    overflow: fc.constantFrom('drop-oldest' as const, 'drop-newest' as const, 'block' as const),
    conflate: fc.boolean(),
    credit: fc.integer({ min: 1, max: 64 })
  }),
  fc.record({ kind: fc.constant('unsub' as const), sid: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constantFrom('interest' as const, 'uninterest' as const),
    pattern: patternArb
  }),
  fc.record({
    kind: fc.constant('msg' as const),
    // 0: interest delivery; small sids may hit a subscription the listener advertised.
    sid: fc.integer({ min: 0, max: 4 }),
    qos: fc.constantFrom(0 as const, 1 as const),
    id: fc.nat(),
    attempt: fc.integer({ min: 1, max: 10 }),
    hops: fc.nat(10),
    ttlMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60_000 })),
    env: envelopeArb
  }),
  fc.record({
    kind: fc.constant('pub' as const),
    pubId: fc.nat(1000),
    qos: fc.constantFrom(0 as const, 1 as const),
    retain: fc.boolean(),
    ttlMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60_000 })),
    env: envelopeArb
  }),
  fc.record({ kind: fc.constant('ack' as const), tags: fc.array(fc.nat(1000), { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('nack' as const), tag: fc.nat(1000), delayMs: fc.nat(100) }),
  fc.record({ kind: fc.constant('ping' as const), id: fc.nat(1000) })
);

/**
 * Encodes a HELLO and `commands` with the library's encoders, keeping the sender rules of
 * docs/protocol.md: SUB sids 1, 2, … in order; QoS 1 deliveries only to sids ≥ 1, with fresh tags.
 */
function encodeSequence(commands: readonly Command[]): Uint8Array {
  const enc = new FrameEncoder();
  enc.bytes(helloFrame());
  let sid = 0;
  let tag = 0;
  for (const c of commands) {
    switch (c.kind) {
      case 'sub': {
        const body: Record<string, unknown> = {
          sid: ++sid,
          pattern: c.pattern,
          qos: c.qos,
          queueSize: c.queueSize,
          overflow: c.overflow,
          conflate: c.conflate,
          ackTimeoutMs: 5000,
          maxAttempts: 5,
          credit: c.credit
        };
        if (c.channel !== undefined) body.channel = c.channel;
        writeControl(enc, FrameType.SUB, body);
        break;
      }
      case 'unsub':
        writeControl(enc, FrameType.UNSUB, { sid: c.sid });
        break;
      case 'interest':
        writeControl(enc, FrameType.INTEREST, { pattern: c.pattern });
        break;
      case 'uninterest':
        writeControl(enc, FrameType.UNINTEREST, { pattern: c.pattern });
        break;
      case 'msg':
        writeMsg(
          enc,
          c.env,
          c.sid,
          c.sid > 0 && c.qos === 1 ? ++tag : 0,
          c.id,
          c.attempt,
          c.hops,
          c.ttlMs,
          undefined
        );
        break;
      case 'pub':
        // A PUB carries no reply subject (the REPLY flag is invalid there).
        writePub(
          enc,
          { ...c.env, replyTo: undefined },
          c.pubId,
          c.qos,
          c.retain,
          c.ttlMs,
          undefined
        );
        break;
      case 'ack':
        enc.begin(8);
        enc.u8(FrameType.ACK);
        enc.uint(c.tags.length);
        for (const t of c.tags) enc.uint(t);
        enc.end();
        break;
      case 'nack':
        enc.begin(8);
        enc.u8(FrameType.NACK);
        enc.uint(c.tag);
        enc.uint(c.delayMs);
        enc.end();
        break;
      case 'ping':
        enc.begin(4);
        enc.u8(FrameType.PING);
        enc.uint(c.id);
        enc.end();
        break;
    }
  }
  return enc.take();
}

/** Id of the PING that closes an uncorrupted sequence (generated PINGs stay below 1001). */
const LAST_PING = 0x7fff_fff0;

void describe('link fuzz: a live listener', () => {
  let h: ListenerHarness;
  let trap: ReturnType<typeof trapUncaught>;
  const peers: RawPeer[] = [];

  before(async () => {
    trap = trapUncaught();
    h = await ListenerHarness.open({ keepaliveMs: 0 }, (home) => {
      // Advertised by sid to every peer, so fuzzed MSG frames can address it.
      home.subscribe('f.>', () => undefined, { qos: 1 });
    });
  });

  after(async () => {
    for (const p of peers) p.destroy();
    await h.close();
    trap.uninstall();
  });

  afterEach(async () => {
    assert.deepEqual(trap.errors, [], 'no uncaught exception or unhandled rejection');
    await h.roundTrip();
    await waitFor(() => h.listener.links.length === 1, 2000, 'only the healthy link left');
    for (const e of h.errors) assert.ok(e instanceof RingbusError, `'error' got ${String(e)}`);
  });

  async function peer(): Promise<RawPeer> {
    const p = await openRawPeer(h.listener.url);
    peers.push(p);
    return p;
  }

  void it('random bytes in random chunks: never a throw, every connection closed, the healthy link unaffected', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (bytes, points) => {
          // What the listener must do on its own: a malformed stream or a complete frame (which
          // before the handshake can only be a bad one) closes the connection without our FIN.
          let complete = false;
          const oracle = new FrameDecoder(1 << 20, () => (complete = true));
          const malformed = oracle.push(bytes) !== undefined;
          const p = await peer();
          try {
            await p.writeChunks(split(bytes, points));
            await closedBy(p, !(malformed || complete));
            checkErrors(p);
            if (malformed || complete) {
              assert.ok(p.closedByServer, 'the server closed the bad connection');
              const e = p.errors().at(-1);
              assert.equal(e?.fatal, true, 'with a fatal ERROR frame');
            }
            await h.roundTrip();
          } finally {
            p.destroy();
          }
        }
      ),
      { seed: SEED, numRuns: 150 * SCALE }
    );
  });

  void it('valid frame sequences in random chunks are accepted; one corrupted byte never throws or harms the healthy link', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(commandArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.option(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), {
          nil: undefined
        }),
        async (commands, points, corruption) => {
          const wire = encodeSequence(commands);
          const p = await peer();
          try {
            if (corruption === undefined) {
              const stream = new Uint8Array([...wire, ...pingFrame(LAST_PING)]);
              await p.writeChunks(split(stream, points));
              // The PONG to the last PING proves every frame before it was handled.
              await within(
                (async () => {
                  for (;;) {
                    const pong = p
                      .frames()
                      .some((f) => f.type === FrameType.PONG && readUint(f.body) === LAST_PING);
                    if (pong) return;
                    if (p.isClosed) throw new Error(`closed: ${JSON.stringify(p.errors())}`);
                    await new Promise((r) => setImmediate(r));
                  }
                })(),
                3000,
                'the PONG'
              );
              checkErrors(p);
              const fatal = p.errors().filter((e) => e.fatal);
              assert.deepEqual(fatal, [], 'a valid sequence gets no fatal ERROR');
              await closedBy(p, true);
            } else {
              const stream = wire.slice();
              stream[corruption.at % stream.length] ^= corruption.xor;
              await p.writeChunks(split(stream, points));
              await closedBy(p, true);
              checkErrors(p);
            }
            await h.roundTrip();
          } finally {
            p.destroy();
          }
        }
      ),
      { seed: SEED, numRuns: 250 * SCALE }
    );
  });
});

/** A field integer at the start of `bytes` (test-side decoding of a PONG id). */
function readUint(bytes: Uint8Array): number {
  let value = 0;
  let weight = 1;
  for (const b of bytes) {
    value += (b & 0x7f) * weight;
    if ((b & 0x80) === 0) break;
    weight *= 0x80;
  }
  return value;
}

// --- decoder level -------------------------------------------------------------------------

/** Runs `read`; returns what it produced, or the error, which must be ERR_PROTOCOL. */
function attempt(read: () => unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: read() };
  } catch (err) {
    assert.ok(err instanceof RingbusError, `threw a non-RingbusError: ${String(err)}`);
    assert.equal(err.code, ErrorCode.PROTOCOL, err.message);
    return { error: err.message };
  }
}

/** The fields of a decoded frame, comparable with deepEqual. */
function snapshot(f: InboundFrame): unknown {
  return {
    flags: f.flags,
    sid: f.sid,
    tag: f.tag,
    id: f.id,
    attempt: f.attempt,
    hops: f.hops,
    ttlMs: f.ttlMs,
    topic: f.topic,
    payload: snapshotPayload(f.payload),
    headers: { ...f.headers },
    replyTo: f.replyTo
  };
}

/** A payload as the far side gets it: bytes, strings and undefined as they are, the rest as JSON. */
function asReceived(p: unknown): unknown {
  if (p instanceof Uint8Array || typeof p === 'string' || p === undefined) return p;
  return JSON.parse(JSON.stringify(p)) as unknown;
}

function snapshotPayload(p: unknown): unknown {
  return p instanceof Uint8Array ? ['bytes', [...p]] : p;
}

const readers: [string, (r: BodyReader) => unknown][] = [
  [
    'readMsg',
    (r) => {
      const f = new InboundFrame();
      readMsg(r, f, undefined);
      return snapshot(f);
    }
  ],
  [
    'readPub',
    (r) => {
      const f = new InboundFrame();
      readPub(r, f, undefined);
      return snapshot(f);
    }
  ],
  ['HELLO', (r) => readControl(r, helloSchema, 'HELLO')],
  ['ERROR', (r) => readControl(r, errorSchema, 'ERROR')],
  ['SUB', (r) => readControl(r, subSchema, 'SUB')],
  ['UNSUB', (r) => readControl(r, unsubSchema, 'UNSUB')],
  ['INTEREST', (r) => readControl(r, interestSchema, 'INTEREST')],
  [
    'fields',
    (r) => {
      const out: unknown[] = [];
      while (r.remaining > 0) out.push(r.uint(), r.str(), r.subject(), r.u8());
      return out;
    }
  ]
];

void describe('link fuzz: frame body readers', () => {
  void it('return or throw RingbusError ERR_PROTOCOL on random bytes, never another error', () => {
    const r = new BodyReader();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const [, read] of readers) {
          r.reset(bytes);
          attempt(() => read(r));
        }
      }),
      { seed: SEED, numRuns: 1500 * SCALE }
    );
  });

  void it('return or throw ERR_PROTOCOL on valid MSG and PUB bodies with bytes changed, cut or inserted', () => {
    const r = new BodyReader();
    const enc = new FrameEncoder();
    const editArb = fc.record({
      at: fc.nat(),
      op: fc.constantFrom('set' as const, 'cut' as const, 'insert' as const),
      byte: fc.integer({ min: 0, max: 255 })
    });
    fc.assert(
      fc.property(
        envelopeArb,
        fc.boolean(),
        fc.array(editArb, { minLength: 1, maxLength: 4 }),
        (env, isPub, edits) => {
          if (isPub) writePub(enc, { ...env, replyTo: undefined }, 7, 1, true, 100, undefined);
          else writeMsg(enc, env, 2, 9, 42, 1, 0, 100, undefined);
          const body = [...parseFrames(enc.take()).frames[0].body];
          for (const e of edits) {
            const at = e.at % (body.length + 1);
            if (e.op === 'set' && at < body.length) body[at] = e.byte;
            else if (e.op === 'cut') body.length = at;
            else body.splice(at, 0, e.byte);
          }
          r.reset(Uint8Array.from(body));
          attempt(() => (isPub ? readPub : readMsg)(r, new InboundFrame(), undefined));
        }
      ),
      { seed: SEED, numRuns: 2000 * SCALE }
    );
  });

  void it('read a body that is a range of a larger chunk exactly as the same bytes alone (no read past the end)', () => {
    const inRange = new BodyReader();
    const alone = new BodyReader();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.uint8Array({ maxLength: 16 }),
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        (body, head, tail) => {
          const chunk = new Uint8Array([...head, ...body, ...tail]);
          for (const [name, read] of readers) {
            inRange.reset(chunk, head.length, head.length + body.length);
            alone.reset(body.slice());
            assert.deepEqual(
              attempt(() => read(inRange)),
              attempt(() => read(alone)),
              name
            );
          }
        }
      ),
      { seed: SEED, numRuns: 1000 * SCALE }
    );
  });

  void it('decode what the encoders wrote, with one reader reused across frames (the topic cache never returns a stale topic)', () => {
    const r = new BodyReader();
    const enc = new FrameEncoder();
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            env: envelopeArb,
            // Near-identical topics, also non-ASCII ones, to make cache slots collide.
            mixed: fc.constantFrom('', 'é', 'ü.a', 'x'),
            isPub: fc.boolean(),
            id: fc.nat(),
            tag: fc.nat()
          }),
          { minLength: 1, maxLength: 20 }
        ),
        (frames) => {
          for (const f of frames) {
            // A PUB carries no reply subject (the REPLY flag is invalid there).
            const env = {
              ...f.env,
              topic: f.env.topic + f.mixed,
              replyTo: f.isPub ? undefined : f.env.replyTo
            };
            if (f.isPub) writePub(enc, env, f.id, 1, false, 0, undefined);
            else writeMsg(enc, env, 3, f.tag, f.id, 1, 0, 0, undefined);
            const { frames: parsed } = parseFrames(enc.take());
            assert.equal(parsed.length, 1);
            const body = parsed[0];
            r.reset(body.body);
            const into = new InboundFrame();
            if (f.isPub) readPub(r, into, undefined);
            else readMsg(r, into, undefined);
            assert.equal(into.topic, env.topic);
            assert.deepEqual({ ...into.headers }, { ...env.headers }, 'headers survive');
            assert.deepEqual(
              snapshotPayload(into.payload),
              snapshotPayload(asReceived(env.payload)),
              'payload survives'
            );
            if (!f.isPub) {
              assert.equal(into.id, f.id);
              assert.equal(into.tag, f.tag);
            }
            assert.equal(into.replyTo, f.isPub ? undefined : env.replyTo);
          }
        }
      ),
      { seed: SEED, numRuns: 400 * SCALE }
    );
  });
});
