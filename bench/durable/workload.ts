/**
 * The workload every contender of the durable suite runs: 64 B payloads published with QoS 1 on
 * one subject, WINDOW publishes outstanding at a time, and one consumer that acks each message.
 */

/** The subject published to; the channel (ringbus) or stream (JetStream) holds it. */
export const SUBJECT = 'bench.durable';
export const PAYLOAD_BYTES = 64;
/**
 * Publishes in flight at once (calls whose promise has not resolved): enough for group commit to
 * gather many records into one write and one fsync, as a busy server's clients would.
 */
export const WINDOW = 1024;
/** Unacked messages the consumer may hold: ringbus `maxInFlight`, JetStream `max_ack_pending`. */
export const MAX_IN_FLIGHT = 4096;

/** The payload every publish sends (the same bytes each time: contenders copy or reference it). */
export function payload(): Uint8Array {
  return Uint8Array.from({ length: PAYLOAD_BYTES }, (_, i) => i);
}
