import { Bus, type Link } from '../adapters/node.js';

/** How a client command (pub, sub, stats) connects. */
export interface ClientOptions {
  /** `--token`: sent in the handshake. */
  token: string | undefined;
  /** `--timeout`: for the connection and handshake. */
  timeoutMs: number;
  /** Reconnect after a drop (sub); one-shot commands fail instead. */
  reconnect: boolean;
}

/** A private bus linked to the bus at `url`. */
export interface Client {
  readonly bus: Bus;
  readonly link: Link;
}

/**
 * Creates a private bus, lets `prepare` subscribe on it (so the subscriptions are registered on
 * the remote bus by the time the link is up), then connects.
 *
 * @throws {@link RingbusError} `ERR_CONNECT`, `ERR_AUTH`, `ERR_INVALID_OPTIONS` (bad URL),
 *   `ERR_UNSUPPORTED_SCHEME`; the bus is closed then
 */
export async function openClient(
  url: string,
  options: ClientOptions,
  prepare?: (bus: Bus) => void
): Promise<Client> {
  const bus = new Bus();
  try {
    prepare?.(bus);
    const link = await bus.connect(url, {
      connectTimeoutMs: options.timeoutMs,
      reconnect: options.reconnect ? {} : false,
      ...(options.token === undefined ? {} : { token: options.token })
    });
    return { bus, link };
  } catch (err) {
    await bus.close();
    throw err;
  }
}
