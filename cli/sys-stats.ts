import type { Bus, Subscription } from '../adapters/node.js';

/** The request topic `ringbus serve` answers with its stats; `ringbus stats` asks it. */
export const STATS_TOPIC = '$sys.stats';

/** Request payload: the reply format. Anything else (or nothing) asks for JSON. */
export interface StatsRequest {
  format?: 'json' | 'prometheus';
}

/**
 * Answers `$sys.stats` requests on `bus`, also from linked buses (the subscription is advertised
 * to every peer): `bus.stats()` as JSON, or `bus.metrics()` (Prometheus text) when the request
 * says `{ "format": "prometheus" }`.
 */
export function serveStats(bus: Bus): Subscription {
  return bus.subscribe(STATS_TOPIC, (msg) => {
    msg.respond(wantsPrometheus(msg.payload) ? bus.metrics() : bus.stats());
  });
}

function wantsPrometheus(payload: unknown): boolean {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    (payload as StatsRequest).format === 'prometheus'
  );
}
