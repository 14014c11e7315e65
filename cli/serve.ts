import { Bus, type Link, RingbusError } from '../adapters/node.js';
import { HELP_OPTION, parseCommand, positionals } from './args.js';
import type { Command, Io } from './command.js';
import { type Config, type ConnectEntry, type ListenEntry, loadConfig } from './config.js';
import { ExitCode, UsageError } from './failure.js';
import {
  DEFAULT_LOG_LEVEL,
  LOG_LEVEL_NAMES,
  type LogLevelName,
  isEnabled,
  stderrLogger
} from './logger.js';
import { stopSignal } from './signals.js';
import { serveStats } from './sys-stats.js';

/** Where `serve` listens when neither `--listen` nor the config file says. */
export const DEFAULT_LISTEN_URL = 'tcp://127.0.0.1:4222';

const OPTIONS = {
  ...HELP_OPTION,
  listen: { type: 'string', short: 'l', multiple: true },
  connect: { type: 'string', multiple: true },
  config: { type: 'string', short: 'c' },
  id: { type: 'string' },
  store: { type: 'string' },
  'log-level': { type: 'string' }
} as const;

const HELP = `Usage: ringbus serve [--listen <url>]... [--connect <url>]... [--config <file>]
                     [--store <dir>]

Runs a bus that other buses and the ringbus commands link to. It answers
'${'$'}sys.stats' requests (see 'ringbus stats') and stops cleanly on SIGINT / SIGTERM.

Options:
  -l, --listen <url>     listen on this URL; repeatable (default ${DEFAULT_LISTEN_URL}
                         when neither --listen nor the config file gives one)
                         tcp://host:port, tcp4://, tcp6://[::1]:port, unix:///path.sock,
                         ws://host:port/path
                         port 0 picks a free port (the real one is printed)
      --connect <url>    also link to another bus at this URL; repeatable
  -c, --config <file>    JSON config file (listen / connect options, auth tokens, id,
                         logLevel, store, nats bridges)
      --id <id>          this bus's id (default: the config's, else random)
      --store <dir>      keep named QoS 1 channels in a write-ahead log in <dir>, so
                         they survive a restart or a crash (docs/durability.md)
      --log-level <lvl>  ${LOG_LEVEL_NAMES.join(' | ')} (default ${DEFAULT_LOG_LEVEL});
                         below info, link up/down lines are not printed
  -h, --help             show this help

Output: 'listening on <url>' per listener, then 'link up: ...' / 'link down: ...' lines on
stdout; library warnings on stderr.

Examples:
  ringbus serve --listen tcp://127.0.0.1:4222 --listen unix:///tmp/ringbus.sock
  ringbus serve --config ringbus.json --log-level warn

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot listen or connect (address in use,
peer unreachable), 2 usage or config error.`;

/** `ringbus serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'run a bus listening on TCP / Unix sockets',
  help: HELP,
  async run(argv, io) {
    const { values, positionals: rest } = parseCommand('serve', argv, OPTIONS);
    if (values.help === true) {
      io.out(`${HELP}\n`);
      return ExitCode.OK;
    }
    positionals('serve', rest, []);
    const config: Config =
      values.config === undefined ? { listen: [] } : await loadConfig(values.config);
    const level = logLevelOf(values['log-level'] ?? config.logLevel ?? DEFAULT_LOG_LEVEL);
    const listen: ListenEntry[] = [
      ...config.listen,
      ...(values.listen ?? []).map((url) => ({ url }))
    ];
    const connect: ConnectEntry[] = [
      ...(config.connect ?? []),
      ...(values.connect ?? []).map((url) => ({ url }))
    ];
    if (listen.length === 0 && values.config === undefined)
      listen.push({ url: DEFAULT_LISTEN_URL });
    const nats = config.nats ?? [];
    if (listen.length === 0 && connect.length === 0 && nats.length === 0) {
      throw new UsageError(
        'nothing to do: the config file has no listen, connect or nats entry',
        'serve'
      );
    }
    const id = values.id ?? config.id;
    const store =
      values.store === undefined ? config.store : { ...config.store, dir: values.store };
    const bus = new Bus({
      logger: stderrLogger(level, io),
      ...(id === undefined ? {} : { id }),
      ...(store === undefined ? {} : { store })
    });
    // Before the first listener opens, so a SIGTERM during start-up still closes cleanly.
    const stop = stopSignal();
    try {
      watchLinks(bus, io, isEnabled(level, 'info'));
      serveStats(bus);
      for (const [i, entry] of listen.entries()) {
        const { url, ...options } = entry;
        const listener = await labelled(`listen[${i}] (${url})`, bus.listen(url, options));
        io.out(`listening on ${listener.url}${options.raw === undefined ? '' : ' (raw)'}\n`);
      }
      for (const [i, entry] of connect.entries()) {
        const { url, ...options } = entry;
        await labelled(`connect[${i}] (${url})`, bus.connect(url, options));
      }
      for (const [i, entry] of nats.entries()) {
        const { url, ...options } = entry;
        await labelled(`nats[${i}] (${url})`, bus.connect(url, options));
      }
    } catch (err) {
      stop.dispose();
      await bus.close();
      throw err;
    }
    const signal = await stop.received;
    io.out(`${signal}: shutting down\n`);
    await bus.close();
    return ExitCode.OK;
  }
};

function logLevelOf(value: string): LogLevelName {
  if ((LOG_LEVEL_NAMES as readonly string[]).includes(value)) return value as LogLevelName;
  throw new UsageError(
    `--log-level must be one of ${LOG_LEVEL_NAMES.join(', ')} (got ${JSON.stringify(value)})`,
    'serve'
  );
}

function watchLinks(bus: Bus, io: Io, verbose: boolean): void {
  if (!verbose) return;
  bus.on('link-up', (link) => io.out(`link up: ${describeLink(link)}\n`));
  bus.on('link-down', ({ link, error }) =>
    io.out(`link down: ${describeLink(link)}${error === undefined ? '' : ` (${error.message})`}\n`)
  );
}

function describeLink(link: Link): string {
  const peer = link.peer === undefined ? '' : ` peer ${link.peer}`;
  return `${link.direction} ${link.url}${peer}`;
}

/** Names the config entry in a library error, keeping its code (which decides the exit code). */
async function labelled<T>(where: string, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof RingbusError) {
      // The message starts with the code; the new error adds it again, so strip it once.
      const message = err.message.replace(`${err.code}: `, '');
      throw new RingbusError(err.code, `${where}: ${message}`, { cause: err });
    }
    throw err;
  }
}
