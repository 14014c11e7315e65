/** The signals that stop `serve` and `sub` cleanly (exit 0). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** A promise of the first SIGINT / SIGTERM, and a way to stop listening for them. */
export interface StopSignal {
  readonly received: Promise<NodeJS.Signals>;
  dispose(): void;
}

/**
 * Resolves on the first SIGINT or SIGTERM. A second one while shutting down exits at once
 * (code 1): a stuck close must not make the process unkillable by Ctrl-C.
 */
export function stopSignal(): StopSignal {
  let handler: ((signal: NodeJS.Signals) => void) | undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => {
    handler = (signal) => {
      for (const s of STOP_SIGNALS) process.off(s, handler!);
      for (const s of STOP_SIGNALS) process.once(s, () => process.exit(1));
      resolve(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, handler);
  });
  return {
    received,
    dispose: () => {
      for (const s of STOP_SIGNALS) process.off(s, handler!);
    }
  };
}
