import { readFileSync } from 'node:fs';
import { type Command, type Io, processIo } from './command.js';
import { ExitCode, UsageError, describeError, exitCodeOf } from './failure.js';
import { pubCommand } from './pub.js';
import { serveCommand } from './serve.js';
import { statsCommand } from './stats.js';
import { subCommand } from './sub.js';

const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [serveCommand, pubCommand, subCommand, statsCommand].map((c) => [c.name, c])
);

const HELP = `Usage: ringbus <command> [options]

Commands:
${[...COMMANDS.values()].map((c) => `  ${c.name.padEnd(7)}${c.summary}`).join('\n')}

Run 'ringbus <command> --help' for a command's options.

Options:
  -h, --help      show this help
  -V, --version   print the version

Examples:
  ringbus serve --listen tcp://127.0.0.1:4222 --listen unix:///tmp/ringbus.sock
  ringbus sub tcp://127.0.0.1:4222 'orders.>'
  ringbus pub tcp://127.0.0.1:4222 orders.new 'hello'
  ringbus stats tcp://127.0.0.1:4222

Exit codes: 0 ok, 1 run-time failure (connect refused, ERR_AUTH, timeout),
2 usage or config error.`;

/** Runs one `ringbus` command line; resolves to the exit code. Never throws. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [first, ...rest] = argv;
  let command: Command | undefined;
  try {
    if (first === undefined) throw new UsageError('missing command', undefined);
    if (first === '-h' || first === '--help') {
      io.out(`${HELP}\n`);
      return ExitCode.OK;
    }
    if (first === '-V' || first === '--version') {
      io.out(`${version()}\n`);
      return ExitCode.OK;
    }
    if (first === 'help') return helpFor(rest[0], io);
    command = COMMANDS.get(first);
    if (command === undefined) {
      throw new UsageError(
        first.startsWith('-') ? `unknown option ${first}` : `unknown command '${first}'`,
        undefined
      );
    }
    return await command.run(rest, io);
  } catch (err) {
    const where = command === undefined ? 'ringbus' : `ringbus ${command.name}`;
    io.err(`${where}: ${describeError(err)}\n`);
    if (err instanceof UsageError) {
      const hint = err.command === undefined ? 'ringbus --help' : `ringbus ${err.command} --help`;
      io.err(`Run '${hint}' for usage.\n`);
    }
    return exitCodeOf(err);
  }
}

function helpFor(name: string | undefined, io: Io): number {
  if (name === undefined) {
    io.out(`${HELP}\n`);
    return ExitCode.OK;
  }
  const command = COMMANDS.get(name);
  if (command === undefined) {
    io.err(`ringbus: unknown command '${name}'\nRun 'ringbus --help' for usage.\n`);
    return ExitCode.USAGE;
  }
  io.out(`${command.help}\n`);
  return ExitCode.OK;
}

/** The package version (package.json is two levels up from dist/cli/ and build/cli/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
