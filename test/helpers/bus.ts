import type { TestContext } from 'node:test';
import type { EventEmitter } from 'eventemitter3';
import { Bus, type BusEvents, type BusOptions, type TopicMap } from '../../src/index.js';

/** A bus closed when the test ends. */
export function makeBus<T extends TopicMap = Record<string, unknown>>(
  t: TestContext,
  options?: BusOptions
): Bus<T> {
  const bus = new Bus<T>(options);
  t.after(() => bus.close());
  return bus;
}

/** A manual-dispatch bus (delivery only at `flush()`), closed when the test ends. */
export function manualBus<T extends TopicMap = Record<string, unknown>>(t: TestContext): Bus<T> {
  return makeBus<T>(t, { dispatch: 'manual' });
}

/** The first argument of the next `event` the bus emits (eventemitter3 has no `events.once`). */
export function nextEvent<E extends keyof BusEvents>(
  bus: EventEmitter<BusEvents>,
  event: E
): Promise<Parameters<BusEvents[E]>[0]> {
  return new Promise((resolve) => {
    bus.once(event, (arg: Parameters<BusEvents[E]>[0]) => resolve(arg));
  });
}
