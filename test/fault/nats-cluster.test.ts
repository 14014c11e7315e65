import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { Bus, type LinkStats, type NatsBridgeOptions } from '../../adapters/node.js';
import type { PeerCommand, PeerReport } from '../fixtures/nats-peer.js';
import {
  type NatsCluster,
  type NatsNode,
  missingNatsServer,
  startNatsCluster
} from '../helpers/nats-cluster.js';
import { within } from '../helpers/wait.js';

/**
 * The NATS bridge through the loss of a node of a real three-node JetStream cluster (nats-server;
 * .ci/run installs it). Two buses run in processes of their own (test/fixtures/nats-peer.ts):
 * P, bridged to node 1, exports `ft.>` and creates the stream FT (three replicas); C, bridged to
 * node 2, imports `ft.>` with a QoS 1 channel on `ft.q1` (fed by a durable JetStream consumer) and
 * a QoS 0 subscriber on `ft.q0`. Both list every node for failover. P publishes numbered QoS 1
 * messages, paced, and a QoS 0 tick every few ms all along.
 *
 * Each scenario SIGKILLs the node one of them is on once C has a third of the scenario's QoS 1
 * numbers: first P's, then C's. "The node it is on" is the one its bridge reports (link.peer):
 * the URL's server comes first, but a failover in an earlier scenario moves a bus (a diagnostic
 * says where each is). The affected bus goes down and up again on a survivor; every number
 * reaches C at least once (duplicates counted, not refused), numbers published after the kill
 * too, and QoS 0 flows again (what was sent during the failover may be lost). Then the node
 * restarts and rejoins: a third bus bridged to it alone gets P's ticks, and a plain client on it
 * alone reads every QoS 1 message from the stream, whose replica there is current again.
 *
 * A kill costs seconds of nats-server's own when it takes a leader along: a new stream or consumer
 * leader (about 5 s) or meta leader (4-9 s) is elected before JetStream answers again.
 */

const skip = missingNatsServer();
if (skip !== undefined) console.warn(`\n*** ${import.meta.url}: ${skip} ***\n`);

const PEER = fileURLToPath(new URL('../fixtures/nats-peer.js', import.meta.url));

/** QoS 1 numbers per scenario, published `BATCH` every `INTERVAL_MS`. */
const N = 2400;
const BATCH = 5;
const INTERVAL_MS = 10;
/** One QoS 0 tick every this many ms, from the start to the end. */
const TICK_MS = 5;
/** Consecutive QoS 0 ticks that must all arrive once the links are back. */
const Q0_CHECK = 50;
/** Ticks the bus bridged to the restarted node alone must get. */
const REJOIN_TICKS = 20;
const STREAM = 'FT';

/** Fires 'update' whenever a peer reported something (waits re-check on it, no polling). */
const updates = new EventEmitter();
updates.setMaxListeners(50);

/** A forked fixtures/nats-peer.js and what it reported. */
class Peer {
  readonly process: ChildProcess;
  readonly exited: Promise<unknown>;
  /** The NATS server its bridge is on now ('nats:n2'), from 'connected' and 'link-up'. */
  server: string | undefined;
  readonly links: { event: 'down' | 'up'; peer: string | undefined; at: number }[] = [];
  /** QoS 1 number → times received; deliveries with attempt > 1. */
  readonly q1 = new Map<number, number>();
  redelivered = 0;
  readonly q0 = new Set<number>();
  q1Next = 0;
  published = 0;
  readonly errors = new Map<string, number>();
  failure: string | undefined;
  private readonly answers: PeerReport[] = [];

