import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { PublishOptions } from '../adapters/node.js';
import {
  CLIENT_OPTIONS,
  HELP_OPTION,
  headersOption,
  parseCommand,
  positionals,
  qosOption,
  timeoutOption
} from './args.js';
import { openClient } from './client.js';
import type { Command } from './command.js';
import { ExitCode, UsageError, withTimeout } from './failure.js';

/** Publishes in flight at once when reading stdin: one link keeps them in order anyway. */
const PUBLISH_WINDOW = 256;

const OPTIONS = {
  ...HELP_OPTION,
  ...CLIENT_OPTIONS,
  qos: { type: 'string', short: 'q' },
  header: { type: 'string', short: 'H', multiple: true },
  json: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  verbose: { type: 'boolean', short: 'v' }
} as const;

const HELP = `Usage: ringbus pub <url> <topic> <message | ->  [options]
       ringbus pub <url> <topic> --file <path>       [options]

Publishes on the bus at <url> (as if published there) and waits until it accepted
every message. '-' reads stdin: one message per non-empty line.

Options:
  -q, --qos <0|1>        1 (default): wait for the remote bus to accept each message;
                         0: fire and forget (still confirmed by one round trip at the end)
  -H, --header <k=v>     add a header; repeatable
      --json             parse each message (the argument, each line, or the file) as JSON
  -f, --file <path>      send the whole file as one message (bytes, a Uint8Array)
      --token <token>    token for a listener with auth
      --timeout <ms>     connect timeout, and the time each publish may take to be
                         accepted (default 5000)
  -v, --verbose          say what was published (stderr)
  -h, --help             show this help

Prints nothing on success. A message starting with '-' goes after '--':
  ringbus pub tcp://127.0.0.1:4222 t -- -5

Examples:
  ringbus pub tcp://127.0.0.1:4222 orders.new 'hello'
  ringbus pub tcp://127.0.0.1:4222 orders.new --json '{"id":1}' -H source=cli
  seq 3 | ringbus pub unix:///tmp/ringbus.sock counter.tick -
  ringbus pub tcp://127.0.0.1:4222 images.raw --file photo.jpg

Exit codes: 0 every message accepted, 1 connect / auth / publish failure or timeout
(stderr: one line starting with the error code), 2 usage error or invalid JSON input.`;

/** `ringbus pub`. */
export const pubCommand: Command = {
  name: 'pub',
  summary: 'publish messages on a remote bus',
  help: HELP,
  async run(argv, io) {
    const { values, positionals: given } = parseCommand('pub', argv, OPTIONS);
    if (values.help === true) {
      io.out(`${HELP}\n`);
      return ExitCode.OK;
    }
    const hasFile = values.file !== undefined;
    const [url, topic, message] = positionals(
      'pub',
      given,
      hasFile ? ['url', 'topic'] : ['url', 'topic', 'message']
    ) as [string, string, string | undefined];
    const timeoutMs = timeoutOption('pub', values.timeout);
    const json = values.json === true;
    const headers = headersOption('pub', values.header);
    const options: PublishOptions = {
      qos: qosOption('pub', values.qos, 1),
      ...(headers === undefined ? {} : { headers })
    };
    // The argument and the file are parsed before connecting: a usage error publishes nothing.
    let source: AsyncIterable<unknown> | Iterable<unknown>;
    if (values.file !== undefined) source = [await fileMessage(values.file, json)];
    else if (message === '-') source = stdinMessages(json);
    else source = [json ? parseJson(message!, 'the message') : message];

    const { bus, link } = await openClient(
      url,
      { token: values.token, timeoutMs, reconnect: false },
      // A bad topic is a usage error, reported before anything touches the network.
      (local) => void local.topic(topic)
    );
    let count = 0;
    try {
      const pending = new Set<Promise<void>>();
      const failures: Error[] = [];
      try {
        for await (const payload of source) {
          count++;
          const tracked: Promise<void> = withTimeout(
            link.publish(topic, payload, options),
            timeoutMs,
            `message ${count} was not accepted`
          ).then(
            () => void pending.delete(tracked),
            (err: unknown) => {
              pending.delete(tracked);
              failures.push(err instanceof Error ? err : new Error(String(err)));
            }
          );
          pending.add(tracked);
          if (pending.size >= PUBLISH_WINDOW) await Promise.race(pending);
          if (failures.length > 0) break;
        }
      } finally {
        // Also on a bad stdin line: the lines before it are confirmed, not cut off by close().
        await Promise.all(pending);
      }
      if (failures.length > 0) throw failures[0]; // the first: later ones may follow from it
      // QoS 0 resolves once queued: one round trip proves the remote bus has them all.
      await withTimeout(link.flush(), timeoutMs, 'the final round trip did not complete');
    } finally {
      await bus.close();
    }
    if (values.verbose === true) {
      io.err(
        `published ${count} message${count === 1 ? '' : 's'} to '${topic}' on ${url} (qos ${options.qos})\n`
      );
    }
    return ExitCode.OK;
  }
};

async function fileMessage(path: string, json: boolean): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UsageError(`cannot read --file ${path}: ${why}`, 'pub');
  }
  if (json) return parseJson(bytes.toString('utf8'), `--file ${path}`);
  // A plain Uint8Array: the payload kind ringbus sends as bytes.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function* stdinMessages(json: boolean): AsyncGenerator<unknown> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    yield json ? parseJson(line, `stdin line ${n}`) : line;
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`, 'pub');
  }
}
