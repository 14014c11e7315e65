#!/usr/bin/env node
/**
 * The `ringbus` command line: serve, pub, sub, stats (docs/cli.md). Exit codes: 0 ok,
 * 1 run-time failure, 2 usage or config error.
 *
 * @packageDocumentation
 */
import { ExitCode } from './failure.js';
import { run } from './run.js';

// `sub ... | head -1`: a closed stdout ends the command, it is not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(ExitCode.OK);
  throw err;
});

const code = await run(process.argv.slice(2));
// Exit explicitly (links may leave timers behind), once stdout has taken what was written.
process.stdout.write('', () => process.exit(code));
