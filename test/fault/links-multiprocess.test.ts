import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Bus } from '../../adapters/node.js';
import { nextEvent } from '../helpers/bus.js';
import { trapUncaught } from '../helpers/raw-peer.js';
import { waitFor, within } from '../helpers/wait.js';

/**
 * Links across real processes (test/fault/fixtures/*, compiled next to this file): a QoS 1 consumer
 * killed with SIGKILL loses nothing, a listener killed and restarted on the same Unix socket path
 * gets its client back by itself, and a peer that stops reading keeps the publisher's memory
 * bounded. Every child is ours, killed by its pid and awaited.
 */

interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

/** A forked fixture with its IPC messages kept in order. */
class Fixture {
  readonly messages: ChildMessage[] = [];
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  constructor(name: string, args: string[], execArgv: string[] = []) {
    const file = fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
    this.child = fork(file, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: ChildMessage) => this.messages.push(m));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first message of `type` (bounded). */
  async next(type: string, timeoutMs = 10_000): Promise<ChildMessage> {
    let found: ChildMessage | undefined;
    await waitFor(
      () => (found = this.messages.find((m) => m.type === type)) !== undefined,
      timeoutMs,
      `a '${type}' message from the child (pid ${this.child.pid})`
    );
    return found!;
  }

  send(message: object): void {
    this.child.send(message);
  }

