import type { JsMsg, Msg } from 'nats';
import { toJsMsg } from 'nats/lib/jetstream/jsmsg.js';
import { MsgImpl } from 'nats/lib/nats-base-client/msg.js';

const utf8 = new TextEncoder();
/** Nothing is published through these messages. */
const NO_PUBLISHER = { publish: () => undefined };

/**
 * A message as nats.js's parser hands it to a subscription (its own classes, so a test sees what
 * the bridge sees): `headerBlock` is the encoded header block, if any, before the payload.
 */
export function natsMsg(
  subject: string,
  reply: string | Uint8Array | undefined,
  headerBlock: Uint8Array | undefined,
  payload: Uint8Array
): Msg {
  const hdr = headerBlock === undefined ? -1 : headerBlock.length;
  const data = new Uint8Array((headerBlock?.length ?? 0) + payload.length);
  if (headerBlock !== undefined) data.set(headerBlock);
  data.set(payload, Math.max(hdr, 0));
  const arg = {
    subject: utf8.encode(subject),
    reply: typeof reply === 'string' ? utf8.encode(reply) : reply,
    sid: 1,
    hdr,
    size: data.length
  };
  return new MsgImpl(arg, data, NO_PUBLISHER);
}

/** The same, as a JetStream consumer hands it out. */
export function jsMsg(subject: string, reply: string | Uint8Array, payload: Uint8Array): JsMsg {
  return toJsMsg(natsMsg(subject, reply, undefined, payload));
}
