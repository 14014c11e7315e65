import type { LogFn, Logger } from '../adapters/node.js';
import type { Io } from './command.js';

/** Accepted `logLevel` / `--log-level` values, most verbose first. */
export const LOG_LEVEL_NAMES = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent'
] as const;
/** One of {@link LOG_LEVEL_NAMES}. */
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

/** The default of `serve`: link up/down lines and the library's warnings. */
export const DEFAULT_LOG_LEVEL: LogLevelName = 'info';

/** True when messages at `level` are shown under the threshold `threshold`. */
export function isEnabled(threshold: LogLevelName, level: LogLevelName): boolean {
  return LOG_LEVEL_NAMES.indexOf(level) >= LOG_LEVEL_NAMES.indexOf(threshold);
}

/**
 * The library's logger for `serve`: one line per entry on `io.err` (stderr), `level: message`
 * plus the context (an `err` is shown by its message, which starts with its code).
 */
export function stderrLogger(threshold: LogLevelName, io: Io): Logger {
  const method = (level: Exclude<LogLevelName, 'silent'>): LogFn => {
    if (!isEnabled(threshold, level)) return () => undefined;
    return (objOrMsg: object | string, msg?: string) => {
      const line =
        typeof objOrMsg === 'string'
          ? objOrMsg
          : `${msg ?? ''}${describeContext(objOrMsg as Record<string, unknown>)}`;
      io.err(`${level}: ${line}\n`);
    };
  };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal')
  };
}

function describeContext(ctx: Record<string, unknown>): string {
  let out = '';
  for (const [key, value] of Object.entries(ctx)) {
    if (value instanceof Error) out += `: ${value.message}`;
    else out += ` ${key}=${safeJson(value)}`;
  }
  return out;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
