/**
 * Entry point of every child process of the network benchmarks: a publisher, a subscriber (one
 * or more connections) or a JavaScript broker, for one peer. The task arrives as JSON in argv;
 * the child answers the parent's requests (ipc.ts) until told to close.
 *
 * Timing: all stamps are {@link monoNs} (CLOCK_MONOTONIC, shared by every process on the
 * machine). The publisher stamps the start of a run; subscribers stamp every 64th delivery and
 * the run's LAST message, so the window ends within 63 deliveries of the true last one without a
 * clock read per message. In the paced (latency) workload every payload carries its send time.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { peerByName } from './contenders.js';
import { immediate, monoNs, sleep } from './harness.js';
import type {
  ChildTask,
  Envelope,
  ReadyMessage,
  Reply,
  Request,
  SendReport,
  SubscriberStats
} from './ipc.js';
import {
  KIND_OFFSET,
  Kind,
  MIN_PAYLOAD_BYTES,
  type NetPeer,
  type OnMessage,
  type Publisher,
  STAMP_OFFSET,
  type Subscriber
} from './peer.js';

const PROBE_INTERVAL_MS = 20;
/** Payload bytes a publisher sends per batch before it yields to the event loop. */
const BATCH_BYTES = 64 * 1024;
const MIN_BATCH = 16;
/** Subscribers read the clock on deliveries whose count has these bits clear. */
const STAMP_MASK = 63;
const PRIMED_TIMEOUT_MS = 10_000;
/** A child whose parent's clock reads this far off is not sharing the clock. */
const MAX_CLOCK_SKEW_NS = 60e9;

type Handler = (r: Request) => Promise<SendReport | SubscriberStats | null>;

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Set by {@link startProfiler}: stops it and writes the profile (before the reply to `close`). */
let stopProfiler: (() => Promise<void>) | undefined;

/**
 * RINGBUS_NET_CPU_PROFILE=<dir>: every child records a V8 CPU profile from start to `close` and
 * writes it to <dir>/<peer>-<role>-<pid>.cpuprofile (open in Chrome DevTools). `--cpu-prof` does
 * not work here: the parent stops children with a signal right after they reply to `close`.
 */
