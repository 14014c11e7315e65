import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Bus } from '../../adapters/node.js';
import type { FsyncPolicy } from '../../src/store.js';
import { prng } from '../helpers/prng.js';
import {
  CRASH_CHANNEL_OPTIONS,
  CRASH_PATTERN,
  type CrashMode,
  type CrashTopics,
  type PublisherArgs,
  type PublisherMessage,
  type ReceivedReport,
  crashId,
  crashPayload
} from '../helpers/store-crash.js';
import { within } from '../helpers/wait.js';

/**
 * The durable store survives SIGKILL (the crash test). A child process
 * (fixtures/store-publisher.ts) opens the store, publishes with `publishAsync` (QoS 1, 64 in
 * flight, so group commit batches them) and reports each id before it publishes it ("attempted")
 * and once its promise resolved ("resolved"). The parent kills it with SIGKILL at a seeded random
 * moment, triggered by its reports (after a random number of resolved ids, or as soon as it opened
 * the store, while its start-up writes and compaction run), and starts the next child on the same
 * directory, many times. At the end the parent opens the store itself and pulls the channel: every
 * resolved id is there (none lost), every message there was attempted by some child and arrives
 * intact (nothing invented, nothing damaged), and no id is there twice. Nothing acks in the
 * publishing variant, so there each resolved id is in the channel exactly once.
 *
 * Most trials use `fsync: 'always'`, some `'batch'` and `'never'`: a SIGKILL ends the process, not
 * the machine, so what was written to the OS survives it under every policy, and a resolved
 * publish must survive under every policy. (Power loss, which only `'always'` survives, cannot be
 * simulated by killing a process.) Segments are small, so records land in many files and segment
 * switches get killed too. A kill rarely lands inside a write system call, so torn records are
 * rare here (the diagnostic counts the bytes recovery cut); the store's unit tests tear them on
 * purpose.
 *
 * The consuming variant also acks, nacks and holds part of the backlog while publishing
 * (`consumeAction`), so ACK and NACK records interleave with the messages and compaction deletes
 * and rewrites segments. An ack is durable only once a later commit covers it: with each resolved
 * publish the child reports how many of its acks it made before that publish; those acks must
 * never be undone (their message never comes back, to a later child or at the end). An ack a kill
 * overtook may bring its message back, so an id some child reported acking counts as not lost.
 *
 * Child start-up (loading the modules) takes most of a trial, so the next trial's child is forked
 * while the current one runs and waits for its `start` message.
 */

const TRIALS = 50;
const CONSUMING_TRIALS = 30;
/** Most resolved ids a trial waits for before the kill. */
const MAX_KILL_AFTER = 400;
/** Share of trials killed as soon as the child opened the store. */
const EARLY_KILL_SHARE = 0.15;
const TRIAL_TIMEOUT_MS = 20_000;

const PUBLISHER = fileURLToPath(new URL('./fixtures/store-publisher.js', import.meta.url));

/** What every child reported, across the trials of one test. */
class Ledger {
  /** Ids some child was about to publish (a superset of what can be on disk). */
  readonly attempted = new Set<string>();
  /** Ids whose publishAsync resolved in some child: they must not be lost. */
  readonly resolved = new Set<string>();
  /** Ids some child reported it was acking (the ack may not have become durable). */
  readonly acked = new Set<string>();
  /** Ids whose ACK record a later resolved publish covered: they must never come back. */
  readonly durablyAcked = new Set<string>();
  /** Violations seen while the children ran. */
  readonly problems: string[] = [];
  readonly damaged: unknown[] = [];
  truncatedBytes = 0;
  received = 0;
  redelivered = 0;
  earlyKills = 0;
  segmentsDeleted = 0;
  segmentsRewritten = 0;
  readonly policies: Record<FsyncPolicy, number> = { always: 0, batch: 0, never: 0 };
}

interface Trial {
  args: PublisherArgs;
  /** Kill once this many ids resolved; 0: as soon as the child opened the store. */
  killAfter: number;
}

/**
 * A forked fixtures/store-publisher.js. It loads its modules at once and then waits for its
 * `start` message, so the next trial's child is spawned while the current one runs. `live` holds
 * it until it is gone, so that a failing test kills it.
 */
class PublisherChild {
  readonly process: ChildProcess;
  /** Resolves once its modules are loaded; rejects if it exits first. */
  readonly loaded: Promise<void>;
  /** Resolves once it exited and every message it sent has been emitted here. */
  readonly gone: Promise<unknown>;

