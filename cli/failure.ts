import { ErrorCode, RingbusError } from '../adapters/node.js';

/** Process exit codes of every command (documented in docs/cli.md). */
export const ExitCode = {
  /** Done: every message accepted, every requested message received. */
  OK: 0,
  /** Something failed at run time: connect refused, ERR_AUTH, a timeout, a refused publish. */
  FAILURE: 1,
  /** The command line or the config file is wrong: nothing was attempted. */
  USAGE: 2
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A wrong command line (unknown flag, missing argument, bad value): exit 2, with a usage hint. */
export class UsageError extends Error {
  /** @param command - the command whose `--help` explains the fix (undefined: the top level) */
  constructor(
    message: string,
    readonly command: string | undefined
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A config file that cannot be read or fails validation: exit 2. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Library codes that mean "the input was wrong", not "the run failed". */
const USAGE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.INVALID_OPTIONS,
  ErrorCode.INVALID_TOPIC,
  ErrorCode.UNSUPPORTED_SCHEME
]);

/** Exit code for an error a command threw. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof ConfigError) return ExitCode.USAGE;
  if (err instanceof RingbusError && USAGE_CODES.has(err.code)) return ExitCode.USAGE;
  return ExitCode.FAILURE;
}

/**
 * One line for stderr. A RingbusError's message already starts with its code
 * (`ERR_AUTH: ...`), so scripts can match the code at a fixed place.
 */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/gu, ' ');
}

/** The ERR_TIMEOUT of a wait the CLI bounds itself (a publish not accepted in time). */
function timeoutError(what: string, timeoutMs: number): RingbusError {
  return new RingbusError(ErrorCode.TIMEOUT, `${what} within ${timeoutMs} ms (--timeout)`);
}

/** Rejects with {@link timeoutError} unless `promise` settles within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(what, timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
