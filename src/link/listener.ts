import type { Link } from './link.js';
import type { TransportServer } from './transport.js';

/**
 * A bus listening for links (`bus.listen()`). `url` carries the real port when port 0 was asked
 * for; `close()` stops accepting and closes the links it accepted.
 */
export class Listener {
  /** The URL it listens on. */
  readonly url: string;
  private readonly accepted = new Set<Link>();
  private closed = false;

  /** @internal listeners are made by `bus.listen()` */
  constructor(
    private readonly server: TransportServer,
    private readonly onClose: (listener: Listener) => void
  ) {
    this.url = server.url;
  }

  /** The links accepted and still open. */
  get links(): Link[] {
    return [...this.accepted].filter((l) => l.state !== 'closed');
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  track(link: Link): void {
    this.accepted.add(link);
  }

  /** @internal */
  forget(link: Link): void {
    this.accepted.delete(link);
  }

  /** Stops accepting and closes every accepted link (they say goodbye); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    await Promise.all([...this.accepted].map((l) => l.close()));
    this.accepted.clear();
    await this.server.close();
  }
}
