/**
 * The messages every contender moves: `payloadBytes` (a multiple of 8) of little-endian float64
 * fields, as a game would send positions and velocities. Field 0 is the sequence number, field k
 * is `k + 0.5`. A payload can be copied in from a prebuilt `Uint8Array` (the usual way: the
 * message exists before it is sent), or encoded in place, field by field, straight into the
 * transport's memory (`encodePayload`); both give the same bytes.
 *
 * Copying senders send one prebuilt payload with sequence number 0 for every message but the
 * last, which carries its sequence number: a receiver checks that one in full (`isPayload`), and
 * one that may lose messages (a ringbus link) spots the end by its non-zero top byte
 * (`isMarked`) even if earlier messages went missing.
 */

/** Bytes of one field. */
const FIELD_BYTES = 8;

/** Writes the payload of message `seq` at `at` in `view`: payloadBytes / 8 float64 stores. */
export function encodePayload(view: DataView, at: number, seq: number, payloadBytes: number): void {
  view.setFloat64(at, seq, true);
  for (let k = FIELD_BYTES; k < payloadBytes; k += FIELD_BYTES) {
    view.setFloat64(at + k, k / FIELD_BYTES + 0.5, true);
  }
}

/** The payload of message `seq` as a `Uint8Array` of its own (its own ArrayBuffer). */
export function makePayload(payloadBytes: number, seq: number): Uint8Array {
  if (payloadBytes % FIELD_BYTES !== 0 || payloadBytes < FIELD_BYTES) {
    throw new Error(
      `payloadBytes must be a positive multiple of ${FIELD_BYTES} (got ${payloadBytes})`
    );
  }
  const bytes = new Uint8Array(payloadBytes);
  encodePayload(new DataView(bytes.buffer), 0, seq, payloadBytes);
  return bytes;
}

/** True if `bytes[start, end)` is exactly the payload of message `seq`. */
export function isPayload(bytes: Uint8Array, start: number, end: number, seq: number): boolean {
  const n = end - start;
  const expected = makePayload(n, seq);
  for (let i = 0; i < n; i++) if (bytes[start + i] !== expected[i]) return false;
  return true;
}

/**
 * True if the payload at `start` has a non-zero sequence number: the last one a copying sender
 * sends (sequence 0 encodes as eight zero bytes; any other has exponent bits in byte 7).
 */
export function isMarked(bytes: Uint8Array, start: number): boolean {
  return bytes[start + FIELD_BYTES - 1] !== 0;
}
