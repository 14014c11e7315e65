import type { Message } from '../adapters/node.js';

/**
 * How `payload` appears in `sub --json` output:
 * - `json`: the payload as published (a string, number, object ...);
 * - `utf8`: the payload was bytes (a Uint8Array) holding valid UTF-8, shown as that text;
 * - `base64`: the payload was bytes that are not valid UTF-8, shown in base64;
 * - `none`: there was no payload (`undefined`); `payload` is null.
 */
export type PayloadEncoding = 'json' | 'utf8' | 'base64' | 'none';

/** One line of `sub --json`. */
export interface MessageRecord {
  topic: string;
  payload: unknown;
  payloadEncoding: PayloadEncoding;
  headers: Readonly<Record<string, string>>;
  id: number;
  attempt: number;
  publishedAt: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The payload and how it is represented in JSON output. */
export function encodePayload(payload: unknown): { payload: unknown; encoding: PayloadEncoding } {
  if (payload === undefined) return { payload: null, encoding: 'none' };
  if (payload instanceof Uint8Array) {
    try {
      return { payload: strictUtf8.decode(payload), encoding: 'utf8' };
    } catch {
      const b64 = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      return { payload: b64.toString('base64'), encoding: 'base64' };
    }
  }
  return { payload, encoding: 'json' };
}

/** The payload as text: a string as it is, bytes as UTF-8 (else base64), anything else as JSON. */
export function payloadText(payload: unknown): string {
  const { payload: value, encoding } = encodePayload(payload);
  if (encoding === 'none') return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

/** The default `sub` line: `<topic> <payload as text>`. */
export function textLine(msg: Message): string {
  return `${msg.topic} ${payloadText(msg.payload)}`;
}

/** The `sub --json` line. */
export function jsonLine(msg: Message): string {
  const { payload, encoding } = encodePayload(msg.payload);
  const record: MessageRecord = {
    topic: msg.topic,
    payload,
    payloadEncoding: encoding,
    headers: msg.headers,
    id: msg.id,
    attempt: msg.attempt,
    publishedAt: msg.publishedAt
  };
  return JSON.stringify(record);
}