  /** SIGKILL to this child's pid, and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.isRunning) this.child.kill('SIGKILL');
    await within(this.exited, 10_000, `child ${this.child.pid} exiting`);
  }
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap and external bytes in use after full collections, and the resident set. */
function memoryAfterGc(): { heap: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

const MB = 1024 * 1024;

void describe('links across processes', () => {
  let trap: ReturnType<typeof trapUncaught>;
  const children: Fixture[] = [];
  const buses: Bus[] = [];
  const socketPaths: string[] = [];

  function spawn(name: string, args: string[], execArgv?: string[]): Fixture {
    const child = new Fixture(name, args, execArgv);
    children.push(child);
    return child;
  }

  function bus(): Bus {
    const b = new Bus();
    buses.push(b);
    return b;
  }

  before(() => {
    trap = trapUncaught();
  });

  afterEach(async () => {
    // Children first: a listener's close waits for its connections, which they hold.
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await Promise.all(buses.splice(0).map((b) => b.close()));
    for (const path of socketPaths.splice(0)) if (existsSync(path)) unlinkSync(path);
    assert.deepEqual(trap.errors, [], 'no uncaught exception or unhandled rejection');
  });

  after(() => trap.uninstall());

  void it('loses no QoS 1 message when a consumer is killed with SIGKILL mid-stream: its unacked ones go to the next consumer', async (t) => {
    const N = 2000;
    const home = bus();
    let deadLetters = 0;
    home.on('dead-letter', () => deadLetters++);
    const listener = await home.listen('tcp://127.0.0.1:0');

    // A acks one message every 2 ms, so it dies with many delivered but unacked.
    const a = spawn('qos1-consumer', [listener.url, '2']);
    await a.next('ready');
    const ackedByA = (): Set<number> =>
      new Set(a.messages.filter((m) => m.type === 'acking').map((m) => m.n as number));

    const published: number[] = [];
    const publishing = (async () => {
      for (let n = 0; n < N; n++) {
        await home.publishAsync('work', { n }, { qos: 1 });
        published.push(n);
      }
    })();

    await waitFor(() => ackedByA().size >= 200, 10_000, 'A acking 200 messages');
    const down = nextEvent(home, 'link-down');
    await a.kill();
    await within(down, 5000, "the home bus's link-down for A");
    const aAcked = ackedByA();
    assert.ok(aAcked.size < N, `A acked ${aAcked.size} of ${N} before it was killed`);

    const b = spawn('qos1-consumer', [listener.url, '0']);
    await b.next('ready');
    await within(publishing, 15_000, 'publishing all messages');
    const byB = (): ChildMessage[] => b.messages.filter((m) => m.type === 'acking');
    await waitFor(
      () => {
        const seen = new Set([...aAcked, ...byB().map((m) => m.n as number)]);
        return published.every((n) => seen.has(n));
      },
      15_000,
      'every published id acked by A or received by B'
    );

    const union = new Set([...aAcked, ...byB().map((m) => m.n as number)]);
    assert.equal(published.length, N);
    assert.deepEqual(
      [...union].sort((x, y) => x - y),
      published,
      'acked by A before death ∪ received by B = published, nothing lost, nothing invented'
    );
    assert.ok(
      byB().some((m) => (m.attempt as number) >= 2),
      'what A held unacked was requeued (attempt + 1) and reached B'
    );
    assert.equal(deadLetters, 0, 'nothing was dead-lettered');
    t.diagnostic(
      `A acked ${aAcked.size}; B got ${byB().length}, ${byB().filter((m) => (m.attempt as number) >= 2).length} of them redelivered`
    );
  });

  void it('reconnects by itself to a listener killed with SIGKILL and restarted on the same Unix socket path, with its subscriptions', async () => {
    const path = join(tmpdir(), `ringbus-adv-${process.pid}-${Date.now()}.sock`);
    socketPaths.push(path);
    const url = `unix://${path}`;
    const first = spawn('listener-host', [url]);
    await first.next('listening');

    const client = bus();
    const got: unknown[] = [];
    client.subscribe('r.>', (msg) => void got.push(msg.payload));
    const link = await client.connect(url, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });

    const exchange = async (host: Fixture, n: number): Promise<void> => {
      host.send({ type: 'publish', topic: 'r.x', payload: n });
      await waitFor(() => got.includes(n), 5000, `r.x ${n} at the client`);
      client.publish('p.x', n);
      await waitFor(
        () => host.messages.some((m) => m.type === 'got' && m.payload === n),
        5000,
        `p.x ${n} at the listener`
      );
    };
    await exchange(first, 1);

    const down = nextEvent(client, 'link-down');
    await first.kill();
    await within(down, 5000, 'link-down after the listener died');
    assert.ok(existsSync(path), 'the dead listener left its socket file');
    assert.notEqual(link.state, 'up');

    const up = nextEvent(client, 'link-up');
    const second = spawn('listener-host', [url]);
    await second.next('listening');
    assert.equal(await within(up, 10_000, 'link-up to the new listener'), link);
    assert.equal(link.state, 'up');
    assert.equal(link.stats().reconnects, 1);
    await exchange(second, 2);
    assert.deepEqual(got, [1, 2], 'nothing duplicated or lost around the restart');
  });

  void it('keeps the publisher memory bounded and counts drops when a peer over TCP stops reading', async (t) => {
    const TOTAL = 200_000;
    const CHUNK = 1000;
    const home = bus();
    const listener = await home.listen('tcp://127.0.0.1:0');
    const child = spawn('stalled-reader', [listener.url, 'slow.>']);
    await child.next('ready');
    assert.equal(listener.links.length, 1);
    const peerLink = listener.links[0];

    const topic = home.topic('slow.data');
    const publish = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const payload = new Uint8Array(1024); // fresh each time: retention would show
        payload[0] = i & 0xff;
        topic.publish(payload);
        if ((i + 1) % CHUNK === 0) await new Promise((r) => setImmediate(r));
      }
    };
    await publish(20_000); // warm-up: socket buffers full, queue full, code optimised
    const start = memoryAfterGc();
    await publish(TOTAL);
    const end = memoryAfterGc();

    const stats = peerLink.stats();
    assert.equal(stats.state, 'up', 'the slow peer is still connected');
    assert.ok(stats.dropped > 0, 'the send queue dropped for the slow peer');
    assert.ok(stats.queued <= 8192, `queued ${stats.queued} <= sendQueueSize`);
    assert.ok(
      stats.dropped >= TOTAL / 2,
      `most of the flood was dropped (${stats.dropped} of ${TOTAL + 20_000})`
    );
    // Unbounded buffering would hold ~400 MB (1 KiB payload + 1 KiB frame per message).
    const heapGrowth = end.heap - start.heap;
    const rssGrowth = end.rss - start.rss;
    assert.ok(heapGrowth < 150 * MB, `heap + external grew by ${(heapGrowth / MB).toFixed(1)} MB`);
    assert.ok(rssGrowth < 150 * MB, `rss grew by ${(rssGrowth / MB).toFixed(1)} MB`);
    t.diagnostic(
      `dropped ${stats.dropped}, queued ${stats.queued}; heap + external ${(heapGrowth / MB).toFixed(1)} MB, rss ${(rssGrowth / MB).toFixed(1)} MB`
    );
  });
  void it('drops a peer that floods requests and never reads with ERR_LIMIT once maxPendingBytes are unread, holding no more than that', async (t) => {
    // Each refused INTEREST (17 bytes) earns a non-fatal ERROR (~125 bytes) that the peer never
    // reads. The listener runs in a process of its own (maxPendingBytes 1 MiB), so what it holds
    // is measured alone and a crash there fails this test instead of the runner.
    const MAX_PENDING = 1 * MB;
    const SLACK = 4 * MB; // one flush of answers to a 64 KiB read, and allocator noise
    const listener = spawn('limited-listener', [], ['--expose-gc']);
    const { url } = await listener.next('listening');
    spawn('request-flooder', [url as string, 'narrow', '32']);
    await waitFor(
      () => !listener.isRunning || listener.messages.some((m) => m.type === 'link-down'),
      15_000,
      'the flooding peer dropped (or the listener gone)'
    );
    assert.ok(listener.isRunning, 'the listener process survived the flood');
    const down = await listener.next('link-down');
    const { bytesIn, bytesOut, peak } = down as unknown as Record<string, number>;
    t.diagnostic(
      `read ${(bytesIn / MB).toFixed(1)} MB, wrote ${(bytesOut / MB).toFixed(1)} MB, array buffers peaked at +${(peak / MB).toFixed(1)} MB`
    );
    assert.equal(down.code, 'ERR_LIMIT', `link-down: ${String(down.code)} ${String(down.message)}`);
    assert.match(down.message as string, /maxPendingBytes/);
    assert.ok(bytesIn < 32 * MB, 'dropped before it read the whole flood');
    assert.ok(
      peak <= MAX_PENDING + SLACK,
      `the listener held ${(peak / MB).toFixed(1)} MB for a peer that reads nothing`
    );
  });
});