async function startProfiler(task: ChildTask): Promise<void> {
  const dir = process.env.RINGBUS_NET_CPU_PROFILE;
  if (dir === undefined || dir === '') return;
  const session = new Session();
  session.connect();
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  stopProfiler = async () => {
    stopProfiler = undefined;
    const { profile } = await session.post('Profiler.stop');
    const file = path.join(dir, `${task.peer}-${task.role}-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Answers every request with exactly one reply; exits after replying to `close`. */
function serve(handle: Handler): void {
  process.on('message', (m: Envelope) => {
    const handled =
      m.type === 'close'
        ? handle(m).then(async (v) => {
            await stopProfiler?.();
            return v;
          })
        : handle(m);
    handled.then(
      (value) => {
        const r: Reply = { id: m.id, ok: true, value };
        process.send!(r, () => {
          if (m.type === 'close') process.exit(0);
        });
      },
      (err: unknown) => {
        const r: Reply = { id: m.id, ok: false, error: errorText(err) };
        process.send!(r);
      }
    );
  });
}

function ready(m: ReadyMessage): void {
  process.send!(m);
}

function notFor(role: string, r: Request): never {
  throw new Error(`a ${role} cannot handle '${r.type}'`);
}

/** A payload of `bytes` bytes (filler 0xab) of the given kind. */
function makePayload(bytes: number, kind: Kind): Buffer {
  const p = Buffer.alloc(Math.max(bytes, MIN_PAYLOAD_BYTES), 0xab);
  p.writeDoubleLE(0, STAMP_OFFSET);
  p[KIND_OFFSET] = kind;
  return p;
}

async function sendOne(pub: Publisher, payload: Buffer): Promise<void> {
  if (!pub.send(payload)) await pub.drain();
}

/** Sends a PROBE every few ms while on, one at a time, so subscribers can tell they are wired. */
class Prober {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void>;
  private isBusy: boolean;

  constructor(
    private readonly pub: Publisher,
    private readonly probe: Buffer
  ) {
    this.timer = undefined;
    this.inFlight = Promise.resolve();
    this.isBusy = false;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), PROBE_INTERVAL_MS);
    this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private tick(): void {
    if (this.isBusy) return;
    this.isBusy = true;
    this.inFlight = sendOne(this.pub, this.probe).finally(() => (this.isBusy = false));
  }
}

/**
 * Sends as fast as the peer's flow control allows for `durationMs` or until `maxMessages` are
 * sent, then one LAST message.
 */
async function flood(
  pub: Publisher,
  bytes: number,
  durationMs: number,
  maxMessages: number
): Promise<SendReport> {
  const data = makePayload(bytes, Kind.DATA);
  const last = makePayload(bytes, Kind.LAST);
  const batch = Math.max(MIN_BATCH, Math.floor(BATCH_BYTES / data.length));
  const startNs = monoNs();
  const deadline = startNs + durationMs * 1e6;
  let sent = 0;
  do {
    const end = Math.min(maxMessages, sent + batch);
    while (sent < end) {
      sent++;
      if (!pub.send(data)) await pub.drain();
    }
    await immediate(); // let I/O (acks, drains, the raw-net microtask flush) run
  } while (sent < maxMessages && monoNs() < deadline);
  await sendOne(pub, last);
  sent++;
  const endNs = monoNs();
  await pub.flush();
  return { sent, startNs, endNs };
}

/**
 * Sends `ratePerSec` messages per second for `durationMs`: every ~1 ms timer tick sends the
 * messages that have come due, each stamped with the clock just before its own send call.
 * Payloads are fresh buffers because peers may still hold the previous ones.
 */
async function paced(
  pub: Publisher,
  bytes: number,
  ratePerSec: number,
  durationMs: number
): Promise<SendReport> {
  const template = makePayload(bytes, Kind.DATA);
  const total = Math.round((ratePerSec * durationMs) / 1000);
  const nsPerMsg = 1e9 / ratePerSec;
  const startNs = monoNs();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((monoNs() - startNs) / nsPerMsg) + 1);
    while (sent < due) {
      const p = Buffer.from(template);
      if (sent === total - 1) p[KIND_OFFSET] = Kind.LAST;
      p.writeDoubleLE(monoNs(), STAMP_OFFSET);
      sent++;
      if (!pub.send(p)) await pub.drain();
    }
    await sleep(1);
  }
  const endNs = monoNs();
  await pub.flush();
  return { sent, startNs, endNs };
}

async function runPublisher(peer: NetPeer, task: ChildTask): Promise<void> {
  const pub = await peer.openPublisher(task.endpoint!, task.qos);
  const prober = new Prober(pub, makePayload(task.payloadBytes, Kind.PROBE));
  serve(async (r) => {
    switch (r.type) {
      case 'probe':
        if (r.on) prober.start();
        else await prober.stop();
        return null;
      case 'flood':
        return flood(pub, task.payloadBytes, r.durationMs, r.maxMessages);
      case 'paced':
        return paced(pub, task.payloadBytes, r.ratePerSec, r.durationMs);
      case 'close':
        await prober.stop();
        await pub.close();
        return null;
      case 'primed':
      case 'reset':
      case 'stats':
        return notFor('publisher', r);
    }
  });
  ready({ type: 'ready', endpoint: pub.endpoint });
}

/** Counters shared by all connections of one subscriber child. */
class Tally {
  received: number;
  lastNs: number;
  samples: Float64Array;
  sampleCount: number;

  constructor() {
    this.received = 0;
    this.lastNs = 0;
    this.samples = new Float64Array(0);
    this.sampleCount = 0;
  }

  reset(samples: number): void {
    this.received = 0;
    this.lastNs = 0;
    this.samples = new Float64Array(samples);
    this.sampleCount = 0;
  }

  stats(withSamples: boolean): SubscriberStats {
    const s: SubscriberStats = { received: this.received, lastNs: this.lastNs };
    if (withSamples) s.samples = Array.from(this.samples.subarray(0, this.sampleCount));
    return s;
  }
}

/** One connection's message handler: probes prime it, everything else counts. */
function inbox(tally: Tally, state: { isPrimed: boolean }): OnMessage {
  return (p) => {
    const kind = p[KIND_OFFSET];
    if (kind === Kind.PROBE) {
      state.isPrimed = true;
      return;
    }
    const n = ++tally.received;
    if ((n & STAMP_MASK) === 0 || kind === Kind.LAST) tally.lastNs = monoNs();
    if (tally.sampleCount < tally.samples.length) {
      const sentNs = new DataView(p.buffer, p.byteOffset, p.byteLength).getFloat64(
        STAMP_OFFSET,
        true
      );
      tally.samples[tally.sampleCount++] = monoNs() - sentNs;
    }
  };
}

async function runSubscriber(peer: NetPeer, task: ChildTask): Promise<void> {
  const tally = new Tally();
  const states = Array.from({ length: task.connections }, () => ({ isPrimed: false }));
  const subs: Subscriber[] = await Promise.all(
    states.map((s) => peer.openSubscriber(task.endpoint!, task.qos, inbox(tally, s)))
  );
  serve(async (r) => {
    switch (r.type) {
      case 'primed': {
        const deadline = Date.now() + PRIMED_TIMEOUT_MS;
        while (!states.every((s) => s.isPrimed)) {
          if (Date.now() > deadline) {
            const n = states.filter((s) => s.isPrimed).length;
            throw new Error(`${n} of ${states.length} connections saw a probe`);
          }
          await sleep(10);
        }
        return null;
      }
      case 'reset':
        tally.reset(r.samples);
        return null;
      case 'stats':
        return tally.stats(r.withSamples);
      case 'close':
        await Promise.all(subs.map((s) => s.close()));
        return null;
      case 'probe':
      case 'flood':
      case 'paced':
        return notFor('subscriber', r);
    }
  });
  ready({ type: 'ready' });
}

async function runBroker(peer: NetPeer): Promise<void> {
  if (peer.serveBroker === undefined) throw new Error(`${peer.name} has no JavaScript broker`);
  const broker = await peer.serveBroker();
  serve(async (r) => {
    if (r.type !== 'close') return notFor('broker', r);
    await broker.close();
    return null;
  });
  ready({ type: 'ready', endpoint: { host: '127.0.0.1', port: broker.port } });
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2]) as ChildTask;
  setTimeout(() => {
    console.error(`${task.peer} ${task.role}: lifetime of ${task.lifetimeMs} ms exceeded`);
    process.exit(3);
  }, task.lifetimeMs).unref();
  process.on('disconnect', () => process.exit(0)); // the parent is gone
  const skewNs = monoNs() - task.parentNs;
  if (!(skewNs >= 0 && skewNs < MAX_CLOCK_SKEW_NS)) {
    throw new Error(`process.hrtime is not shared with the parent (child − parent = ${skewNs} ns)`);
  }
  const peer = peerByName(task.peer);
  await startProfiler(task);
  switch (task.role) {
    case 'publisher':
      return runPublisher(peer, task);
    case 'subscriber':
      return runSubscriber(peer, task);
    case 'broker':
      return runBroker(peer);
  }
}

main().catch((err: unknown) => {
  console.error(errorText(err));
  process.exit(1);
});
