import { ErrorCode, type Message, type RingbusError } from '../adapters/node.js';
import {
  CLIENT_OPTIONS,
  HELP_OPTION,
  intOption,
  parseCommand,
  positionals,
  qosOption,
  timeoutOption
} from './args.js';
import { type Client, openClient } from './client.js';
import type { Command } from './command.js';
import { ExitCode } from './failure.js';
import { jsonLine, textLine } from './message-format.js';
import { stopSignal } from './signals.js';

const OPTIONS = {
  ...HELP_OPTION,
  ...CLIENT_OPTIONS,
  channel: { type: 'string' },
  qos: { type: 'string', short: 'q' },
  count: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' }
} as const;

const HELP = `Usage: ringbus sub <url> <pattern> [options]

Subscribes to <pattern> (wildcards: '*' one token, '>' the rest) on the bus at <url>
and prints each message on stdout, one per line: '<topic> <payload>' (strings as they
are, bytes as UTF-8 text if valid, else base64, anything else as JSON).

Options:
      --channel <name>   join the shared channel <name> (load-balanced with its other
                         consumers, local or remote); default: a private subscription
  -q, --qos <0|1>        1: each message is acked after it is printed, and a message not
                         printed is redelivered (channel) when this process goes;
                         0 (default): at most once
  -n, --count <n>        exit 0 after <n> messages (default: run until Ctrl-C)
      --json             one JSON object per line: {topic, payload, payloadEncoding,
                         headers, id, attempt, publishedAt}; payloadEncoding is 'json'
                         (payload as published), 'utf8' or 'base64' (bytes), 'none'
      --token <token>    token for a listener with auth
      --timeout <ms>     connect timeout (default 5000)
      --quiet            no status lines on stderr ('subscribed ...', link down/up)
  -h, --help             show this help

Once connected it prints "subscribed to '<pattern>' on <url>" on stderr. If the link
drops later it reconnects by itself until stopped.

Examples:
  ringbus sub tcp://127.0.0.1:4222 'orders.>'
  ringbus sub unix:///tmp/ringbus.sock 'jobs.*' --channel workers --qos 1
  ringbus sub tcp://127.0.0.1:4222 'sensor.*' --json --count 10 > readings.jsonl

Exit codes: 0 after --count messages or on SIGINT/SIGTERM, 1 connect / auth failure
or a subscription the listener refused (ERR_FORBIDDEN), 2 usage error.`;

/** A handler result that never settles: a QoS 1 message past --count stays unacked. */
const NEVER = new Promise<never>(() => undefined);

/** `ringbus sub`. */
export const subCommand: Command = {
  name: 'sub',
  summary: 'print the messages of a remote bus that match a pattern',
  help: HELP,
  async run(argv, io) {
    const { values, positionals: given } = parseCommand('sub', argv, OPTIONS);
    if (values.help === true) {
      io.out(`${HELP}\n`);
      return ExitCode.OK;
    }
    const [url, pattern] = positionals('sub', given, ['url', 'pattern']) as [string, string];
    const qos = qosOption('sub', values.qos, 0);
    const count = intOption('sub', 'count', values.count, 0, 1, Number.MAX_SAFE_INTEGER);
    const timeoutMs = timeoutOption('sub', values.timeout);
    const format = values.json === true ? jsonLine : textLine;
    let stopping = false;
    const status = (line: string): void => {
      if (values.quiet !== true && !stopping) io.err(`${line}\n`);
    };

    let received = 0;
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    let refusal: RingbusError | undefined;
    let refused: () => void = () => undefined;
    const refusedPromise = new Promise<void>((resolve) => (refused = resolve));
    const handler = (msg: Message): unknown => {
      if (count > 0 && received >= count) return qos === 1 ? NEVER : undefined;
      received++;
      io.out(`${format(msg)}\n`);
      // After the handler returns, so that this message's ack is sent first.
      if (received === count) setImmediate(finished);
      return undefined;
    };

    const stop = stopSignal();
    const opening = openClient(url, { token: values.token, timeoutMs, reconnect: true }, (bus) => {
      // The listener refusing our subscription (auth) arrives as an 'error' on this bus.
      bus.on('error', (err) => {
        if (err.code !== ErrorCode.FORBIDDEN || refusal !== undefined) return;
        refusal = err;
        refused();
      });
      bus.subscribe(pattern, handler, {
        qos,
        ...(values.channel === undefined ? {} : { channel: values.channel })
      });
    });
    let client: Client | undefined;
    try {
      // Ctrl-C while connecting stops at once, not after the connect timeout.
      client = await Promise.race([opening, stop.received.then(() => undefined)]);
    } catch (err) {
      stop.dispose();
      throw err;
    }
    if (client === undefined) {
      opening.then(
        ({ bus }) => bus.close(),
        () => undefined
      );
      return ExitCode.OK;
    }
    const { bus, link } = client;
    bus.on('link-down', ({ error }) =>
      status(`link down${error === undefined ? '' : ` (${error.message})`}; reconnecting`)
    );
    bus.on('link-up', () => status('link up again'));
    if (refusal === undefined) status(`subscribed to '${pattern}' on ${link.url}`);
    try {
      await Promise.race([done, stop.received, refusedPromise]);
      if (refusal !== undefined) throw refusal;
      // Acks of the printed QoS 1 messages reach the remote bus before the goodbye.
      if (qos === 1 && link.state === 'up') await link.flush().catch(() => undefined);
    } finally {
      stopping = true;
      stop.dispose();
      await bus.close();
    }
    return ExitCode.OK;
  }
};
