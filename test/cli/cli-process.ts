/**
 * Runs the compiled `ringbus` CLI (build/cli/main.js) as a child process, with bounded waits
 * (generous: a loaded CI machine starts node slowly; a passing run never waits for them).
 * Every process started here is killed (by its own handle) when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** build/test/cli/ → build/cli/main.js */
export const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** How a CLI process ended and what it wrote. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** What kills the processes when it ends: a test's context, or `{ after }` in a suite. */
export interface Owner {
  after(fn: () => void): void;
}

/** A running CLI process. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Settles when the process has exited and its output streams are closed. */
  readonly exited: Promise<CliResult>;
  private readonly listeners = new Set<() => void>();

  constructor(args: string[], input?: string | Uint8Array) {
    this.child = spawn(process.execPath, [CLI_PATH, ...args], {
      stdio: ['pipe', 'pipe', 'pipe']
    });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => this.append('stdout', s));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => this.append('stderr', s));
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
        for (const l of this.listeners) l();
      });
    });
    if (input !== undefined) this.child.stdin!.end(input);
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Resolves with the first match of `pattern` in everything the stream carried so far;
   * rejects when the process exits without it or after `timeoutMs`.
   */
  waitFor(
    stream: 'stdout' | 'stderr',
    pattern: RegExp,
    timeoutMs = 10_000
  ): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const match = this[stream].match(pattern);
        if (match !== null) {
          done();
          resolve(match);
        } else if (!this.running) {
          done();
          reject(new Error(`exited without ${pattern} on ${stream}; ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The exit, or a rejection (and SIGKILL) after `timeoutMs`. */
  async result(timeoutMs = 15_000): Promise<CliResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`did not exit within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` to this process only. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  private append(stream: 'stdout' | 'stderr', text: string): void {
    this[stream] += text;
    for (const l of this.listeners) l();
  }

  private describe(): string {
    return `stdout: ${JSON.stringify(this.stdout)}, stderr: ${JSON.stringify(this.stderr)}`;
  }
}

/** Starts `ringbus <args>`; it is killed when the test ends if still running. */
export function startCli(t: Owner, args: string[], input?: string | Uint8Array): CliProcess {
  const proc = new CliProcess(args, input);
  t.after(() => proc.kill());
  return proc;
}

/** Runs `ringbus <args>` to its end (killed after `timeoutMs`). */
export function runCli(
  t: Owner,
  args: string[],
  input?: string | Uint8Array,
  timeoutMs?: number
): Promise<CliResult> {
  return startCli(t, args, input).result(timeoutMs);
}

/**
 * Starts `ringbus serve <args>` and waits for one 'listening on' line per `--listen`;
 * resolves to the process and the real URLs, in order.
 */
export async function startServe(
  t: Owner,
  args: string[]
): Promise<{ serve: CliProcess; urls: string[] }> {
  const serve = startCli(t, ['serve', ...args]);
  const count = args.filter((a) => a === '--listen' || a === '-l').length || 1;
  const lines = new RegExp(`(?:listening on \\S+\\n){${count}}`, 'u');
  const [text] = await serve.waitFor('stdout', lines);
  const urls = [...text.matchAll(/listening on (\S+)/gu)].map((m) => m[1]);
  return { serve, urls };
}
