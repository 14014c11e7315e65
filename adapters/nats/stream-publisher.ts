import type { Msg, MsgHdrs, NatsConnection, Subscription } from 'nats';
import { TOO_LARGE_CODE } from './bridge-error.js';

/** JetStream's error code for a message over the stream's max_msg_size. */
const STREAM_MSG_TOO_LARGE = 10054;

/** What a publish came to: undefined when JetStream stored it, else why not. */
export type StoreOutcome = Error | undefined;

interface Pending<T> {
  readonly item: T;
  /** Bus clock ms after which the acknowledgement is given up on. */
  readonly deadline: number;
}

/**
 * Publishes to JetStream as its protocol has it — a core publish whose reply subject receives the
 * PubAck — with one reply subscription for all of them, matched by the reply's last token.
 * `js.publish()` makes each publish a request of its own: a deferred, a timer and two or three
 * `Error` objects (one even after a success), which cost more than the publish itself. Here an
 * outstanding publish is one map entry; `sweep()` fails those not acknowledged in time.
 *
 * @internal
 */
export class StreamPublisher<T> {
  private readonly pending = new Map<number, Pending<T>>();
  private readonly prefix: string;
  private readonly sub: Subscription;
  private seq = 0;

  constructor(
    private readonly nc: NatsConnection,
    inbox: string,
    private readonly timeoutMs: number,
    private readonly done: (item: T, outcome: StoreOutcome) => void
  ) {
    this.prefix = `${inbox}.`;
    this.sub = nc.subscribe(`${inbox}.*`, {
      callback: (err, m) => {
        if (err === null) this.acknowledged(m);
      }
    });
  }

  /** Publishes now; `done(item, …)` follows once. @throws as `nc.publish` (too large, closed) */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs, item: T, now: number): void {
    const token = ++this.seq;
    this.nc.publish(subject, data, { headers, reply: `${this.prefix}${token}` });
    this.pending.set(token, { item, deadline: now + this.timeoutMs });
  }

  /** Fails what was not acknowledged in time (JetStream deduplicates a repeat by its msg id). */
  sweep(now: number): void {
    // Deadlines grow with the token (one timeout, a monotonic clock): the overdue come first.
    for (const [token, p] of this.pending) {
      if (p.deadline > now) return;
      this.pending.delete(token);
      this.done(p.item, new Error(`JetStream did not acknowledge within ${this.timeoutMs} ms`));
    }
  }

  /** Stops listening for acknowledgements; what is outstanding never completes. */
  close(): void {
    this.pending.clear();
    this.sub.unsubscribe();
  }

  private acknowledged(m: Msg): void {
    const token = Number(m.subject.slice(this.prefix.length));
    const p = this.pending.get(token);
    if (p === undefined) return; // late, after its timeout: it was offered again
    this.pending.delete(token);
    this.done(p.item, ackError(m));
  }
}

/** Why a PubAck says the message was not stored, if it does. */
function ackError(m: Msg): StoreOutcome {
  const h = m.headers;
  // A status instead of an ack: 503 when no stream takes the subject (no responders).
  if (h !== undefined && h.hasError)
    return new Error(
      h.code === 503 ? 'no stream takes this subject' : `status ${h.code} ${h.description}`
    );
  let ack: {
    stream?: unknown;
    error?: { code?: number; err_code?: number; description?: string };
  } | null;
  try {
    ack = m.json();
  } catch {
    return new Error('an unreadable acknowledgement');
  }
  if (ack === null || typeof ack !== 'object') return new Error('an unreadable acknowledgement');
  if (ack.error !== undefined) {
    const refused = new Error(`refused: ${ack.error.description ?? String(ack.error.code)}`);
    if (ack.error.err_code !== STREAM_MSG_TOO_LARGE) return refused;
    return Object.assign(refused, { code: TOO_LARGE_CODE });
  }
  if (typeof ack.stream !== 'string' || ack.stream === '')
    return new Error('an acknowledgement that names no stream');
  return undefined;
}
