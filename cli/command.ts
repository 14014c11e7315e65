/** Where a command writes: the process's stdout and stderr, or a test's buffers. */
export interface Io {
  /** Results: messages, stats, help. */
  out(text: string): void;
  /** Errors and status lines. */
  err(text: string): void;
}

/** The process's own streams. */
export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text)
};

/** One `ringbus <command>`. */
export interface Command {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The full `ringbus <command> --help` text. */
  readonly help: string;
  /**
   * Runs with the arguments after the command name; resolves to the exit code.
   *
   * @throws UsageError / ConfigError (exit 2) or a RingbusError (exit code by its code)
   */
  run(argv: string[], io: Io): Promise<number>;
}