  constructor(live: Set<ChildProcess>) {
    const child = fork(PUBLISHER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process = child;
    live.add(child);
    // 'disconnect' comes after the last message from the child has been emitted.
    this.gone = Promise.all([once(child, 'exit'), once(child, 'disconnect')]).finally(() =>
      live.delete(child)
    );
    this.loaded = new Promise<void>((resolve, reject) => {
      child.on('message', (m: PublisherMessage) => void (m.type === 'loaded' && resolve()));
      child.once('exit', () => reject(new Error(`child ${child.pid} exited while loading`)));
    });
    this.loaded.catch(() => undefined); // awaited (or never used) by runTrial
  }
}

/**
 * Starts `child` as trial `t`, kills it with SIGKILL at its kill point and waits until it is gone
 * and every message it sent has been read into `ledger`.
 */
async function runTrial(child: PublisherChild, t: Trial, ledger: Ledger): Promise<void> {
  const proc = child.process;
  const { trial } = t.args;
  const acks: string[] = [];
  const ackedHere = new Set<string>();
  let covered = 0;
  let resolvedHere = 0;
  let deleted = 0;
  let rewritten = 0;
  let killed = false;
  let triggered!: () => void;
  let exitedEarly!: (err: Error) => void;
  const killedAtTrigger = new Promise<void>((resolve, reject) => {
    triggered = resolve;
    exitedEarly = reject;
  });
  const kill = (): void => {
    if (killed) return;
    killed = true;
    proc.kill('SIGKILL');
    triggered();
  };
  const problem = (what: string): void => void ledger.problems.push(`trial ${trial}: ${what}`);

  const onReceived = (r: ReceivedReport): void => {
    ledger.received++;
    if (r.attempt > 1) ledger.redelivered++;
    if (!r.intact) problem(`${r.id} arrived damaged`);
    if (!ledger.attempted.has(r.id)) problem(`${r.id} arrived but was never published`);
    if (ledger.durablyAcked.has(r.id)) problem(`${r.id} came back after its ack was durable`);
    if (ackedHere.has(r.id)) problem(`${r.id} came back in the process that acked it`);
    if (r.action === 'ack') {
      acks.push(r.id);
      ackedHere.add(r.id);
      ledger.acked.add(r.id);
    }
  };

  const onMessage = (m: PublisherMessage): void => {
    switch (m.type) {
      case 'loaded':
        break;
      case 'opened':
        ledger.damaged.push(...m.recovery.damaged);
        ledger.truncatedBytes += m.recovery.truncatedBytes;
        if (t.killAfter === 0) kill();
        break;
      case 'attempting':
        for (let n = m.from; n < m.to; n++) ledger.attempted.add(crashId(trial, n));
        break;
      case 'resolved':
        for (const n of m.ns) {
          const id = crashId(trial, n);
          if (!ledger.attempted.has(id)) problem(`${id} resolved before it was reported attempted`);
          ledger.resolved.add(id);
        }
        covered = Math.max(covered, m.acksCovered);
        deleted = m.segmentsDeleted;
        rewritten = m.segmentsRewritten;
        resolvedHere += m.ns.length;
        if (t.killAfter > 0 && resolvedHere >= t.killAfter) kill();
        break;
      case 'received':
        m.messages.forEach(onReceived);
        break;
      case 'failed':
        problem(`the child failed: ${m.message}`);
        break;
    }
  };
  const onExit = (code: number | null, signal: string | null): void => {
    if (killed) return;
    const why = `${code ?? signal}; ${ledger.problems.join('; ')}`;
    exitedEarly(new Error(`trial ${trial}: the child exited by itself (${why})`));
  };

  try {
    await within(child.loaded, TRIAL_TIMEOUT_MS, `trial ${trial}'s child loading`);
    proc.on('message', onMessage);
    proc.once('exit', onExit);
    proc.send({ type: 'start', args: t.args });
    await within(killedAtTrigger, TRIAL_TIMEOUT_MS, `trial ${trial} reaching its kill point`);
  } finally {
    if (!killed) proc.kill('SIGKILL');
    await within(child.gone, TRIAL_TIMEOUT_MS, `child ${proc.pid} (trial ${trial}) exiting`);
  }
  for (const id of acks.slice(0, covered)) ledger.durablyAcked.add(id);
  ledger.segmentsDeleted += deleted;
  ledger.segmentsRewritten += rewritten;
}

/**
 * Every message of the durable channel, pulled (not acked) by a bus opened in this process once
 * the last child is dead.
 */
async function drain(
  dir: string,
  segmentBytes: number
): Promise<{
  messages: { id: string; intact: boolean }[];
  recovered: number;
  damaged: unknown[];
}> {
  const bus = new Bus<CrashTopics>({ store: { dir, fsync: 'always', segmentBytes } });
  try {
    const { recovery } = bus.stats().store!;
    const sub = bus.subscribe(CRASH_PATTERN, CRASH_CHANNEL_OPTIONS);
    const messages: { id: string; intact: boolean }[] = [];
    for (;;) {
      const batch = await sub.pull(4096);
      if (batch.length === 0) break;
      for (const msg of batch) {
        const id = msg.payload.id;
        const intact = isDeepStrictEqual(msg.payload, crashPayload(id)) && msg.headers.id === id;
        messages.push({ id, intact });
      }
    }
    return { messages, recovered: recovery.messages, damaged: recovery.damaged };
  } finally {
    await within(bus.close(), TRIAL_TIMEOUT_MS, 'closing the bus that drained the store');
  }
}

function pickPolicy(r: number): FsyncPolicy {
  if (r < 0.7) return 'always';
  return r < 0.85 ? 'batch' : 'never';
}

/** The whole crash test of one mode: trials, then the final check; returns a summary. */
async function crashTest(
  mode: CrashMode,
  trials: number,
  seed: number,
  segmentBytes: number,
  live: Set<ChildProcess>
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ringbus-crash-'));
  try {
    const rng = prng(seed);
    const ledger = new Ledger();
    const started = Date.now();
    let standby = new PublisherChild(live);
    for (let trial = 0; trial < trials; trial++) {
      const fsync = pickPolicy(rng());
      const early = rng() < EARLY_KILL_SHARE;
      const killAfter = early ? 0 : 1 + Math.floor(rng() * MAX_KILL_AFTER);
      ledger.policies[fsync]++;
      if (early) ledger.earlyKills++;
      const child = standby;
      if (trial + 1 < trials) standby = new PublisherChild(live);
      const args = { dir, trial, fsync, segmentBytes, mode };
      await runTrial(child, { args, killAfter }, ledger);
    }
    const trialsMs = Date.now() - started;

    assert.deepEqual(ledger.problems, [], 'nothing went wrong while the children ran');
    const end = await drain(dir, segmentBytes);
    const segments = readdirSync(dir).filter((f) => f.endsWith('.rbwl')).length;
    assert.deepEqual([...ledger.damaged, ...end.damaged], [], 'no recovery found a damaged record');

    const seen = new Map<string, number>();
    for (const m of end.messages) seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
    const twice = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
    assert.deepEqual(twice, [], 'no message is in the channel twice');
    assert.equal(end.recovered, end.messages.length, 'every recovered message was delivered');

    const invented = end.messages.filter((m) => !ledger.attempted.has(m.id)).map((m) => m.id);
    assert.deepEqual(invented, [], 'every delivered id was published by some child');
    const damaged = end.messages.filter((m) => !m.intact).map((m) => m.id);
    assert.deepEqual(damaged, [], 'every payload and header arrived intact');
    const undone = end.messages.filter((m) => ledger.durablyAcked.has(m.id)).map((m) => m.id);
    assert.deepEqual(undone, [], 'no message whose ack was durable came back');

    // None lost: each resolved id is still in the channel, or some child reported acking it.
    const lost = [...ledger.resolved].filter((id) => !seen.has(id) && !ledger.acked.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${ledger.resolved.size} resolved publishes lost`);
    if (mode === 'publish') {
      assert.equal(ledger.acked.size, 0);
      assert.ok(ledger.resolved.size > 0, 'the children got publishes resolved');
    } else {
      assert.ok(ledger.durablyAcked.size > 0, 'some acks became durable before a kill');
    }

    const unreported = end.messages.filter((m) => !ledger.resolved.has(m.id)).length;
    const p = ledger.policies;
    return [
      `${mode}: ${trials} trials in ${trialsMs} ms`,
      `fsync always ${p.always}, batch ${p.batch}, never ${p.never}`,
      `${ledger.earlyKills} killed as soon as the store was open`,
      `attempted ${ledger.attempted.size}, resolved ${ledger.resolved.size}`,
      `in the channel at the end ${end.messages.length} (${unreported} never reported resolved)`,
      `received by children ${ledger.received} (${ledger.redelivered} redeliveries)`,
      `acks ${ledger.acked.size} (${ledger.durablyAcked.size} known durable)`,
      `torn tails cut ${ledger.truncatedBytes} B`,
      `segments deleted ${ledger.segmentsDeleted}, rewritten ${ledger.segmentsRewritten}, left ${segments}`
    ].join('; ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void describe('durable store under SIGKILL', () => {
  const live = new Set<ChildProcess>();

  const killLeftovers = async (): Promise<void> => {
    const running = [...live].filter((c) => c.exitCode === null && c.signalCode === null);
    live.clear();
    const exits = running.map((c) => within(once(c, 'exit'), 10_000, `child ${c.pid} exiting`));
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(exits);
  };

  void it(
    `loses no resolved publishAsync and invents nothing across ${TRIALS} SIGKILLs of a publishing process`,
    { timeout: 120_000 },
    async (t) => {
      t.after(killLeftovers);
      t.diagnostic(await crashTest('publish', TRIALS, 0x5eed_c4a5, 64 * 1024, live));
    }
  );

  void it(
    `loses nothing and never undoes a durable ack across ${CONSUMING_TRIALS} SIGKILLs of a process that publishes and consumes`,
    { timeout: 120_000 },
    async (t) => {
      t.after(killLeftovers);
      t.diagnostic(await crashTest('consume', CONSUMING_TRIALS, 0xacc_5eed, 16 * 1024, live));
    }
  );
});
