/**
 * The first byte of every frame body (docs/protocol.md §2). Control frames carry a JSON object
 * checked by a zod schema; the frames on the message path are binary.
 */
export const FrameType = {
  HELLO: 0x01,
  ERROR: 0x02,
  GOODBYE: 0x03,
  PING: 0x04,
  PONG: 0x05,
  SUB: 0x10,
  UNSUB: 0x11,
  INTEREST: 0x12,
  UNINTEREST: 0x13,
  CREDIT: 0x14,
  MSG: 0x20,
  PUB: 0x21,
  ACK: 0x22,
  NACK: 0x23,
  PUBACK: 0x24
} as const;

/** One of the values of {@link FrameType}. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Flag bits of MSG and PUB frames. */
export const MsgFlag = {
  QOS1: 0x01,
  HEADERS: 0x02,
  REPLY: 0x04,
  TTL: 0x08,
  RETAIN: 0x10
} as const;

/** How a payload is encoded after its kind byte. */
export const PayloadKind = {
  BYTES: 0,
  STRING: 1,
  JSON: 2,
  CODEC: 3,
  UNDEFINED: 4
} as const;