  constructor(readonly name: string) {
    this.process = fork(PEER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = once(this.process, 'exit');
    this.process.on('exit', (code, signal) => {
      this.failure ??= `${this.name} exited (${code ?? signal})`;
      updates.emit('update');
    });
    this.process.on('message', (r: PeerReport) => {
      this.take(r);
      updates.emit('update');
    });
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  send(c: PeerCommand): void {
    this.process.send(c);
  }

  /** Sends `c` and resolves with the answer of type `type` (the peer answers in order). */
  ask<T extends PeerReport['type']>(
    c: PeerCommand,
    type: T,
    timeoutMs = 10_000
  ): Promise<Extract<PeerReport, { type: T }>> {
    const from = this.answers.length;
    this.send(c);
    return this.next(type, from, timeoutMs, `${this.name} answering '${c.type}'`);
  }

  /** Resolves with the first answer of type `type` from index `from` on. */
  async next<T extends PeerReport['type']>(
    type: T,
    from = 0,
    timeoutMs = 10_000,
    what = `${this.name} reporting '${type}'`
  ): Promise<Extract<PeerReport, { type: T }>> {
    let found: PeerReport | undefined;
    await until(
      () => (found = this.answers.slice(from).find((r) => r.type === type)) !== undefined,
      timeoutMs,
      what
    );
    return found as Extract<PeerReport, { type: T }>;
  }

  /** The link events since index `from`: a 'down' then an 'up'. */
  wentDownAndUp(from: number): boolean {
    const events = this.links.slice(from).map((e) => e.event);
    const down = events.indexOf('down');
    return down >= 0 && events.indexOf('up', down) > down;
  }

  get isUp(): boolean {
    return this.links.length === 0 || this.links.at(-1)!.event === 'up';
  }

  /** Distinct QoS 1 numbers of [from, to) received. */
  countIn(from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) if (this.q1.has(i)) n++;
    return n;
  }

  private take(r: PeerReport): void {
    switch (r.type) {
      case 'loaded':
      case 'mark':
      case 'stats':
        this.answers.push(r);
        break;
      case 'connected':
        this.server = r.peer;
        this.answers.push(r);
        break;
      case 'link':
        this.links.push({ event: r.event, peer: r.peer, at: Date.now() });
        if (r.event === 'up') this.server = r.peer;
        break;
      case 'progress':
        this.q1Next = r.q1Next;
        break;
      case 'published':
        this.published = r.to;
        break;
      case 'got':
        for (const [n, attempt] of r.q1) {
          this.q1.set(n, (this.q1.get(n) ?? 0) + 1);
          if (attempt > 1) this.redelivered++;
        }
        for (const n of r.q0) this.q0.add(n);
        break;
      case 'error': {
        const key = `${r.code}: ${r.message.slice(0, 120)}`;
        this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
        break;
      }
      case 'failed':
        this.failure = `${this.name} failed: ${r.message}`;
        break;
    }
  }

  /** SIGKILL to this child's pid (if it still runs); resolves once it exited. */
  async kill(): Promise<void> {
    if (this.running) this.process.kill('SIGKILL');
    await within(this.exited, 10_000, `${this.name} (pid ${this.process.pid}) exiting`);
  }
}

let peers: Peer[] = [];

/**
 * Resolves once `predicate()` holds, checked whenever a peer reports (or the bus of the test
 * process got something: it emits 'update' too); rejects after `timeoutMs`, or at once when a
 * peer failed or exited, with the state of the peers.
 */
function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      updates.off('update', check);
      if (err === undefined) resolve();
      else reject(err);
    };
    const check = (): void => {
      const failed = peers.find((p) => p.failure !== undefined);
      if (failed !== undefined) return finish(new Error(`${what}: ${failed.failure}`));
      try {
        if (predicate()) finish();
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const timer = setTimeout(
      () => finish(new Error(`${what}: not within ${timeoutMs} ms (${describePeers()})`)),
      timeoutMs
    );
    updates.on('update', check);
    check();
  });
}

function describePeers(): string {
  return peers
    .map((p) => {
      const links = p.links.map((e) => `${e.event}@${e.peer ?? '?'}`).join(',');
      return `${p.name} on ${p.server ?? '?'} links [${links}] q1 ${p.q1.size} q0 ${p.q0.size} q1Next ${p.q1Next}`;
    })
    .join('; ');
}

/** The QoS 1 numbers of [from, to) missing at `c`, the first few of them. */
function missing(c: Peer, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to && out.length < 20; i++) if (!c.q1.has(i)) out.push(i);
  return out;
}

