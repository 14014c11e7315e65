import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { LOG_LEVEL_NAMES } from './logger.js';
import { ConfigError } from './failure.js';

/*
 * The shape of `ringbus serve --config file.json`. Types and lower bounds are checked here, with
 * the path of the bad field; upper limits are the library's (src/limits.ts), checked when the
 * listener opens, and reported with the same path (serve.ts), so the two never disagree.
 */

const int = (min: number) =>
  z.int({ error: 'must be an integer' }).min(min, `must be an integer >= ${min}`);
const str = z.string({ error: 'must be a string' });
const bool = z.boolean({ error: 'must be true or false' });
const patterns = z.array(str, { error: 'must be an array of patterns' });

const linkFields = {
  maxFrameBytes: int(1).optional(),
  keepaliveMs: int(0).optional(),
  writeTimeoutMs: int(1).optional(),
  flushIntervalMs: int(0).optional(),
  noDelay: bool.optional(),
  sendQueueSize: int(1).optional(),
  overflow: z
    .enum(['drop-oldest', 'drop-newest', 'block'], {
      error: "must be 'drop-oldest', 'drop-newest' or 'block'"
    })
    .optional(),
  hopLimit: int(1).optional(),
  raw: z.strictObject({ topic: str.optional(), pattern: str.optional() }).optional()
};

const listenSchema = z.strictObject({
  url: str.min(1, 'must not be empty'),
  auth: z
    .strictObject({
      tokens: z.record(
        z.string().min(1, 'a token must not be empty'),
        z.strictObject({ publish: patterns.optional(), subscribe: patterns.optional() })
      )
    })
    .optional(),
  maxConnections: int(1).optional(),
  maxSubscriptionsPerLink: int(1).optional(),
  handshakeTimeoutMs: int(1).optional(),
  ...linkFields
});

const connectSchema = z.strictObject({
  url: str.min(1, 'must not be empty'),
  token: str.optional(),
  reconnect: z
    .union(
      [
        z.literal(false),
        z.strictObject({ initialDelayMs: int(1).optional(), maxDelayMs: int(1).optional() })
      ],
      { error: 'must be false or { "initialDelayMs": n, "maxDelayMs": n }' }
    )
    .optional(),
  connectTimeoutMs: int(1).optional(),
  ...linkFields
});

// A NATS bridge entry: the url here; its other fields are the bridge's own (docs/scale-out.md),
// checked by bus.connect with the same strictness and reported with the entry's path (serve.ts).
const natsSchema = z.looseObject({
  url: str.regex(/^(nats|tls):\/\//u, 'must be a nats:// or tls:// URL')
});

/** The config file schema (JSON). */
export const configSchema = z.strictObject(
  {
    id: str.optional(),
    listen: z.array(listenSchema, { error: 'must be an array of { "url": ... } objects' }),
    connect: z
      .array(connectSchema, { error: 'must be an array of { "url": ... } objects' })
      .optional(),
    nats: z.array(natsSchema, { error: 'must be an array of { "url": ... } objects' }).optional(),
    logLevel: z
      .enum(LOG_LEVEL_NAMES, { error: `must be one of ${LOG_LEVEL_NAMES.join(', ')}` })
      .optional(),
    // The bus validates the store's fields (docs/durability.md); here only its shape.
    store: z
      .strictObject({
        dir: str,
        fsync: z
          .enum(['always', 'batch', 'never'], {
            error: "must be 'always', 'batch' or 'never'"
          })
          .optional(),
        fsyncIntervalMs: int(0).optional(),
        segmentBytes: int(1).optional()
      })
      .optional()
  },
  { error: 'must be a JSON object' }
);

/** A validated config file. */
export type Config = z.output<typeof configSchema>;
/** One entry of `listen`. */
export type ListenEntry = Config['listen'][number];
/** One entry of `connect`. */
export type ConnectEntry = NonNullable<Config['connect']>[number];

/**
 * Reads and validates a config file.
 *
 * @throws {@link ConfigError} naming the file and every bad field (`listen[0].maxConnections ...`)
 */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`cannot read config file ${path}: ${why}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err
    });
  }
  return parseConfig(json, path);
}

/** Validates an already parsed config object; `source` names it in errors. */
export function parseConfig(json: unknown, source: string): Config {
  const result = configSchema.safeParse(json, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map(describeIssue);
  throw new ConfigError(`invalid config file ${source}: ${problems.join('; ')}`, {
    cause: result.error
  });
}

/** `listen[0].auth.tokens` style path of a field. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? fieldPath(issue.path) : 'the top level';
  if (issue.code === 'unrecognized_keys') {
    return `${where} has unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where} is required`;
  return `${where} ${issue.message} (got ${describeValue(issue.input)})`;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'an array' : 'an object';
  return JSON.stringify(value);
}
