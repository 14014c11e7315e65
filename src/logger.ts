/** A log method in pino's shape: a message, or a context object then a message. */
export interface LogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}

/**
 * The logger ringbus writes to. Its levels match pino's, so a pino (or bunyan-like) logger can be
 * passed as is. The default is {@link silentLogger}.
 */
export interface Logger {
  /** Finest detail. */
  trace: LogFn;
  /** Diagnostics. */
  debug: LogFn;
  /** Normal events. */
  info: LogFn;
  /** Something went wrong and was handled (a handler threw). */
  warn: LogFn;
  /** Something failed that may lose data or needs attention. */
  error: LogFn;
  /** The bus cannot go on. */
  fatal: LogFn;
}

const noop: LogFn = () => undefined;

/** A logger that discards everything: the default. */
export const silentLogger: Logger = Object.freeze({
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop
});

/** The method names a {@link Logger} must have. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