describe('NATS bridge through the loss of a cluster node', { skip }, () => {
  let cluster: NatsCluster;
  let p: Peer;
  let c: Peer;
  const closers: (() => Promise<unknown>)[] = [];
  const startedAt = Date.now();

  /** Both bridges: every node for failover, quick reconnects, JetStream calls bounded. */
  const bridgeOptions = (urls: string[]): NatsBridgeOptions => ({
    servers: urls,
    reconnect: { waitMs: 100, jitterMs: 50 },
    connectTimeoutMs: 2000
  });

  before(
    async () => {
      // Children load their modules while the cluster starts.
      p = new Peer('P');
      c = new Peer('C');
      peers = [p, c];
      cluster = await startNatsCluster(3);
      await cluster.jetStreamReady(20_000);
      await Promise.all([p.next('loaded'), c.next('loaded')]);
      const [n1, n2] = cluster.urls;
      await p.ask(
        {
          type: 'connect',
          url: n1,
          consume: false,
          options: {
            ...bridgeOptions(cluster.urls),
            export: ['ft.>'],
            streams: [{ name: STREAM, subjects: ['ft.>'], replicas: 3 }]
          }
        },
        'connected',
        20_000
      );
      // C only once the stream exists: its channel is fed by JetStream only if a stream captures it.
      await c.ask(
        {
          type: 'connect',
          url: n2,
          consume: true,
          options: { ...bridgeOptions(cluster.urls), import: ['ft.>'] }
        },
        'connected',
        20_000
      );
      // A channel whose durable consumer could not be set up falls back to core NATS (at most
      // once), reporting an error: this test is about the JetStream-fed channel.
      assert.deepEqual([...c.errors.keys()], [], "C's channel is fed by JetStream");
      p.send({ type: 'ticks', intervalMs: TICK_MS });
    },
    { timeout: 60_000 }
  );

  after(async () => {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    await Promise.all(peers.map((peer) => peer.kill()));
    await cluster?.stop();
  });

  /** The node a peer's bridge is on now. */
  function nodeOf(peer: Peer): NatsNode {
    const node = cluster.nodes.find((n) => `nats:${n.name}` === peer.server);
    assert.ok(node !== undefined, `${peer.name} is on a known node (${peer.server})`);
    return node;
  }

  /**
   * One scenario: QoS 1 numbers [base, base + N) while the node `affected` is on is killed, then
   * restarted. Returns a summary for the diagnostics.
   */
  async function failover(t: TestContext, affected: Peer, base: number): Promise<string> {
    const other = affected === p ? c : p;
    const victim = nodeOf(affected);
    const end = base + N;
    const t0 = Date.now();
    const linksBefore = new Map(peers.map((peer) => [peer, peer.links.length]));
    const errorsBefore = new Map(peers.map((peer) => [peer, [...peer.errors.values()]]));

    p.send({ type: 'publish', from: base, to: end, batch: BATCH, intervalMs: INTERVAL_MS });
    await until(() => c.countIn(base, end) >= N / 3, 20_000, 'C receiving a third of the numbers');
    const receivedAtKill = c.countIn(base, end);
    await within(victim.kill(), 5000, `SIGKILL of ${victim.name}`);
    const killedAt = Date.now();
    // Everything P publishes from now on was published after the kill.
    const { q1Next: afterKill } = await p.ask({ type: 'mark' }, 'mark');
    const killOffset = Date.now() - t0;

    await until(
      () => affected.wentDownAndUp(linksBefore.get(affected)!),
      20_000,
      `${affected.name}: 'link-down' then 'link-up' after the kill of ${victim.name}`
    );
    const upAt = Date.now();
    assert.notEqual(affected.server, `nats:${victim.name}`, `${affected.name} moved to a survivor`);
    // The other went down too when it was on the same node.
    await until(() => other.isUp, 20_000, `${other.name} up`);

    // Flow continues: a number published after the kill arrives, then every number (at least once).
    await until(
      () => [...c.q1.keys()].some((n) => n >= afterKill && n < end),
      20_000,
      `C receiving a QoS 1 number published after the kill (>= ${afterKill})`
    );
    const firstAfterKillAt = Date.now();
    await until(
      () => p.published >= end && c.countIn(base, end) === N,
      30_000,
      `every QoS 1 number of [${base}, ${end}) at C`
    ).catch((err: Error) => {
      throw new Error(`${err.message}; missing ${missing(c, base, end).join(',')}`);
    });
    const allAt = Date.now();
    assert.ok(afterKill < end, `numbers were published after the kill (from ${afterKill})`);
    assert.equal(c.countIn(base, end), N, 'no QoS 1 number lost');

    // QoS 0 flows again: every tick P publishes from now on reaches C (those sent during the
    // failover may be lost).
    const { q0Next } = await p.ask({ type: 'mark' }, 'mark');
    await until(
      () => Array.from({ length: Q0_CHECK }, (_, i) => q0Next + i).every((n) => c.q0.has(n)),
      10_000,
      `QoS 0 ticks ${q0Next}..${q0Next + Q0_CHECK - 1} at C`
    );

    // P stored everything: no export waits for JetStream any more. The acks P still waits for
    // have no event to wait for, so its stats are asked again until then (bounded).
    let stats: LinkStats = (await p.ask({ type: 'stats' }, 'stats')).stats;
    for (const deadline = Date.now() + 15_000; stats.inFlight > 0 || stats.queued > 0;) {
      assert.ok(Date.now() < deadline, `P still has ${stats.inFlight} exports in flight`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      stats = (await p.ask({ type: 'stats' }, 'stats')).stats;
    }
    assert.equal(stats.dropped, 0, 'P dropped no export');
    assert.equal(stats.state, 'up');

    // The node comes back and rejoins.
    await within(victim.restart(), 15_000, `restart of ${victim.name}`);
    const restartedAt = Date.now();
    await cluster.jetStreamReady(20_000);
    const readyAt = Date.now();

    // A bus bridged to the restarted node alone gets P's QoS 0 ticks through the cluster.
    const third = new Bus({ id: `rejoin-${victim.name}-${base}` });
    closers.push(() => third.close());
    const ticks: number[] = [];
    third.subscribe('ft.q0', (m) => {
      ticks.push(m.payload as number);
      updates.emit('update');
    });
    const link = await third.connect(victim.url, {
      import: ['ft.q0'],
      servers: [],
      reconnect: false,
      connectTimeoutMs: 5000
    });
    assert.equal(link.peer, `nats:${victim.name}`);
    await until(
      () => ticks.length >= REJOIN_TICKS,
      10_000,
      `${REJOIN_TICKS} QoS 0 ticks at a bus bridged to ${victim.name} alone`
    );
    await third.close();

    // A plain client on the restarted node alone reads the stream: every QoS 1 number, each once
    // (P's retries carry a message id; the stream holds P's QoS 0 ticks too, counted apart), and
    // its replica on that node caught up. Catching up is JetStream's internal state with no event
    // to wait for, so stream info is asked again (bounded) until then.
    const nc = await connect({ servers: victim.url, reconnect: false, timeout: 5000 });
    closers.push(() => nc.close());
    const jsm = await nc.jetstreamManager({ timeout: 5000 });
    let replica: { name: string; current: boolean } | undefined;
    let stored = 0;
    for (const deadline = Date.now() + 20_000; ;) {
      const info = await jsm.streams
        .info(STREAM, { subjects_filter: 'ft.q1' })
        .catch(() => undefined);
      stored = info?.state.subjects?.['ft.q1'] ?? 0;
      const leader = info?.cluster?.leader;
      const replicas = [
        ...(info?.cluster?.replicas ?? []),
        ...(leader === undefined ? [] : [{ name: leader, current: true }])
      ];
      replica = replicas.find((r) => r.name === victim.name);
      if (stored >= end && replica?.current === true) break;
      assert.ok(
        Date.now() < deadline,
        `stream ${STREAM} through ${victim.name}: ${stored} messages on ft.q1, replica there ${JSON.stringify(replica)}`
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(stored, end, 'the stream holds every QoS 1 number once');
    await nc.close();
    const rejoinedAt = Date.now();

    const duplicates = [...c.q1].filter(([n, times]) => n >= base && n < end && times > 1);
    const extra = duplicates.reduce((sum, [, times]) => sum + times - 1, 0);
    const downs = peers
      .filter((peer) => peer.links.slice(linksBefore.get(peer)).some((e) => e.event === 'down'))
      .map((peer) => peer.name);
    const newErrors = peers
      .map((peer) => {
        const before = errorsBefore.get(peer)!.reduce((a, b) => a + b, 0);
        const now = [...peer.errors.values()].reduce((a, b) => a + b, 0);
        return `${peer.name} ${now - before}`;
      })
      .join(', ');
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const summary = [
      `killed ${victim.name} (${affected.name}'s node) ${s(killOffset)} in, ${receivedAtKill}/${N} at C, ${afterKill - base} published`,
      `links down: ${downs.join('+')}; ${affected.name} back on ${affected.server} after ${s(upAt - killedAt)}`,
      `first number published after the kill at C after ${s(firstAfterKillAt - killedAt)}, all ${N} after ${s(allAt - killedAt)}`,
      `duplicates ${duplicates.length} numbers (${extra} extra deliveries), redelivered ${c.redelivered} so far`,
      `restart ${s(restartedAt - allAt)}, JetStream ready ${s(readyAt - restartedAt)}, rejoined ${s(rejoinedAt - readyAt)}`,
      `bus errors ${newErrors}; scenario ${s(Date.now() - t0)}`
    ].join('; ');
    t.diagnostic(summary);
    return summary;
  }

  it(
    "keeps QoS 1 lossless and QoS 0 flowing when P's node is killed, and the node rejoins",
    { timeout: 60_000 },
    async (t) => {
      // Where each bus is (the URL's server, unless it could not connect there).
      t.diagnostic(`P bridged to n1 is on ${p.server}, C bridged to n2 is on ${c.server}`);
      await failover(t, p, 0);
    }
  );

  it(
    "keeps QoS 1 lossless and QoS 0 flowing when C's node is killed, and the node rejoins",
    { timeout: 60_000 },
    async (t) => {
      await failover(t, c, N);
      const all = [...c.q1].filter(([, times]) => times > 1).length;
      t.diagnostic(
        `whole file: ${2 * N} QoS 1 numbers, ${all} received more than once, ${c.redelivered} redeliveries; ${((Date.now() - startedAt) / 1000).toFixed(1)} s; errors P ${JSON.stringify([...p.errors])} C ${JSON.stringify([...c.errors])}`
      );
    }
  );
});
