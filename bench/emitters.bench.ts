/**
 * The scenarios: which shape, which contenders, how many messages. Sizes are chosen so each timed
 * run takes roughly 50–300 ms on a 2-core CI machine and the whole bench stays under 4 minutes.
 */
import type { Contender, Result } from './harness.js';
import { measure } from './harness.js';
import { type Library, eventemitter3, peers } from './peers.js';
import { ringbus } from './ringbus.js';
import type { Shape } from './shape.js';

export const ringbusManual = ringbus({ dispatch: 'manual', qos: 0 });
export const ringbusMicrotask = ringbus({ dispatch: 'microtask', qos: 0 });
export const ringbusQos1 = ringbus({ dispatch: 'manual', qos: 1 });

export interface Scenario {
  id: string;
  title: string;
  /** What the table's reader needs to know about how each side was wired. */
  note: string;
  shape: Shape;
  /** Handler invocations per published message. */
  deliveriesPerMsg: number;
  libraries: readonly Library[];
  /** Messages per timed run for the sync libraries; async peers (emittery) get `asyncN`. */
  n: number;
  asyncN: number;
}

const TOPIC = 'sim.e1.pos';
const exact = (consumers: number, shared = false, otherTopics = 0): Shape => ({
  topic: TOPIC,
  pattern: TOPIC,
  consumers,
  shared,
  otherTopics
});

/**
 * Run order. Everything shares one process, so JIT feedback from earlier scenarios shapes later
 * ones (one publish path serves every bus). QoS 1 runs last: its envelopes would make the shared
 * publish path polymorphic for every QoS 0 scenario measured after it.
 */
export const scenarios: readonly Scenario[] = [
  {
    id: 'a',
    title: '(a) 1 subscriber',
    note: 'One subscriber on one topic.',
    shape: exact(1),
    deliveriesPerMsg: 1,
    libraries: [ringbusManual, ringbusMicrotask, ...peers],
    n: 4_000_000,
    asyncN: 60_000
  },
  {
    id: 'b',
    title: '(b) 10 subscribers, fan-out',
    note: 'Ten subscribers on one topic; every one gets every message.',
    shape: exact(10),
    deliveriesPerMsg: 10,
    libraries: [ringbusManual, ringbusMicrotask, ...peers],
    n: 1_000_000,
    asyncN: 20_000
  },
  {
    id: 'c',
    title: '(c) shared channel, 4 consumers',
    note:
      "ringbus: 4 subscriptions with `channel: 'workers'` (one shared queue, round-robin). " +
      'Peers have no shared queue: one listener round-robins by hand to 4 handler functions.',
    shape: exact(4, true),
    deliveriesPerMsg: 1,
    libraries: [ringbusManual, ...peers],
    n: 3_000_000,
    asyncN: 60_000
  },
  {
    id: 'e',
    title: '(e) wildcard among 1000 subscriptions',
    note:
      'ringbus: one `sim.*.pos` subscription plus 1000 exact subscriptions on other topics, publishing on `sim.e1.pos`. ' +
      'Peers have no wildcards: they emit the exact name with 1000 other event names registered.',
    shape: { topic: TOPIC, pattern: 'sim.*.pos', consumers: 1, shared: false, otherTopics: 1000 },
    deliveriesPerMsg: 1,
    libraries: [ringbusManual, ...peers],
    n: 3_000_000,
    asyncN: 60_000
  },
  {
    id: 'd',
    title: '(d) QoS 1 with ack',
    note:
      'ringbus QoS 1: `subscribe(…, { qos: 1 })` with a sync handler (autoAck acks on return), ' +
      'published with `{ qos: 1 }`; the same shape at QoS 0 and eventemitter3 as baselines.',
    shape: exact(1),
    deliveriesPerMsg: 1,
    libraries: [ringbusQos1, ringbusManual, eventemitter3],
    n: 3_000_000,
    asyncN: 0
  }
];

export function contendersOf(s: Scenario): Contender[] {
  return s.libraries.map((lib) => lib.make(s.shape, lib.async ? s.asyncN : s.n));
}

export interface ScenarioResult {
  scenario: Scenario;
  results: Result[];
}

export async function runScenario(s: Scenario, runs: number): Promise<ScenarioResult> {
  return { scenario: s, results: await measure(contendersOf(s), s.deliveriesPerMsg, runs) };
}

/** Scenarios whose allocation and GC behaviour is profiled over a long run. */
export const gcScenarioIds: readonly string[] = ['a', 'b'];
/** Messages per GC profile: 10 million for the sync libraries, far fewer for emittery (≈0.3 M/s). */
export const GC_N = 10_000_000;
export const GC_ASYNC_N = 300_000;
