import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../cli/config.js';
import { pubCommand } from '../../cli/pub.js';
import { run } from '../../cli/run.js';
import { serveCommand } from '../../cli/serve.js';
import { statsCommand } from '../../cli/stats.js';
import { subCommand } from '../../cli/sub.js';

/** Runs a command line in this process, capturing what it writes (no network is reached). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const COMMANDS = ['serve', 'pub', 'sub', 'stats'];

describe('ringbus help and version', () => {
  it('--help lists every command, examples and the exit codes, and exits 0', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: ringbus <command>/u);
    for (const name of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${name} `, 'mu'));
    assert.match(r.stdout, /Examples:/u);
    assert.match(
      r.stdout,
      /Exit codes: 0 ok, 1 run-time failure .*\s2 usage or config error\.\n$/su
    );
    assert.equal(r.stderr, '');
  });

  for (const name of COMMANDS) {
    it(`${name} --help and help ${name} print the command's usage and exit 0`, async () => {
      const [long, short, viaHelp] = await Promise.all([
        cli([name, '--help']),
        cli([name, '-h']),
        cli(['help', name])
      ]);
      for (const r of [long, short, viaHelp]) {
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Usage: ringbus ${name} `, 'u'));
        assert.match(r.stdout, /\nExamples:\n {2}ringbus /u);
        assert.match(r.stdout, /\nExit codes: 0 /u);
      }
      assert.equal(short.stdout, long.stdout);
      assert.equal(viaHelp.stdout, long.stdout);
    });
  }

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
    ) as { version: string };
    const r = await cli(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  });
});

describe(
  'ringbus usage errors exit 2 with a one-line reason and a hint',
  { concurrency: true },
  () => {
    const cases: { args: string[]; stderr: RegExp }[] = [
      { args: [], stderr: /^ringbus: missing command\nRun 'ringbus --help'/u },
      { args: ['publish'], stderr: /^ringbus: unknown command 'publish'\n/u },
      { args: ['--bogus'], stderr: /^ringbus: unknown option --bogus\n/u },
      { args: ['help', 'nope'], stderr: /^ringbus: unknown command 'nope'\n/u },
      {
        args: ['pub', 'tcp://127.0.0.1:1', 'a', 'b', '--bogus'],
        stderr: /^ringbus pub: Unknown option '--bogus'\nRun 'ringbus pub --help' for usage\.\n$/u
      },
      {
        args: ['sub', 'tcp://127.0.0.1:1', 'a', '--nope'],
        stderr: /^ringbus sub: Unknown option '--nope'/u
      },
      {
        args: ['stats', 'tcp://127.0.0.1:1', '-x'],
        stderr: /^ringbus stats: Unknown option '-x'/u
      },
      {
        args: ['serve', '--listen'],
        stderr: /^ringbus serve: Option '-l, --listen <value>' argument missing/u
      },
      { args: ['pub', 'tcp://127.0.0.1:1'], stderr: /^ringbus pub: missing argument <topic>\n/u },
      {
        args: ['pub', 'tcp://127.0.0.1:1', 't'],
        stderr: /^ringbus pub: missing argument <message>\n/u
      },
      {
        args: ['stats', 'tcp://127.0.0.1:1', 'extra'],
        stderr: /^ringbus stats: unexpected argument "extra"\n/u
      },
      {
        args: ['pub', 'tcp://127.0.0.1:1', 't', 'x', '--qos', '2'],
        stderr: /--qos must be an integer in \[0, 1\] \(got "2"\)/u
      },
      {
        args: ['sub', 'tcp://127.0.0.1:1', 't', '--count', '0'],
        stderr: /--count must be an integer in \[1, /u
      },
      {
        args: ['pub', 'tcp://127.0.0.1:1', 't', 'x', '--timeout', '5s'],
        stderr: /--timeout must be an integer/u
      },
      {
        args: ['pub', 'tcp://127.0.0.1:1', 't', 'x', '-H', 'novalue'],
        stderr: /--header must be key=value/u
      },
      {
        args: ['pub', 'tcp://127.0.0.1:1', 't', '{bad', '--json'],
        stderr: /^ringbus pub: the message is not valid JSON: /u
      },
      {
        args: ['pub', 'tcp://127.0.0.1:1', 't..u', 'x'],
        stderr: /^ringbus pub: ERR_INVALID_TOPIC: /u
      },
      {
        args: ['pub', 'ftp://127.0.0.1:1', 't', 'x'],
        stderr: /^ringbus pub: ERR_UNSUPPORTED_SCHEME: /u
      },
      {
        args: ['serve', '--log-level', 'loud'],
        stderr:
          /--log-level must be one of trace, debug, info, warn, error, fatal, silent \(got "loud"\)/u
      }
    ];
    for (const { args, stderr } of cases) {
      it(`ringbus ${args.join(' ')}`, async () => {
        const r = await cli(args);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, stderr);
        assert.equal(r.stdout, '');
      });
    }
  }
);

describe('ringbus serve --config errors exit 2 naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringbus-cli-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const write = (text: string): string => {
    const path = join(dir, `config-${++n}.json`);
    writeFileSync(path, text);
    return path;
  };
  const listen = (extra: object): string =>
    JSON.stringify({ listen: [{ url: 'tcp://127.0.0.1:0', ...extra }] });

  const cases: { name: string; text: string; stderr: RegExp }[] = [
    {
      name: 'a wrong type',
      text: listen({ maxConnections: 'ten' }),
      stderr:
        /invalid config file .*: listen\[0\]\.maxConnections must be an integer \(got "ten"\)/u
    },
    {
      name: 'an unknown field',
      text: listen({ maxConection: 5 }),
      stderr: /listen\[0\] has unknown field\(s\) "maxConection"/u
    },
    {
      name: 'a missing url and a bad logLevel, both reported',
      text: JSON.stringify({ listen: [{}], logLevel: 'loud' }),
      stderr: /listen\[0\]\.url is required; logLevel must be one of .* \(got "loud"\)/u
    },
    {
      name: 'a value past the library limit',
      text: listen({ maxConnections: 999_999_999 }),
      stderr:
        /^ringbus serve: ERR_INVALID_OPTIONS: listen\[0\] \(tcp:\/\/127\.0\.0\.1:0\): maxConnections must be <= /u
    },
    {
      name: 'an invalid auth pattern',
      text: listen({ auth: { tokens: { t: { publish: ['a..b'] } } } }),
      stderr:
        /ERR_INVALID_OPTIONS: listen\[0\] .*publish.* must be a valid pattern \(got "a\.\.b"\)/u
    },
    {
      name: 'a reconnect that is neither false nor an object',
      text: JSON.stringify({
        listen: [],
        connect: [{ url: 'tcp://127.0.0.1:1', reconnect: true }]
      }),
      stderr: /connect\[0\]\.reconnect must be false or \{/u
    },
    {
      name: 'no listen array',
      text: JSON.stringify({ id: 'x' }),
      stderr: /invalid config file .*: listen is required/u
    },
    {
      name: 'invalid JSON',
      text: '{ "listen": [',
      stderr: /^ringbus serve: config file .* is not valid JSON: /u
    }
  ];
  for (const { name, text, stderr } of cases) {
    it(name, async () => {
      const r = await cli(['serve', '--config', write(text)]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, stderr);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, 'one line');
      assert.doesNotMatch(r.stdout, /listening on/u);
    });
  }

  it('a config file that does not exist', async () => {
    const r = await cli(['serve', '-c', join(dir, 'missing.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read config file .*missing\.json: ENOENT/u);
  });
});

describe('docs/cli.md', () => {
  const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

  it('documents every flag that a --help text lists', () => {
    for (const command of [serveCommand, pubCommand, subCommand, statsCommand]) {
      const flags = new Set(command.help.match(/--[a-z][a-z-]*/gu));
      assert.ok(flags.size >= 3, `${command.name} lists its flags`);
      for (const flag of flags) {
        // In a flag table row: `--flag` or `-f, --flag <value>`.
        assert.match(
          doc,
          new RegExp(`\\| \`(-[a-zA-Z], )?${flag}[\` ]`, 'u'),
          `${command.name} ${flag}`
        );
      }
    }
  });

  it('has config examples that pass validation', () => {
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/gu)].map((m) => m[1]);
    assert.ok(examples.length >= 2);
    for (const text of examples) {
      const config = parseConfig(JSON.parse(text), 'docs/cli.md');
      assert.ok(config.listen.length > 0);
    }
  });
});
