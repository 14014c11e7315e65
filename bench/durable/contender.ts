/** What the durable suite needs of a contender: a fresh system per run with one publisher and one acking consumer. */

/** One run's system: a bus or a server, its publisher and its consumer. */
export interface DurableSession {
  /** Publishes the workload's payload with QoS 1; resolves once the contender calls it stored. */
  publish(): Promise<unknown>;
  /** Messages the consumer has received (and acked) so far. */
  delivered(): number;
  /** Stops everything the session started and removes its files. */
  close(): Promise<void>;
}

export interface DurableContender {
  /** Short id for RINGBUS_DURABLE_CONTENDERS, e.g. `wal-batch`. */
  id: string;
  /** Row label. */
  name: string;
  /** Why it cannot run here (a missing binary or package), or undefined when it can. */
  available(): Promise<string | undefined>;
  /** Starts a fresh session, on an empty store. */
  open(): Promise<DurableSession>;
}
