import type { Bus } from '../../adapters/node.js';

/** The retained topic the hub publishes its `stats()` on; the dashboard subscribes to it. */
export const STATS_TOPIC = 'demo.stats';

/**
 * Publishes `bus.stats()` every `intervalMs` on {@link STATS_TOPIC}: the dashboard gets its
 * numbers over the bus itself, like any other subscriber. Retained, so a local subscriber that
 * comes later starts from the latest.
 */
export function feedStats(bus: Bus, intervalMs: number): () => void {
  const publish = (): void => void bus.publish(STATS_TOPIC, bus.stats(), { retain: true });
  publish();
  const timer = setInterval(publish, intervalMs);
  return () => clearInterval(timer);
}
