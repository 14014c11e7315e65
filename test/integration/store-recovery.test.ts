import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import {
  Bus,
  type DropEvent,
  type Message,
  type PayloadCodec,
  RingbusError
} from '../../adapters/node.js';
import { RECORD_PREFIX_BYTES, RecordType } from '../../adapters/store/record.js';
import { nextEvent } from '../helpers/bus.js';
import {
  type RecordSpan,
  recordSpans,
  segmentFiles,
  storeBus,
  storeStats,
  tempDir
} from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

const PATTERN = 'jobs.*';
const CHANNEL = 'w';
/** The smallest segments allowed, so a few dozen messages span several files. */
const SEGMENT_BYTES = 4096;

const utf8 = new TextDecoder();

/** The payload of message `i`: its index, then padding (about ten messages per segment). */
const payloadOf = (i: number): string => `m${i}:` + 'x'.repeat(300);

function isStoreError(err: unknown): boolean {
  return err instanceof RingbusError && err.code === 'ERR_STORE';
}

describe('store recovery through the Bus', () => {
  const root = tempDir('recovery');
  after(() => root.remove());
  let dirs = 0;
  const freshDir = (): string => join(root.path, `d${dirs++}`);

  /** A bus on `dir` with the durable channel `w` on `jobs.*` (joined, or created with QoS 1). */
  function open(t: TestContext, dir: string, extra: { codec?: PayloadCodec } = {}) {
    const bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES, ...extra });
    const sub = bus.subscribe(PATTERN, { channel: CHANNEL, qos: 1 });
    return { bus, sub };
  }

  /** Publishes `count` messages to the durable channel, leaves them unacked and closes the bus. */
  async function filled(t: TestContext, count: number): Promise<string> {
    const dir = freshDir();
    const { bus } = open(t, dir);
    for (let i = 0; i < count; i++) await bus.publishAsync('jobs.a', payloadOf(i), { qos: 1 });
    await bus.close();
    return dir;
  }

  /** The payloads of the MESSAGE records of one segment file, with their spans. */
  function messagesIn(dir: string, segment: string): { span: RecordSpan; payload: string }[] {
    return recordSpans(join(dir, segment)).flatMap((span) =>
      span.record.type === RecordType.MESSAGE
        ? [{ span, payload: utf8.decode(span.record.payload) }]
        : []
    );
  }

  /** Every payload the channel holds after a restart, in delivery order. */
  async function recoveredPayloads(t: TestContext, dir: string) {
    const { bus, sub } = open(t, dir);
    const messages = await sub.pull(1024);
    return { bus, payloads: messages.map((m) => m.payload as string) };
  }

  const all = (count: number): string[] => Array.from({ length: count }, (_, i) => payloadOf(i));

  it('a clean restart brings every unacked message back, in order', async (t) => {
    const dir = await filled(t, 40);
    assert.ok(segmentFiles(dir).length >= 3, 'the messages span several segments');
    const { bus, payloads } = await recoveredPayloads(t, dir);
    assert.deepEqual(payloads, all(40));
    const recovery = storeStats(bus).recovery;
    assert.equal(recovery.channels, 1);
    assert.equal(recovery.messages, 40);
    assert.equal(recovery.truncatedBytes, 0);
    assert.deepEqual(recovery.damaged, []);
  });

  for (const [where, into] of [
    ['inside the prefix', (_span: RecordSpan) => RECORD_PREFIX_BYTES - 5],
    ['inside the body', (span: RecordSpan) => span.bytes - 7]
  ] as const) {
    it(`(a) a last segment cut ${where} of its last record is truncated; the rest comes back`, async (t) => {
      const dir = await filled(t, 40);
      const last = segmentFiles(dir).at(-1)!;
      const path = join(dir, last);
      const lastSpan = recordSpans(path).at(-1)!;
      assert.equal(lastSpan.record.type, RecordType.MESSAGE);
      const cut = lastSpan.offset + into(lastSpan);
      truncateSync(path, cut);

      const { bus, payloads } = await recoveredPayloads(t, dir);
      const recovery = storeStats(bus).recovery;
      assert.equal(recovery.truncatedBytes, cut - lastSpan.offset);
      assert.deepEqual(recovery.damaged, []);
      assert.equal(statSync(path).size, lastSpan.offset, 'the torn record was cut off');
      assert.deepEqual(payloads, all(39), 'every message but the torn one');
    });
  }

  /**
   * Damages one record of a segment of a 40-message store, restarts, and checks the documented
   * outcome: the damage is reported, that segment replays up to the damaged record only, every
   * other segment replays in full, and the damaged file is kept as it is.
   */
  async function damagedRecord(
    t: TestContext,
    pick: (segments: string[]) => string,
    damage: (bytes: Buffer, span: RecordSpan) => void,
    reason: string
  ): Promise<void> {
    const dir = await filled(t, 40);
    const segments = segmentFiles(dir);
    assert.ok(segments.length >= 3);
    const segment = pick(segments);
    const messages = messagesIn(dir, segment);
    const hit = Math.floor(messages.length / 2); // a middle record, not the segment's last
    const target = messages[hit];
    const path = join(dir, segment);
    const bytes = readFileSync(path);
    damage(bytes, target.span);
    writeFileSync(path, bytes);

    const { bus, payloads } = await recoveredPayloads(t, dir);
    const recovery = storeStats(bus).recovery;
    assert.deepEqual(recovery.damaged, [{ segment, offset: target.span.offset, reason }]);
    assert.equal(recovery.truncatedBytes, 0, 'damage is not a torn tail');
    const lost = new Set(messages.slice(hit).map((m) => m.payload));
    assert.deepEqual(
      payloads,
      all(40).filter((p) => !lost.has(p)),
      'the messages before the damaged record and every other segment, nothing else'
    );
    const later = segments.slice(segments.indexOf(segment) + 1);
    for (const s of later)
      for (const m of messagesIn(dir, s)) assert.ok(payloads.includes(m.payload));
    assert.deepEqual(readFileSync(path), bytes, 'the damaged segment is kept untouched');
  }

  it('(b) a flipped bit in a middle payload: reported damaged, that segment stops there', async (t) => {
    await damagedRecord(
      t,
      (segments) => segments[1],
      (bytes, span) => void (bytes[span.offset + span.bytes - 3] ^= 0x04),
      'checksum mismatch'
    );
  });

  it('(c) a flipped bit in a length: reported damaged, not taken for a torn tail', async (t) => {
    await damagedRecord(
      t,
      (segments) => segments[1],
      (bytes, span) => void (bytes[span.offset + 1] ^= 0x01),
      'record length and its complement disagree'
    );
  });

  it('(c) a flipped length bit in the last segment is damage too: nothing is truncated', async (t) => {
    // Read as a torn tail, the last segment would be cut at that record and the records after
    // it (which the bus had acknowledged as durable) silently dropped.
    await damagedRecord(
      t,
      (segments) => segments.at(-1)!,
      (bytes, span) => void (bytes[span.offset + 3] ^= 0x40),
      'record length and its complement disagree'
    );
  });

  it('(d) a zeroed segment header: that segment is reported damaged and skipped', async (t) => {
    const dir = await filled(t, 40);
    const segments = segmentFiles(dir);
    const segment = segments[1];
    const skipped = new Set(messagesIn(dir, segment).map((m) => m.payload));
    const path = join(dir, segment);
    const bytes = readFileSync(path);
    bytes.fill(0, 0, 16);
    writeFileSync(path, bytes);

    const { bus, payloads } = await recoveredPayloads(t, dir);
    assert.deepEqual(storeStats(bus).recovery.damaged, [
      { segment, offset: 0, reason: 'no RBWL magic' }
    ]);
    assert.deepEqual(
      payloads,
      all(40).filter((p) => !skipped.has(p))
    );
  });

  it('(d) a zeroed header of the oldest segment: the channel is rebuilt from the next one', async (t) => {
    const dir = await filled(t, 40);
    const [oldest] = segmentFiles(dir);
    const skipped = new Set(messagesIn(dir, oldest).map((m) => m.payload));
    const path = join(dir, oldest);
    const bytes = readFileSync(path);
    bytes.fill(0, 0, 16);
    writeFileSync(path, bytes);

    const { bus, payloads } = await recoveredPayloads(t, dir);
    assert.deepEqual(storeStats(bus).recovery.damaged, [
      { segment: oldest, offset: 0, reason: 'no RBWL magic' }
    ]);
    assert.equal(storeStats(bus).recovery.channels, 1);
    assert.deepEqual(
      payloads,
      all(40).filter((p) => !skipped.has(p))
    );
    // Holding no live message, it leaves the log once it is the oldest: kept aside, not deleted.
    await bus.close();
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(`${path}.damaged`), true);
  });

  it('one bus per directory: a second one fails with ERR_STORE naming the process', async (t) => {
    const dir = freshDir();
    const first = storeBus(t, dir);
    assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), String(process.pid));
    assert.throws(
      () => new Bus({ store: { dir } }),
      (err: unknown) =>
        isStoreError(err) && String(err).includes(`in use by process ${process.pid}`)
    );
    await first.close();
    assert.equal(existsSync(join(dir, 'LOCK')), false, 'close releases the lock');
    const second = storeBus(t, dir);
    assert.equal(storeStats(second).failure, null);
    await second.close();
  });

  it('a LOCK left by a process that is gone is taken over', async (t) => {
    const dir = freshDir();
    mkdirSync(dir);
    const exited = spawnSync(process.execPath, ['-e', '']);
    assert.equal(exited.status, 0);
    assert.ok(exited.pid !== undefined && exited.pid > 0);
    for (const stale of [String(exited.pid), 'not a pid']) {
      writeFileSync(join(dir, 'LOCK'), stale);
      const bus = storeBus(t, dir);
      assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), String(process.pid));
      await bus.close();
    }
  });

  it('refuses bad store options with ERR_INVALID_OPTIONS naming the field, touching no disk', () => {
    const dir = freshDir();
    for (const [store, message] of [
      [{}, /store\.dir must be a directory path \(got undefined\)/],
      [{ dir: '' }, /store\.dir must be a directory path/],
      [{ dir, fsync: 'sometimes' }, /store\.fsync must be 'always', 'batch' or 'never'/],
      [
        { dir, segmentBytes: 4095 },
        /store\.segmentBytes must be an integer in \[4096, 1073741824\]/
      ],
      [{ dir, segmentBytes: 2 ** 30 + 1 }, /store\.segmentBytes must be an integer/],
      [{ dir, segmentBytes: 5000.5 }, /store\.segmentBytes must be an integer/],
      [{ dir, fsyncIntervalMs: -1 }, /store\.fsyncIntervalMs must be an integer/],
      [{ dir, codec: { encode: 1 } }, /store\.codec must have encode/],
      [{ dir, fsyncMs: 5 }, /store has unknown option\(s\) 'fsyncMs'/]
    ] as const) {
      assert.throws(
        () => new Bus({ store: store as never }),
        (err: unknown) => {
          assert.ok(err instanceof RingbusError);
          assert.equal(err.code, 'ERR_INVALID_OPTIONS');
          assert.match(err.message, message);
          return true;
        },
        JSON.stringify(store)
      );
    }
    assert.equal(existsSync(dir), false);
  });

  it('keeps the attempt across restarts: nacks count, a crash does not', async (t) => {
    const dir = freshDir();
    let { bus, sub } = open(t, dir);
    await bus.publishAsync('jobs.a', 'nacked', { qos: 1 });
    await bus.publishAsync('jobs.a', 'in flight', { qos: 1 });
    const first = await sub.pull(10);
    assert.deepEqual(
      first.map((m) => [m.payload, m.attempt]),
      [
        ['nacked', 1],
        ['in flight', 1]
      ]
    );
    assert.ok(first[0].nack());
    const [again] = await sub.pull(1);
    assert.deepEqual([again.payload, again.attempt], ['nacked', 2]);
    assert.ok(again.nack()); // its next delivery is attempt 3
    await bus.close();

    ({ bus, sub } = open(t, dir));
    const back = await sub.pull(10);
    assert.deepEqual(
      back.map((m) => [m.payload, m.attempt]),
      [
        ['nacked', 3],
        ['in flight', 1]
      ]
    );
    assert.deepEqual(
      back.map((m) => m.id),
      first.map((m) => m.id)
    );
    assert.ok(back[0].nack()); // a NACK on top of a recovered message
    assert.ok(back[1].ack());
    await bus.close();

    ({ bus, sub } = open(t, dir));
    const third = await sub.pull(10);
    assert.deepEqual(
      third.map((m) => [m.payload, m.attempt]),
      [['nacked', 4]]
    );
    // New publishes continue after the recovered ids.
    await bus.publishAsync('jobs.a', 'new', { qos: 1 });
    const [fresh] = await sub.pull(1);
    assert.ok(fresh.id > first[1].id);
  });

  it('does not deliver a message whose TTL ran out while the bus was down', async (t) => {
    const dir = freshDir();
    let { bus, sub } = open(t, dir);
    await bus.publishAsync('jobs.a', 'forever', { qos: 1 });
    await bus.publishAsync('jobs.a', 'short', { qos: 1, ttlMs: 1 });
    await bus.publishAsync('jobs.a', 'long', { qos: 1, ttlMs: 3_600_000 });
    const published = Date.now();
    await bus.close();
    // The deadline of 'short' is at most published + 1: wait until it has certainly passed.
    await waitFor(() => Date.now() > published + 1, 1000, 'the 1 ms TTL to run out');

    ({ bus, sub } = open(t, dir));
    assert.equal(storeStats(bus).recovery.messages, 3, "the log still held 'short'");
    const dropped = nextEvent(bus, 'drop');
    const got = await sub.pull(10);
    assert.deepEqual(
      got.map((m) => m.payload),
      ['forever', 'long']
    );
    const drop: DropEvent = await dropped;
    assert.equal(drop.reason, 'expired');
    assert.equal(drop.message.payload, 'short');
  });

  it('keeps topic, headers, publishedAt and every payload kind across a restart', async (t) => {
    const dir = freshDir();
    const payloads: unknown[] = [
      Uint8Array.from([0, 1, 127, 128, 255]),
      'text é ✓ 𝄞',
      '',
      { a: [1, 'b', null], n: 1.5, nested: { t: true } },
      [1, 2, 3],
      42,
      null,
      undefined
    ];
    let { bus, sub } = open(t, dir);
    for (const [i, payload] of payloads.entries()) {
      await bus.publishAsync(`jobs.k${i}`, payload, {
        qos: 1,
        headers: i % 2 === 0 ? { trace: `t-${i}`, 'x-é': '✓', empty: '' } : {}
      });
    }
    const before = await sub.pull(100); // delivered, never acked: they come back
    await bus.close();

    ({ bus, sub } = open(t, dir));
    const after = await sub.pull(100);
    assert.deepEqual(after.map(fields), before.map(fields));
    assert.deepEqual(
      after.map((m) => m.payload),
      payloads
    );
    assert.ok(after[0].payload instanceof Uint8Array);
    assert.equal(after.at(-1)!.payload, undefined);
  });

  it('keeps payloads encoded with a user codec across a restart', async (t) => {
    const dir = freshDir();
    // A codec for Map payloads (JSON would turn a Map into {}).
    const codec: PayloadCodec = {
      encode: (value) =>
        new TextEncoder().encode(JSON.stringify([...(value as Map<string, number>)])),
      decode: (bytes) => new Map(JSON.parse(utf8.decode(bytes)) as [string, number][])
    };
    let { bus, sub } = open(t, dir, { codec });
    const map = new Map([
      ['a', 1],
      ['b', 2]
    ]);
    await bus.publishAsync('jobs.map', map, { qos: 1 });
    await bus.publishAsync('jobs.bytes', Uint8Array.from([9]), { qos: 1 });
    await bus.publishAsync('jobs.text', 'still a string', { qos: 1 });
    await bus.close();

    ({ bus, sub } = open(t, dir, { codec }));
    const got = await sub.pull(10);
    assert.deepEqual(
      got.map((m) => m.payload),
      [map, Uint8Array.from([9]), 'still a string']
    );
    assert.ok(got[0].payload instanceof Map);
  });

  it('a deleted channel stays deleted after a restart', async (t) => {
    const dir = freshDir();
    let { bus } = open(t, dir);
    const keep = bus.subscribe(PATTERN, { channel: 'keep', qos: 1 });
    for (let i = 0; i < 3; i++) await bus.publishAsync('jobs.a', `m${i}`, { qos: 1 });
    assert.equal(bus.channel(PATTERN, CHANNEL).delete(), true);
    await bus.publishAsync('jobs.a', 'after the delete', { qos: 1 });
    assert.equal((await keep.pull(10)).length, 4);
    await bus.close();

    bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES });
    assert.equal(bus.channel(PATTERN, CHANNEL).exists, false);
    assert.equal(bus.channel(PATTERN, 'keep').depth, 4);
    const recovery = storeStats(bus).recovery;
    assert.equal(recovery.channels, 1);
    assert.equal(recovery.messages, 4);
    // Created again, it starts empty: the old messages went with the deleted channel.
    const again = bus.subscribe(PATTERN, { channel: CHANNEL, qos: 1 });
    assert.deepEqual(await again.pull(10), []);
  });

  it('a channel deleted and created again keeps only what came after', async (t) => {
    const dir = freshDir();
    const { bus } = open(t, dir);
    await bus.publishAsync('jobs.a', 'old', { qos: 1 });
    assert.equal(bus.channel(PATTERN, CHANNEL).delete(), true);
    bus.subscribe(PATTERN, { channel: CHANNEL, qos: 1 });
    await bus.publishAsync('jobs.a', 'new', { qos: 1 });
    await bus.close();

    const { sub } = open(t, dir);
    assert.deepEqual(
      (await sub.pull(10)).map((m) => m.payload),
      ['new']
    );
  });

  it('dead letters into a durable $dlq.> channel survive a restart', async (t) => {
    const dir = freshDir();
    let bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES });
    bus.subscribe('$dlq.>', { channel: 'dlq', qos: 1 });
    const sub = bus.subscribe(PATTERN, { channel: CHANNEL, qos: 1, maxAttempts: 1 });
    await bus.publishAsync('jobs.a', 'poison', { qos: 1, headers: { k: 'v' } });
    const [m] = await sub.pull(1);
    const dead = nextEvent(bus, 'dead-letter');
    assert.ok(m.nack());
    assert.equal((await dead).deadLetterTopic, '$dlq.jobs.a');
    await bus.close(); // nobody waited for the dead letter's commit: close writes it

    bus = storeBus(t, dir, { segmentBytes: SEGMENT_BYTES });
    assert.equal(bus.channel(PATTERN, CHANNEL).depth, 0, 'it left the work channel for good');
    const dlq = bus.subscribe('$dlq.>', { channel: 'dlq' });
    const got = await dlq.pull(10);
    assert.deepEqual(
      got.map((d) => [d.topic, d.payload, d.headers]),
      [['$dlq.jobs.a', 'poison', { k: 'v' }]]
    );
  });
});

/** What must survive a restart unchanged. */
function fields(m: Message) {
  return {
    id: m.id,
    topic: m.topic,
    headers: { ...m.headers },
    publishedAt: m.publishedAt,
    attempt: m.attempt
  };
}
