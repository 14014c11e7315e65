import { ErrorCode, RingbusError } from '../adapters/node.js';
import { CLIENT_OPTIONS, HELP_OPTION, parseCommand, positionals, timeoutOption } from './args.js';
import { openClient } from './client.js';
import type { Command } from './command.js';
import { ExitCode } from './failure.js';
import { STATS_TOPIC, type StatsRequest } from './sys-stats.js';

const OPTIONS = {
  ...HELP_OPTION,
  ...CLIENT_OPTIONS,
  prom: { type: 'boolean' }
} as const;

const HELP = `Usage: ringbus stats <url> [options]

Asks the bus at <url> for its stats (a '${STATS_TOPIC}' request, which 'ringbus serve'
answers) and prints them as indented JSON: counters, topics, channels, queues,
subscriptions and links (the same object as bus.stats()).

Options:
      --prom             print the Prometheus text format instead (bus.metrics())
      --token <token>    token for a listener with auth (it must allow publishing
                         on '${STATS_TOPIC}')
      --timeout <ms>     connect timeout, and the time the reply may take (default 5000)
  -h, --help             show this help

Examples:
  ringbus stats tcp://127.0.0.1:4222
  ringbus stats unix:///tmp/ringbus.sock --prom

Exit codes: 0 printed, 1 connect / auth failure or no answer (ERR_NO_RESPONDERS: the
bus does not serve '${STATS_TOPIC}'; ERR_TIMEOUT), 2 usage error.`;

/** `ringbus stats`. */
export const statsCommand: Command = {
  name: 'stats',
  summary: "print a remote bus's stats (JSON or Prometheus text)",
  help: HELP,
  async run(argv, io) {
    const { values, positionals: given } = parseCommand('stats', argv, OPTIONS);
    if (values.help === true) {
      io.out(`${HELP}\n`);
      return ExitCode.OK;
    }
    const [url] = positionals('stats', given, ['url']) as [string];
    const timeoutMs = timeoutOption('stats', values.timeout);
    const request: StatsRequest = { format: values.prom === true ? 'prometheus' : 'json' };
    const { bus } = await openClient(url, { token: values.token, timeoutMs, reconnect: false });
    let payload: unknown;
    try {
      payload = (await bus.request(STATS_TOPIC, request, { timeoutMs })).payload;
    } catch (err) {
      throw explain(err, url);
    } finally {
      await bus.close();
    }
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload, null, 2);
    io.out(text.endsWith('\n') ? text : `${text}\n`);
    return ExitCode.OK;
  }
};

/** Says what a missing responder means here: the bus is not `ringbus serve` (or forbids it). */
function explain(err: unknown, url: string): unknown {
  if (err instanceof RingbusError && err.code === ErrorCode.NO_RESPONDERS) {
    return new RingbusError(
      ErrorCode.NO_RESPONDERS,
      `the bus at ${url} does not answer '${STATS_TOPIC}' (run it with 'ringbus serve', or subscribe a responder: bus.subscribe('${STATS_TOPIC}', (m) => m.respond(bus.stats())))`,
      { cause: err }
    );
  }
  return err;
}
