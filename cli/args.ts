import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './failure.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommand} returns: typed `values` and the `positionals`. */
export type ParsedCommand<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/** `-h` / `--help`, accepted by every command. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Flags shared by the commands that connect to a bus (pub, sub, stats). */
export const CLIENT_OPTIONS = {
  token: { type: 'string' },
  timeout: { type: 'string' }
} as const;

/** Default of `--timeout`: connect, and per publish / request. */
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Parses one command's arguments strictly: an unknown flag, a missing flag value or a value given
 * to a boolean flag is a {@link UsageError} (exit 2), never silently ignored.
 */
export function parseCommand<const O extends OptionsConfig>(
  command: string,
  argv: string[],
  options: O
): ParsedCommand<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err), command);
  }
}

/** node:util's messages are long and mention `strict: true`; keep the first sentence. */
function parseArgsMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('. ')[0].replace(/\.$/u, '');
}

/**
 * The positionals of a command, checked against the names it expects; names ending in `?` are
 * optional.
 */
export function positionals(command: string, given: string[], names: string[]): string[] {
  const required = names.filter((n) => !n.endsWith('?')).length;
  if (given.length < required) {
    const missing = names[given.length].replace(/\?$/u, '');
    throw new UsageError(`missing argument <${missing}>`, command);
  }
  if (given.length > names.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(given[names.length])}`, command);
  }
  return given;
}

/** An integer flag value in [min, max], or `fallback` when the flag is absent. */
export function intOption(
  command: string,
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number
): number {
  if (value === undefined) return fallback;
  const n = /^-?\d+$/u.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${flag} must be an integer in [${min}, ${max}] (got ${JSON.stringify(value)})`,
      command
    );
  }
  return n;
}

/** `--qos`: 0 or 1. */
export function qosOption(command: string, value: string | undefined, fallback: 0 | 1): 0 | 1 {
  return intOption(command, 'qos', value, fallback, 0, 1) as 0 | 1;
}

/** `--timeout` in ms (1 ms to one day). */
export function timeoutOption(command: string, value: string | undefined): number {
  return intOption(command, 'timeout', value, DEFAULT_TIMEOUT_MS, 1, 86_400_000);
}

/** `--header k=v` (repeatable) as a headers object; the value may contain '='. */
export function headersOption(
  command: string,
  values: string[] | undefined
): Record<string, string> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(
        `--header must be key=value with a non-empty key (got ${JSON.stringify(pair)})`,
        command
      );
    }
    headers[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return headers;
}
